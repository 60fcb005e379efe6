"""`upload_file_resumable` on both clients and through the mocks: resumes, restarts, progress."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.fixtures.servers import ADMIN_PASSWORD, RunningServer
from vitalgraph.client import AsyncVitalGraphClient, NotFoundError, VitalGraphClient
from vitalgraph.mock import AsyncMockVitalGraphClient, MockVitalGraphClient
from vitalgraph.model import FileNode

MiB = 1024 * 1024
DATA = os.urandom(3 * MiB + 77)
SHA256 = hashlib.sha256(DATA).hexdigest()
CHUNK = 1 * MiB


class Stop(Exception):
    """Stands in for the process dying mid-upload."""


def new_node(client: VitalGraphClient) -> tuple[str, str]:
    space_id = f"space-{uuid.uuid4().hex[:12]}"
    client.spaces.create_space(space_id, "tus")
    uri = f"http://example.org/{space_id}/{uuid.uuid4().hex}"
    client.files.create_file(space_id, FileNode(URI=uri, name="n"))
    return space_id, uri


def download(client: VitalGraphClient, space_id: str, uri: str) -> bytes:
    return client.files.download_file_content(space_id, None, uri)


class DropsResponses(httpx.HTTPTransport):
    """Lets chosen PATCH requests reach the server, then loses the reply, as a dropped link would."""

    def __init__(self, drop: set[int], before_sending: set[int] = frozenset()) -> None:
        super().__init__()
        self.drop, self.before_sending, self.patches = drop, before_sending, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            self.patches += 1
            if self.patches in self.before_sending:
                raise httpx.ConnectError("refused, as a dead link would be", request=request)
            if self.patches in self.drop:
                super().handle_request(request).close()
                raise httpx.ReadError("connection dropped before the reply", request=request)
        return super().handle_request(request)


@pytest.fixture
def real_client(local_server: RunningServer) -> Iterator[VitalGraphClient]:
    with VitalGraphClient(
        local_server.url, username="admin", password=ADMIN_PASSWORD, retry_backoff=0
    ) as client:
        yield client


def test_mock_client_uploads_resumably_with_progress():
    seen: list[tuple[int, int | None]] = []
    with MockVitalGraphClient() as client:
        space_id, uri = new_node(client)
        result = client.files.upload_file_resumable(
            space_id,
            None,
            uri,
            DATA,
            chunk_size=CHUNK,
            progress=lambda done, total: seen.append((done, total)),
            filename="x.bin",
            content_type="application/x-test",
        )
        assert (result.size, result.sha256, result.filename, result.content_type) == (
            len(DATA),
            SHA256,
            "x.bin",
            "application/x-test",
        )
        assert download(client, space_id, uri) == DATA
    assert [done for done, _ in seen] == [CHUNK, 2 * CHUNK, 3 * CHUNK, len(DATA)]
    assert {total for _, total in seen} == {len(DATA)}


@pytest.mark.anyio
async def test_async_mock_client_uploads_a_path(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(DATA)
    async with AsyncMockVitalGraphClient() as client:
        space_id = f"space-{uuid.uuid4().hex[:12]}"
        await client.spaces.create_space(space_id, "tus")
        uri = f"http://example.org/{uuid.uuid4().hex}"
        await client.files.create_file(space_id, FileNode(URI=uri, name="n"))
        result = await client.files.upload_file_resumable(space_id, None, uri, path, chunk_size=CHUNK)
        assert (result.sha256, result.filename) == (SHA256, "data.bin")
        assert await client.files.download_file_content(space_id, None, uri) == DATA


def test_resumes_after_dropped_connections(local_server: RunningServer):
    transport = DropsResponses(drop={2}, before_sending={4})
    with VitalGraphClient(
        local_server.url, username="admin", password=ADMIN_PASSWORD, retry_backoff=0, transport=transport
    ) as client:
        space_id, uri = new_node(client)
        result = client.files.upload_file_resumable(space_id, None, uri, DATA, chunk_size=CHUNK)
        assert result.sha256 == SHA256
        assert download(client, space_id, uri) == DATA
    assert transport.patches == 5  # four chunks, one of them refused once; the dropped reply is not resent


def test_resumes_in_a_new_client_from_the_upload_url(local_server: RunningServer, real_client, tmp_path):
    space_id, uri = new_node(real_client)
    urls: list[str] = []

    def die_after_two_chunks(done: int, total: int | None) -> None:
        if done >= 2 * CHUNK:
            raise Stop

    with pytest.raises(Stop):
        real_client.files.upload_file_resumable(
            space_id,
            None,
            uri,
            DATA,
            chunk_size=CHUNK,
            progress=die_after_two_chunks,
            on_upload_url=urls.append,
        )
    with pytest.raises(NotFoundError):
        real_client.files.get_content_info(space_id, None, uri)  # nothing visible yet

    seen: list[int] = []
    with VitalGraphClient(local_server.url, username="admin", password=ADMIN_PASSWORD) as fresh:
        result = fresh.files.upload_file_resumable(
            space_id,
            None,
            uri,
            DATA,
            chunk_size=CHUNK,
            upload_url=urls[0],
            progress=lambda d, t: seen.append(d),
        )
    assert result.sha256 == SHA256
    assert seen[0] == 2 * CHUNK  # it went on from the server's offset
    assert download(real_client, space_id, uri) == DATA


@pytest.mark.anyio
async def test_async_client_resumes_from_a_url_store(local_server: RunningServer, real_client, tmp_path):
    space_id, uri = new_node(real_client)
    path, store = tmp_path / "data.bin", tmp_path / "urls.json"
    path.write_bytes(DATA)

    def die(done: int, total: int | None) -> None:
        if done >= CHUNK:
            raise Stop

    async with AsyncVitalGraphClient(local_server.url, username="admin", password=ADMIN_PASSWORD) as client:
        with pytest.raises(Stop):
            await client.files.upload_file_resumable(
                space_id, None, uri, path, chunk_size=CHUNK, url_store=store, progress=die
            )
        assert len(store.read_text()) > 10
    seen: list[int] = []
    async with AsyncVitalGraphClient(local_server.url, username="admin", password=ADMIN_PASSWORD) as client:
        result = await client.files.upload_file_resumable(
            space_id, None, uri, path, chunk_size=CHUNK, url_store=store, progress=lambda d, t: seen.append(d)
        )
    assert result.sha256 == SHA256
    assert seen[0] == CHUNK
    assert store.read_text().strip() == "{}"  # finished uploads leave the store
    assert download(real_client, space_id, uri) == DATA


def test_a_gone_upload_url_starts_a_new_upload(real_client):
    space_id, uri = new_node(real_client)
    urls: list[str] = []
    with pytest.raises(Stop):
        real_client.files.upload_file_resumable(
            space_id,
            None,
            uri,
            DATA,
            chunk_size=CHUNK,
            on_upload_url=urls.append,
            progress=lambda d, t: (_ for _ in ()).throw(Stop()),
        )
    real_client.http.delete(urls[0], headers={"Tus-Resumable": "1.0.0"}).raise_for_status()
    result = real_client.files.upload_file_resumable(
        space_id, None, uri, DATA, chunk_size=CHUNK, upload_url=urls[0]
    )
    assert result.sha256 == SHA256


def test_a_missing_file_node_is_not_found(real_client, tmp_path):
    space_id, _ = new_node(real_client)
    store = tmp_path / "urls.json"
    with pytest.raises(NotFoundError):
        real_client.files.upload_file_resumable(
            space_id, None, "http://example.org/none", DATA, url_store=store
        )
    assert not store.exists()


def test_a_source_that_cannot_be_reread_is_refused(real_client):
    with pytest.raises(TypeError, match="seekable"):
        real_client.files.upload_file_resumable("s", None, "u", iter([b"abc"]))
