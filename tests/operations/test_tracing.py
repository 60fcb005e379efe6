"""OpenTelemetry: each request gets a span with the services' store calls beneath it, and an upload's
span says how long receiving, hashing, storing and committing took. Collected with the SDK's in-memory
exporter; one test sends spans over OTLP/HTTP to a loopback listener from a real server."""

from __future__ import annotations

import http.server
import os
import threading
import uuid

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.fixtures.seaweedfs import seaweedfs  # noqa: F401  (the session fixture)
from vitalgraph import tracing
from vitalgraph.mock import MockVitalGraphClient
from vitalgraph.model import FileNode

URI = "http://example.org/traced"


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.configure(provider)
    try:
        yield exporter
    finally:
        tracing.configure(None)
        provider.shutdown()


@pytest.mark.parametrize("store", ["local", "s3"])
def test_an_upload_trace_shows_receive_hash_store_and_commit(spans, store, request):
    data = os.urandom(12 * 1024 * 1024 + 3)  # on S3: three parts of 5 MiB (a multipart upload)
    server_settings = {}
    if store == "s3":
        seaweed = request.getfixturevalue("seaweedfs")
        server_settings = seaweed.settings(
            prefix=f"traced-{uuid.uuid4().hex[:8]}", S3_PART_SIZE=5 * 1024 * 1024
        )
    with MockVitalGraphClient(server_settings=server_settings) as client:
        client.spaces.create_space("traced")
        client.files.create_file("traced", [FileNode(URI, name="t.bin")])
        spans.clear()
        client.files.upload_file_stream("traced", None, URI, data)

    finished = spans.get_finished_spans()
    upload = next(span for span in finished if span.name == "files.upload")
    for stage in ("hash", "store", "commit"):
        assert upload.attributes[f"vitalgraph.{stage}_seconds"] > 0, stage
    assert upload.attributes["vitalgraph.receive_seconds"] >= 0
    assert upload.attributes["vitalgraph.size"] == len(data)
    assert upload.attributes["vitalgraph.uri"] == URI

    by_id = {span.context.span_id: span for span in finished}
    request = by_id[upload.parent.span_id]
    assert request.kind.name == "SERVER"
    assert request.attributes["http.target"].startswith("/api/files/stream/upload")
    beneath = {
        span.name for span in finished if span.parent and span.parent.span_id == upload.context.span_id
    }
    assert "blobs.write" in beneath
    store_calls = [
        s.name
        for s in finished
        if s.name.startswith("graph.") and s.context.trace_id == upload.context.trace_id
    ]
    assert "graph.update" in store_calls, store_calls  # the commit
    assert "receive" not in " ".join(span.name for span in finished)  # no span per body chunk


def test_downloads_and_metadata_calls_are_traced_too(spans):
    with MockVitalGraphClient() as client:
        client.spaces.create_space("traced2")
        client.files.create_file("traced2", [FileNode(URI, name="t.bin")])
        client.files.upload_file_stream("traced2", None, URI, b"hello")
        spans.clear()
        assert client.files.download_file_content("traced2", None, URI) == b"hello"
    names = [span.name for span in spans.get_finished_spans()]
    assert "blobs.open_pinned" in names  # a download reads one pinned version of the blob
    assert any(name.startswith("GET") for name in names), names


def test_tracing_off_adds_no_middleware_and_leaves_the_stores_unwrapped(spans):
    """With tracing off nothing is wrapped, so it costs nothing; turned on, the same code is traced."""
    import anyio
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    from vitalgraph.mock import InProcessServer

    async def started_app():
        server = InProcessServer()
        app = await server.started_app()
        services = app.state.services
        layers = [m.cls for m in app.user_middleware]
        wrapped = "select" in vars(services.graph)  # instrument() sets an instance attribute
        await server.stop()
        return layers, wrapped

    tracing.configure(None)
    layers, wrapped = anyio.run(started_app)
    assert OpenTelemetryMiddleware not in layers and not wrapped
    tracing.configure(spans_provider := TracerProvider())
    layers, wrapped = anyio.run(started_app)
    assert OpenTelemetryMiddleware in layers and wrapped
    spans_provider.shutdown()


class _Collector(http.server.BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 (the handler's protocol)
        length = int(self.headers.get("Content-Length", "0"))
        type(self).bodies.append((self.path, self.headers.get("Content-Type"), self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_server_exports_spans_over_otlp_when_configured(server_factory):
    collector = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{collector.server_address[1]}/v1/traces"
    try:
        server = server_factory({"VITALGRAPH_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"})
        with server.client() as api:
            assert api.get("/api/spaces").status_code == 200
        server.stop()  # a clean stop flushes what is left
    finally:
        collector.shutdown()
    assert _Collector.bodies, "no spans reached the collector"
    path, content_type, body = _Collector.bodies[-1]
    assert path == "/v1/traces" and content_type == "application/x-protobuf"
    assert b"vitalgraph" in b"".join(b for _, _, b in _Collector.bodies)  # the service name
