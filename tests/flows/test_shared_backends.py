"""Two VitalGraph servers side by side on one S3 bucket (SeaweedFS) and one SPARQL server (oxigraph):
whatever one writes, the other reads, and a deletion through one is seen by both."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator

import pytest

from tests.fixtures.oxigraph import OxigraphServer
from tests.fixtures.seaweedfs import SeaweedFS
from tests.fixtures.servers import ADMIN_PASSWORD, RunningServer
from vitalgraph.client import NotFoundError, VitalGraphClient
from vitalgraph.model import FileNode, KGEntity

pytestmark = [pytest.mark.s3, pytest.mark.sparql, pytest.mark.replicas]

MiB = 1024 * 1024
SIZE = 12 * MiB + 321  # more than one 8 MiB S3 part


def server_env(seaweed: SeaweedFS, oxigraph: OxigraphServer, prefix: str) -> dict[str, str]:
    blobs = {
        f"VITALGRAPH_{name}": str(value).lower() if isinstance(value, bool) else str(value)
        for name, value in seaweed.settings(prefix=prefix).items()
    }
    return {
        **blobs,
        "VITALGRAPH_GRAPH_BACKEND": "sparql",
        "VITALGRAPH_SPARQL_QUERY_URL": oxigraph.query_url,
        "VITALGRAPH_SPARQL_UPDATE_URL": oxigraph.update_url,
    }


@pytest.fixture(scope="module")
def bucket_prefix() -> str:
    return f"two-servers-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def two_servers(
    server_factory, seaweedfs, oxigraph_server, bucket_prefix
) -> tuple[RunningServer, RunningServer]:
    env = server_env(seaweedfs, oxigraph_server, bucket_prefix)
    return server_factory(env, name="shared-a"), server_factory(env, name="shared-b")


@pytest.fixture
def clients(two_servers) -> Iterator[tuple[VitalGraphClient, VitalGraphClient]]:
    a, b = (VitalGraphClient(s.url, username="admin", password=ADMIN_PASSWORD) for s in two_servers)
    with a, b:
        yield a, b


def objects_under(seaweed: SeaweedFS, prefix: str) -> list[str]:
    pages = (
        seaweed.boto_client().get_paginator("list_objects_v2").paginate(Bucket=seaweed.bucket, Prefix=prefix)
    )
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def test_upload_through_one_server_download_and_delete_through_the_other(clients, seaweedfs, bucket_prefix):
    a, b = clients
    space = f"shared-{uuid.uuid4().hex[:10]}"
    file_uri = f"http://example.org/{space}/contract"
    a.spaces.create_space(space, "one space, two servers")
    a.files.create_file(space, [FileNode(file_uri, name="contract.pdf")])

    data = os.urandom(SIZE)
    uploaded = a.files.upload_file_stream(
        space,
        None,
        file_uri,
        (data[i : i + MiB] for i in range(0, SIZE, MiB)),
        filename="contract.pdf",
        content_type="application/pdf",
    )
    assert uploaded.sha256 == hashlib.sha256(data).hexdigest() and uploaded.size == SIZE
    stored = objects_under(seaweedfs, f"{bucket_prefix}/spaces/")  # beside the store format marker
    assert len(stored) == 1, stored

    assert b.spaces.get_space(space).space_name == "one space, two servers"
    digest = hashlib.sha256()
    for chunk in b.files.iter_file(space, None, file_uri):
        digest.update(chunk)
    assert digest.hexdigest() == uploaded.sha256
    node = b.files.get_file(space, file_uri)
    assert (node.name, node.fileLength, node.sha256) == ("contract.pdf", SIZE, uploaded.sha256)
    assert [n.URI for n in b.files.list_files(space).files] == [file_uri]
    assert b.files.get_content_info(space, None, file_uri).sha256 == uploaded.sha256

    assert b.files.delete_file(space, file_uri).deleted_uris == [file_uri]
    with pytest.raises(NotFoundError):
        a.files.get_file(space, file_uri)
    with pytest.raises(NotFoundError):
        a.files.download_file_content(space, None, file_uri)
    assert a.files.list_files(space).total_count == 0
    assert objects_under(seaweedfs, f"{bucket_prefix}/spaces/") == []
    a.spaces.delete_space(space)
    with pytest.raises(NotFoundError):
        b.spaces.get_space(space)


def test_attachments_written_through_one_server_are_seen_and_removed_through_the_other(clients):
    a, b = clients
    space = f"shared-{uuid.uuid4().hex[:10]}"
    a.spaces.create_space(space)
    try:
        org, file_uri = KGEntity(f"urn:{space}:org", name="Acme"), f"urn:{space}:file"
        a.kgentities.create_kgentities(space, None, [org])
        a.files.create_file(space, [FileNode(file_uri, name="logo.png")])
        a.files.upload_file_stream(space, None, file_uri, b"logo bytes")
        a.kgentities.attach_file(space, None, org.URI, file_uri)

        graph = b.kgentities.get_kgentity(space, None, org.URI, include_attachments=True)
        assert [f.URI for f in graph.files] == [file_uri]
        assert b.sparql.query(space, f"ASK {{ ?slot ?p <{file_uri}> }}").boolean is True
        assert b.kgentities.delete_kgentity(
            space, None, org.URI, delete_attachments=True
        ).deleted_file_uris == [file_uri]
        with pytest.raises(NotFoundError):
            a.kgentities.get_kgentity(space, None, org.URI)
        with pytest.raises(NotFoundError):
            a.files.download_file_content(space, None, file_uri)
    finally:
        a.spaces.delete_space(space)
