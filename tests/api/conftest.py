"""API tests run against real servers (uvicorn subprocesses) on free ports.

`server` is parametrized over the two blob stores, so every test that uses it (or `api`, `space`,
`slot`) runs once on a local-store server and once on an S3-store server (the session's SeaweedFS).
`blob_probe(server)` looks into either store, to check what a request left behind.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.fixtures.seaweedfs import SeaweedFS
from tests.fixtures.servers import RunningServer

FILE_NODE = "http://vital.ai/ontology/vital#FileNode"
HAS_NAME = "http://vital.ai/ontology/vital-core#hasName"


MiB = 1024 * 1024
S3_SERVER_PART_SIZE = 5 * MiB  # S3's minimum: the tests' uploads of a few MiB become multipart uploads


@pytest.fixture(scope="session")
def s3_server(server_factory, seaweedfs: SeaweedFS) -> RunningServer:
    """One server whose blobs live in the session's SeaweedFS, shared by the API tests."""
    env = seaweedfs.server_env(
        "api-tests", MAX_STREAMING_FILE_SIZE=str(512 * MiB), S3_PART_SIZE=str(S3_SERVER_PART_SIZE)
    )
    return server_factory(env, name="s3")


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def server(request: pytest.FixtureRequest, local_server: RunningServer) -> RunningServer:
    return local_server if request.param == "local" else request.getfixturevalue("s3_server")


class BlobProbe:
    """What a server's blob store holds: finished objects and unfinished writes (local or S3)."""

    def __init__(self, server: RunningServer) -> None:
        self.env = server.env
        self.root = server.data_dir / "blobs"
        self.is_s3 = self.env.get("VITALGRAPH_BLOB_BACKEND") == "s3"
        self.bucket = self.env.get("VITALGRAPH_S3_BUCKET", "")
        self.prefix = self.env.get("VITALGRAPH_S3_PREFIX", "").strip("/") + "/"

    def objects(self) -> list[str]:
        """Every finished blob, as a sorted list of keys (S3) or file paths (local)."""
        if not self.is_s3:
            return sorted(
                str(p.relative_to(self.root)) for p in (self.root / "spaces").rglob("*") if p.is_file()
            )
        pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def unfinished(self) -> list[str]:
        """Writes begun and not finished: staging files (local) or pending multipart uploads (S3)."""
        if not self.is_s3:
            return sorted(p.name for p in (self.root / ".staging").iterdir())
        response = self._client.list_multipart_uploads(Bucket=self.bucket, Prefix=self.prefix)
        return sorted(upload["UploadId"] for upload in response.get("Uploads", []))

    @functools.cached_property
    def _client(self):  # type: ignore[no-untyped-def]
        import botocore.session
        from botocore.config import Config

        return botocore.session.get_session().create_client(
            "s3",
            endpoint_url=self.env["VITALGRAPH_S3_ENDPOINT_URL"],
            region_name=self.env["VITALGRAPH_S3_REGION"],
            aws_access_key_id=self.env["VITALGRAPH_S3_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["VITALGRAPH_S3_SECRET_ACCESS_KEY"],
            config=Config(
                signature_version="s3v4", s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}
            ),
        )


def blob_probe(server: RunningServer) -> BlobProbe:
    return BlobProbe(server)


@pytest.fixture
def api(server: RunningServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@dataclass
class FileSlot:
    """A fresh space with one empty FileNode in it."""

    space_id: str
    uri: str
    client: httpx.Client

    @property
    def params(self) -> dict[str, str]:
        return {"space_id": self.space_id, "uri": self.uri}

    def upload(
        self, data: bytes, content_type: str = "application/octet-stream", **params: str
    ) -> httpx.Response:
        return self.client.post(
            "/api/files/stream/upload",
            params={**self.params, **params},
            content=data,
            headers={"Content-Type": content_type},
        )

    def download(self, headers: dict[str, str] | None = None, method: str = "GET") -> httpx.Response:
        return self.client.request(
            method, "/api/files/stream/download", params=self.params, headers=headers or {}
        )


def file_node_jsonld(uri: str, name: str = "report.pdf") -> dict:
    return {"@id": uri, "@type": FILE_NODE, HAS_NAME: [{"@value": name}]}


def make_space(client: httpx.Client) -> str:
    space_id = f"space-{uuid.uuid4().hex[:12]}"
    response = client.post("/api/spaces", json={"space_id": space_id, "space_name": "test"})
    assert response.status_code == 201, response.text
    return space_id


@pytest.fixture
def space(api: httpx.Client) -> Iterator[str]:
    space_id = make_space(api)
    yield space_id
    api.delete(f"/api/spaces/{space_id}")


@pytest.fixture
def slot(api: httpx.Client, space: str) -> FileSlot:
    uri = f"http://example.org/{space}/file/{uuid.uuid4().hex}"
    response = api.post("/api/files", params={"space_id": space}, json=file_node_jsonld(uri))
    assert response.status_code == 201, response.text
    return FileSlot(space, uri, api)


def wait_until(condition: Callable[[], object], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


LIMITED_MAX_FILE_SIZE = 1024 * 1024
LIMITED_TRANSFER_IDLE_TIMEOUT = 3


@pytest.fixture(scope="session", params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def limited_server(request: pytest.FixtureRequest, server_factory) -> RunningServer:
    """A server per store whose MAX_STREAMING_FILE_SIZE is 1 MiB and whose body idle timeout is 3 s,
    for the size-limit and stalled-client tests."""
    env = {
        "VITALGRAPH_MAX_STREAMING_FILE_SIZE": str(LIMITED_MAX_FILE_SIZE),
        "VITALGRAPH_TRANSFER_IDLE_TIMEOUT_SECONDS": str(LIMITED_TRANSFER_IDLE_TIMEOUT),
    }
    if request.param == "s3":
        env.update(request.getfixturevalue("seaweedfs").server_env("api-limited"))
    return server_factory(env, name=f"limited-{request.param}")


@pytest.fixture
def limited_slot(limited_server: RunningServer) -> Iterator[FileSlot]:
    client = limited_server.client()
    space = make_space(client)
    uri = f"http://example.org/{space}/f"
    assert (
        client.post("/api/files", params={"space_id": space}, json=file_node_jsonld(uri)).status_code == 201
    )
    yield FileSlot(space, uri, client)
    client.close()
