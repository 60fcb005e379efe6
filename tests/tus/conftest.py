"""tus tests: real VitalGraph servers on each blob store (local directory; S3 on SeaweedFS)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.api.conftest import file_node_jsonld, make_space
from tests.fixtures.seaweedfs import resumable_objects, seaweedfs  # noqa: F401
from tests.fixtures.servers import RunningServer

MiB = 1024 * 1024
MAX_FILE_SIZE = 512 * MiB
TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = {"Content-Type": "application/offset+octet-stream"}


def server_env(store: str, request: pytest.FixtureRequest, **extra: str) -> dict[str, str]:
    env = {"VITALGRAPH_MAX_STREAMING_FILE_SIZE": str(MAX_FILE_SIZE), **extra}
    if store == "s3":
        seaweed = request.getfixturevalue("seaweedfs")
        env.update(seaweed.server_env(f"tus-{uuid.uuid4().hex[:12]}", S3_PART_SIZE=str(5 * MiB)))
    return env


@pytest.fixture(scope="session", params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def tus_server(request: pytest.FixtureRequest, server_factory) -> RunningServer:
    """One server per store, shared by the tus tests."""
    name = f"tus-{request.param}-{uuid.uuid4().hex[:6]}"
    server = server_factory(server_env(request.param, request), name=name)
    server.store = request.param  # type: ignore[attr-defined]
    return server


def multipart_uploads(server: RunningServer, request: pytest.FixtureRequest) -> list[str]:
    """The S3 multipart uploads left unfinished under the server's prefix (none for the local store)."""
    prefix = server.env.get("VITALGRAPH_S3_PREFIX")
    if not prefix:
        return []
    client = request.getfixturevalue("seaweedfs").boto_client()
    response = client.list_multipart_uploads(Bucket=server.env["VITALGRAPH_S3_BUCKET"], Prefix=f"{prefix}/")
    return [upload["UploadId"] for upload in response.get("Uploads", [])]


def staged_files(server: RunningServer, url: str = "") -> list[str]:
    """What the server keeps for resumable uploads (records, bytes, S3 state and tails), of one upload
    (by its URL) or of all: files on its disk, and on S3 the objects under `<prefix>/.resumable/`."""
    upload_id = url.rsplit("/", 1)[-1]
    local = server.data_dir / "blobs" / ".staging"
    on_disk = [
        str(p) for p in [*local.glob("tus-*"), *(server.data_dir / "tus").glob("*")] if upload_id in p.name
    ]
    return sorted(on_disk + [name for name in resumable_objects(server) if upload_id in name])


def metadata_header(**values: str) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items())


@dataclass
class Target:
    """A fresh space with one empty FileNode, and tus requests against it."""

    server: RunningServer
    client: httpx.Client
    space_id: str
    uri: str

    def metadata(self, **extra: str) -> str:
        return metadata_header(space_id=self.space_id, file_uri=self.uri, **extra)

    def create(
        self, length: int | None, *, headers: dict[str, str] | None = None, **kwargs
    ) -> httpx.Response:
        sizing = {"Upload-Length": str(length)} if length is not None else {"Upload-Defer-Length": "1"}
        return self.client.post(
            "/api/files/tus/",
            headers={
                **TUS,
                **sizing,
                "Upload-Metadata": self.metadata(filename="data.bin"),
                **(headers or {}),
            },
            **kwargs,
        )

    def new_upload(self, length: int | None) -> str:
        response = self.create(length)
        assert response.status_code == 201, response.text
        return response.headers["location"]

    def head(self, url: str) -> httpx.Response:
        return self.client.head(url, headers=TUS)

    def patch(self, url: str, offset: int, data, **headers: str) -> httpx.Response:
        return self.client.patch(
            url, content=data, headers={**TUS, **CHUNK, "Upload-Offset": str(offset), **headers}
        )

    def download(self) -> httpx.Response:
        return self.client.get(
            "/api/files/stream/download", params={"space_id": self.space_id, "uri": self.uri}
        )

    def node(self) -> dict:
        response = self.client.get("/api/files", params={"space_id": self.space_id, "uri": self.uri})
        assert response.status_code == 200, response.text
        return response.json()


def make_target(server: RunningServer, client: httpx.Client) -> Target:
    space_id = make_space(client)
    uri = f"http://example.org/{space_id}/file/{uuid.uuid4().hex}"
    response = client.post("/api/files", params={"space_id": space_id}, json=file_node_jsonld(uri))
    assert response.status_code == 201, response.text
    return Target(server, client, space_id, uri)


@pytest.fixture
def target(tus_server: RunningServer) -> Iterator[Target]:
    with tus_server.client() as client:
        yield make_target(tus_server, client)
