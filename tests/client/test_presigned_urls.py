"""`client.files.get_presigned_url`: every client kind, on the local store (a link the server signs
itself) and on S3 (a presigned S3 URL)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import httpx
import pytest

from tests.client.conftest import make_file, make_space
from tests.client.harness import Facade
from tests.fixtures.seaweedfs import SeaweedFS
from tests.fixtures.servers import RunningServer
from vitalgraph.client.errors import InvalidRequestError
from vitalgraph.client.models import PresignedUrl

DATA = os.urandom(300_000)


def test_local_store_gives_a_server_signed_link(client: Facade, space: str) -> None:
    uri = make_file(client, space)
    client.files.upload_file_stream(space, None, uri, DATA)
    presigned = client.files.get_presigned_url(space, uri, expires=60)
    assert isinstance(presigned, PresignedUrl)
    assert "/api/files/signed?token=" in presigned.url
    assert (presigned.size, presigned.sha256) == (len(DATA), hashlib.sha256(DATA).hexdigest())
    assert presigned.expires_in == 60


def test_bad_expires_is_an_invalid_request(client: Facade, space: str) -> None:
    uri = make_file(client, space)
    with pytest.raises(InvalidRequestError, match="'expires'"):
        client.files.get_presigned_url(space, uri, expires=0)


@pytest.fixture(
    scope="session"
)  # session: `kind` is session-scoped, a module server would start once per kind
def s3_backed_server(server_factory, seaweedfs: SeaweedFS) -> RunningServer:
    return server_factory(seaweedfs.server_env("client-presigned"), name="client-s3")


@pytest.fixture
def s3_client(new_client, s3_backed_server: RunningServer, seaweedfs: SeaweedFS) -> Iterator[Facade]:
    """A client of each kind on the S3 store: real ones on an S3 server, mocks with S3 settings."""
    yield new_client(
        s3_backed_server, server_settings=seaweedfs.settings(prefix="client-presigned-mock")
    ).open()


@pytest.mark.s3
def test_presigned_url_fetches_the_exact_bytes(s3_client: Facade) -> None:
    space = make_space(s3_client)
    uri = make_file(s3_client, space, name="data.bin")
    s3_client.files.upload_file_stream(space, None, uri, DATA, content_type="application/x-test")
    presigned = s3_client.files.get_presigned_url(space, uri, expires=300)
    assert isinstance(presigned, PresignedUrl)
    assert (presigned.uri, presigned.expires_in, presigned.size) == (uri, 300, len(DATA))
    assert presigned.sha256 == hashlib.sha256(DATA).hexdigest()
    direct = httpx.get(presigned.url, timeout=30)
    assert direct.status_code == 200 and direct.content == DATA
    assert direct.headers["content-type"] == "application/x-test"
    s3_client.spaces.delete_space(space)
