"""The Python clients' direct-to-S3 uploads against real servers: on SeaweedFS (parts straight to the
bucket, progress, resume after a crash) and on the local store (falls back to streaming)."""

from __future__ import annotations

import hashlib
import os
import uuid

import anyio
import pytest

from tests.fixtures.servers import ADMIN_PASSWORD, RunningServer
from vitalgraph.client import AsyncVitalGraphClient, NotFoundError, VitalGraphClient
from vitalgraph.client._direct import DIRECT_PATH
from vitalgraph.client.endpoints.files import UPLOAD_PATH
from vitalgraph.model import FileNode

MiB = 1024 * 1024
PART = 5 * MiB
DATA = os.urandom(2 * PART + 4321)  # three parts
SHA256 = hashlib.sha256(DATA).hexdigest()


class Stop(Exception):
    """Stands in for the process dying mid-upload."""


@pytest.fixture(scope="module")
def s3_server(server_factory, seaweedfs) -> RunningServer:
    return server_factory(seaweedfs.server_env(f"direct-{uuid.uuid4().hex[:8]}"), name="direct-s3")


def client_for(server: RunningServer, **options: object) -> VitalGraphClient:
    return VitalGraphClient(server.url, username="admin", password=ADMIN_PASSWORD, retry_backoff=0, **options)


def new_node(client: VitalGraphClient) -> tuple[str, str]:
    space_id = f"space-{uuid.uuid4().hex[:12]}"
    client.spaces.create_space(space_id, "direct")
    uri = f"http://example.org/{space_id}/{uuid.uuid4().hex}"
    client.files.create_file(space_id, FileNode(URI=uri, name="n"))
    return space_id, uri


@pytest.mark.s3
def test_sync_client_sends_the_parts_straight_to_s3(s3_server, tmp_path):
    source = tmp_path / "big.bin"
    source.write_bytes(DATA)
    seen: list[tuple[int, int | None]] = []
    ids: list[str] = []
    with client_for(s3_server) as client:
        space_id, uri = new_node(client)
        result = client.files.upload_file_direct(
            space_id,
            None,
            uri,
            source,
            part_size=PART,
            progress=lambda done, total: seen.append((done, total)),
            on_upload_id=ids.append,
            filename="big.bin",
        )
        assert (result.size, result.sha256, result.filename) == (len(DATA), SHA256, "big.bin")
        assert client.files.download_file_content(space_id, None, uri) == DATA
    assert seen[-1] == (len(DATA), len(DATA)) and len(seen) == 3
    assert len(ids) == 1 and len(ids[0]) == 32


@pytest.mark.s3
def test_resume_after_a_crash_skips_the_parts_s3_holds(s3_server):
    ids: list[str] = []

    def die_after_first_part(done: int, total: int | None) -> None:
        raise Stop

    with client_for(s3_server) as client:
        space_id, uri = new_node(client)
        with pytest.raises(Stop):
            client.files.upload_file_direct(
                space_id,
                None,
                uri,
                DATA,
                part_size=PART,
                progress=die_after_first_part,
                on_upload_id=ids.append,
            )
        seen: list[int] = []
        result = client.files.upload_file_direct(
            space_id, None, uri, DATA, part_size=PART, upload_id=ids[0], progress=lambda d, t: seen.append(d)
        )
        assert (result.size, result.sha256) == (len(DATA), SHA256)
        assert seen[0] in {PART, len(DATA) - 2 * PART}  # a part S3 holds counts as sent, not sent again
        with pytest.raises(NotFoundError, match="no direct upload"):  # completed: gone
            client.files.upload_file_direct(space_id, None, uri, DATA, part_size=PART, upload_id=ids[0])


@pytest.mark.s3
def test_async_client_sends_the_parts_straight_to_s3(s3_server):
    async def run() -> None:
        async with AsyncVitalGraphClient(
            s3_server.url, username="admin", password=ADMIN_PASSWORD, retry_backoff=0
        ) as client:
            space_id = f"space-{uuid.uuid4().hex[:12]}"
            await client.spaces.create_space(space_id, "direct")
            uri = f"http://example.org/{space_id}/a"
            await client.files.create_file(space_id, FileNode(URI=uri, name="n"))
            result = await client.files.upload_file_direct(space_id, None, uri, DATA, part_size=PART)
            assert (result.size, result.sha256) == (len(DATA), SHA256)
            assert await client.files.download_file_content(space_id, None, uri) == DATA

    anyio.run(run)


@pytest.mark.s3
def test_config_flag_makes_upload_file_stream_go_direct(s3_server):
    def upload_paths(client: VitalGraphClient) -> list[str]:
        """The API paths the client asks for while it uploads one small file with upload_file_stream."""
        paths: list[str] = []
        space_id, uri = new_node(client)
        client.http.event_hooks["request"].append(lambda request: paths.append(request.url.path))
        assert client.files.upload_file_stream(space_id, None, uri, b"small file").sha256 == (
            hashlib.sha256(b"small file").hexdigest()
        )
        return paths

    with client_for(s3_server, direct_upload=True) as client:
        paths = upload_paths(client)
    assert any(path.startswith(DIRECT_PATH) for path in paths), paths
    assert UPLOAD_PATH not in paths
    with client_for(s3_server) as client:  # off by default
        paths = upload_paths(client)
    assert UPLOAD_PATH in paths
    assert not any(path.startswith(DIRECT_PATH) for path in paths), paths


def test_local_store_falls_back_to_streaming(local_server):
    with client_for(local_server) as client:
        space_id, uri = new_node(client)
        result = client.files.upload_file_direct(space_id, None, uri, DATA[: 3 * MiB], part_size=PART)
        assert result.sha256 == hashlib.sha256(DATA[: 3 * MiB]).hexdigest()
        assert client.files.download_file_content(space_id, None, uri) == DATA[: 3 * MiB]
        with pytest.raises(NotFoundError, match="direct-to-S3 uploads need the S3 blob store"):
            client.files.upload_file_direct(space_id, None, uri, b"x", fallback=False)
