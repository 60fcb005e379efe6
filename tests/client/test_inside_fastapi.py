"""The async client inside a FastAPI app: a caller's upload streams request -> app -> VitalGraph, and
a VitalGraph download streams VitalGraph -> app -> caller, with the app's memory flat."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from contextlib import asynccontextmanager

import httpx
import psutil
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

from tests.api.test_streaming import PeakRss  # samples anything with .rss()
from tests.client.conftest import CREDENTIALS
from tests.client.harness import ThisProcess
from tests.fixtures.servers import RunningServer, free_port
from vitalgraph.client import AsyncVitalGraphClient
from vitalgraph.client.binary import AsyncStreamGenerator
from vitalgraph.model import FileNode

MiB = 1024 * 1024
SIZE = 100 * MiB
BLOCK = os.urandom(MiB)


def build_app(server_url: str, space: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with AsyncVitalGraphClient(server_url, **CREDENTIALS) as vitalgraph:
            app.state.vitalgraph = vitalgraph
            yield

    app = FastAPI(lifespan=lifespan)

    @app.put("/documents")
    async def upload(uri: str, request: Request) -> dict:
        length = request.headers.get("content-length")
        source = AsyncStreamGenerator(request.stream(), content_length=int(length) if length else None)
        result = await request.app.state.vitalgraph.files.upload_file_stream(space, None, uri, source)
        return result.model_dump()

    @app.get("/documents")
    async def download(uri: str, request: Request) -> StreamingResponse:
        vitalgraph = request.app.state.vitalgraph
        info = await vitalgraph.files.get_content_info(space, None, uri)
        return StreamingResponse(
            vitalgraph.files.iter_file(space, None, uri),
            media_type=info.content_type,
            headers={"Content-Length": str(info.size)},
        )

    return app


@pytest.fixture(scope="module")
def space_and_uri(local_server: RunningServer) -> Iterator[tuple[str, str]]:
    with local_server.client() as api:
        space = f"fastapi-{os.getpid()}"
        assert api.post("/api/spaces", json={"space_id": space}).status_code == 201
        uri = f"http://example.org/{space}/doc"
        assert (
            api.post("/api/files", params={"space_id": space}, json=FileNode(uri).to_jsonld()).status_code
            == 201
        )
        yield space, uri
        api.delete(f"/api/spaces/{space}")


@pytest.fixture(scope="module")
def app_url(local_server: RunningServer, space_and_uri) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(
        build_app(local_server.url, space_and_uri[0]),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        http="httptools",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the app did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def blocks() -> Iterator[bytes]:
    for _ in range(SIZE // MiB):
        yield BLOCK


def test_100_mib_through_the_app_both_ways_with_flat_memory(app_url, space_and_uri):
    uri = space_and_uri[1]
    expected = hashlib.sha256()
    for block in blocks():
        expected.update(block)
    with httpx.Client(base_url=app_url, timeout=120) as caller:
        assert caller.put("/documents", params={"uri": uri}, content=b"warm-up").status_code == 200
        assert caller.get("/documents", params={"uri": uri}).content == b"warm-up"
        baseline = psutil.Process().memory_info().rss

        with PeakRss(ThisProcess()) as upload_peak:
            response = caller.put(
                "/documents", params={"uri": uri}, content=blocks(), headers={"Content-Length": str(SIZE)}
            )
        assert response.status_code == 200, response.text
        assert (response.json()["size"], response.json()["sha256"]) == (SIZE, expected.hexdigest())

        received = hashlib.sha256()
        with PeakRss(ThisProcess()) as download_peak:
            with caller.stream("GET", "/documents", params={"uri": uri}) as stream:
                assert stream.headers["content-length"] == str(SIZE)
                for chunk in stream.iter_raw():
                    received.update(chunk)
    assert received.hexdigest() == expected.hexdigest()
    for name, peak in (("upload", upload_peak.peak), ("download", download_peak.peak)):
        assert peak - baseline < 64 * MiB, f"{name} grew this process by {(peak - baseline) / MiB:.0f} MiB"
