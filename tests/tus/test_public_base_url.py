"""PUBLIC_BASE_URL: absolute URLs the server hands out start with it, never with a Host the request
chose (issue 12, finding 9: the tus Location echoed the request's Host)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.fixtures.servers import ADMIN_PASSWORD, RunningServer, free_port, start_server
from tests.tus.conftest import TUS, make_target
from vitalgraph.client import VitalGraphClient
from vitalgraph.model import FileNode

EVIL = {"Host": "evil.example"}


@pytest.fixture(scope="module")
def public_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """Listens on 127.0.0.1, and is told its public URL is http://localhost:<port>/."""
    port = free_port()
    data_dir = tmp_path_factory.mktemp("public") / "data"
    data_dir.mkdir()
    server = start_server(data_dir, {"VITALGRAPH_PUBLIC_BASE_URL": f"http://localhost:{port}/"}, port=port)
    yield server
    server.stop()


def test_the_tus_location_is_built_from_the_public_base_url(public_server: RunningServer) -> None:
    port = public_server.url.rsplit(":", 1)[1]
    with public_server.client() as client:
        target = make_target(public_server, client)
        for headers in ({}, EVIL, {"Host": f"127.0.0.1:{port}", "X-Forwarded-Host": "evil.example"}):
            response = target.create(10, headers=headers)
            assert response.status_code == 201, response.text
            location = response.headers["location"]
            assert location.startswith(f"http://localhost:{port}/api/files/tus/"), location


def test_a_client_uploads_through_the_public_location(public_server: RunningServer) -> None:
    with VitalGraphClient(public_server.url, username="admin", password=ADMIN_PASSWORD) as client:
        space_id = f"public-{uuid.uuid4().hex[:8]}"
        client.spaces.create_space(space_id, "public")
        uri = f"http://example.org/{space_id}/f"
        client.files.create_file(space_id, FileNode(URI=uri, name="n"))
        data = b"through localhost" * 1000
        result = client.files.upload_file_resumable(space_id, None, uri, data, chunk_size=4096)
        assert result.size == len(data)
        assert client.files.download_file_content(space_id, None, uri) == data


def test_slash_redirects_use_the_public_base_url(public_server: RunningServer) -> None:
    port = public_server.url.rsplit(":", 1)[1]
    with public_server.client() as client:
        response = client.get("/api/spaces/", headers=EVIL)
    assert response.status_code == 307
    assert response.headers["location"] == f"http://localhost:{port}/api/spaces"


def test_without_the_setting_the_location_follows_the_request(local_server: RunningServer) -> None:
    with local_server.client() as client:
        target = make_target(local_server, client)
        location = target.create(10).headers["location"]
        assert location.startswith(f"{local_server.url}/api/files/tus/")
        assert client.head(location, headers=TUS).status_code == 200
