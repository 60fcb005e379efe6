"""API tests run against real servers (uvicorn subprocesses) on free ports."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.fixtures.servers import RunningServer

FILE_NODE = "http://vital.ai/ontology/vital#FileNode"
HAS_NAME = "http://vital.ai/ontology/vital-core#hasName"


@pytest.fixture
def server(local_server: RunningServer) -> RunningServer:
    return local_server


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

    def upload(self, data: bytes, content_type: str = "application/octet-stream", **params: str) -> httpx.Response:
        return self.client.post(
            "/api/files/stream/upload", params={**self.params, **params}, content=data,
            headers={"Content-Type": content_type},
        )

    def download(self, headers: dict[str, str] | None = None, method: str = "GET") -> httpx.Response:
        return self.client.request(method, "/api/files/stream/download", params=self.params, headers=headers or {})


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
