"""Streaming upload and download through a real server: ranges, limits, disconnects, memory."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from urllib.parse import urlencode, urlsplit

import pytest

from tests.api.conftest import (
    S3_SERVER_PART_SIZE,
    FileSlot,
    blob_probe,
    file_node_jsonld,
    make_space,
    wait_until,
)
from tests.fixtures.memory import PeakRss

DATA = os.urandom(3 * 1024 * 1024 + 123)


@pytest.fixture
def filled(slot: FileSlot) -> FileSlot:
    response = slot.upload(DATA, content_type="application/pdf", filename="report.pdf")
    assert response.status_code == 200, response.text
    return slot


def test_raw_upload_reports_what_the_server_measured(slot):
    response = slot.upload(DATA, content_type="application/pdf", filename="report.pdf")
    assert response.status_code == 200
    assert response.json() == {
        "uri": slot.uri,
        "size": len(DATA),
        "sha256": hashlib.sha256(DATA).hexdigest(),
        "content_type": "application/pdf",
        "filename": "report.pdf",
        "version": 2,  # created at 1, this upload made it 2
    }


def test_multipart_upload_streams_the_file_field(slot):
    response = slot.client.post(
        "/api/files/stream/upload",
        params=slot.params,
        files={"file": ("päper.bin", DATA, "image/png")},
        data={"note": "x"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["sha256"] == hashlib.sha256(DATA).hexdigest()
    assert response.json()["filename"] == "päper.bin"
    assert response.json()["content_type"] == "image/png"
    assert slot.download().content == DATA


def test_legacy_routes_do_the_same(slot):
    up = slot.client.post(
        "/api/files/upload",
        params={"space_id": slot.space_id, "file_uri": slot.uri},
        files={"file": ("a.txt", b"legacy bytes", "text/plain")},
    )
    assert up.status_code == 200, up.text
    down = slot.client.get("/api/files/download", params={"space_id": slot.space_id, "uri": slot.uri})
    assert down.content == b"legacy bytes"
    assert down.headers["content-type"].startswith("text/plain")


def test_download_headers(filled):
    response = filled.download()
    assert response.status_code == 200
    assert response.content == DATA
    assert response.headers["content-length"] == str(len(DATA))
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"] == f'"{hashlib.sha256(DATA).hexdigest()}"'
    assert "report.pdf" in response.headers["content-disposition"]


def test_head_sends_headers_only(filled):
    response = filled.download(method="HEAD")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(len(DATA))
    assert response.headers["etag"] == filled.download().headers["etag"]


@pytest.mark.parametrize(
    "spec, start, end",
    [
        ("bytes=0-0", 0, 0),
        ("bytes=100-199", 100, 199),
        ("bytes=1000-", 1000, len(DATA) - 1),
        ("bytes=-500", len(DATA) - 500, len(DATA) - 1),
        ("bytes=10-99999999999", 10, len(DATA) - 1),
    ],
)
def test_single_ranges(filled, spec, start, end):
    response = filled.download({"Range": spec})
    assert response.status_code == 206
    assert response.content == DATA[start : end + 1]
    assert response.headers["content-range"] == f"bytes {start}-{end}/{len(DATA)}"
    assert response.headers["content-length"] == str(end - start + 1)


def test_unsatisfiable_range_is_416(filled):
    response = filled.download({"Range": f"bytes={len(DATA)}-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(DATA)}"
    assert response.json()["detail"]


def test_if_range(filled):
    etag = filled.download(method="HEAD").headers["etag"]
    fresh = filled.download({"Range": "bytes=0-9", "If-Range": etag})
    assert fresh.status_code == 206 and fresh.content == DATA[:10]
    stale = filled.download({"Range": "bytes=0-9", "If-Range": '"not-the-etag"'})
    assert stale.status_code == 200 and stale.content == DATA


def test_if_none_match(filled):
    etag = filled.download(method="HEAD").headers["etag"]
    assert filled.download({"If-None-Match": etag}).status_code == 304
    assert filled.download({"If-None-Match": '"other"'}).status_code == 200


def test_multiple_ranges(filled):
    response = filled.download({"Range": "bytes=0-9, 2000-2099"})
    assert response.status_code == 206
    content_type = response.headers["content-type"]
    assert content_type.startswith("multipart/byteranges; boundary=")
    assert int(response.headers["content-length"]) == len(response.content)
    boundary = content_type.split("boundary=")[1].encode()
    parts = [p for p in response.content.split(b"--" + boundary) if p.strip(b"-\r\n")]
    bodies = [p.split(b"\r\n\r\n", 1)[1].removesuffix(b"\r\n") for p in parts]
    assert bodies == [DATA[0:10], DATA[2000:2100]]


def test_second_upload_replaces_content(filled):
    assert filled.upload(b"new content").status_code == 200
    response = filled.download()
    assert response.content == b"new content"
    assert response.headers["etag"] == f'"{hashlib.sha256(b"new content").hexdigest()}"'


def test_upload_to_unknown_node_or_space_is_404(api, space):
    response = api.post(
        "/api/files/stream/upload", params={"space_id": space, "uri": "http://x/none"}, content=b"x"
    )
    assert response.status_code == 404
    assert "http://x/none" in response.json()["detail"]
    response = api.post(
        "/api/files/stream/upload", params={"space_id": "nope", "uri": "http://x/none"}, content=b"x"
    )
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


def test_download_before_upload_is_404(slot):
    response = slot.download()
    assert response.status_code == 404
    assert "no content" in response.json()["detail"]


def test_bad_content_type_is_400(slot):
    response = slot.upload(b"x", content_type="not a type")
    assert response.status_code == 400
    assert "content type" in response.json()["detail"]


def test_malformed_multipart_is_400_and_stores_nothing(slot):
    response = slot.client.post(
        "/api/files/stream/upload",
        params=slot.params,
        content=b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc',
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 400
    assert "multipart" in response.json()["detail"]
    assert slot.download().status_code == 404


# --- limits and disconnects ---------------------------------------------------------------------
def test_declared_oversize_is_413_before_reading(limited_slot, limited_server):
    response = limited_slot.upload(b"x" * (1024 * 1024 + 1))
    assert response.status_code == 413
    assert "MAX_STREAMING_FILE_SIZE" in response.json()["detail"]
    assert limited_slot.download().status_code == 404


def test_oversize_discovered_mid_stream_is_413_and_stores_nothing(limited_slot, limited_server):
    probe = blob_probe(limited_server)
    before = probe.objects()

    def body():  # no Content-Length: the server only learns the size as bytes arrive
        for _ in range(40):
            yield b"y" * 65536

    response = limited_slot.client.post(
        "/api/files/stream/upload", params=limited_slot.params, content=body()
    )
    assert response.status_code == 413
    assert "1048576" in response.json()["detail"]
    assert probe.objects() == before
    assert probe.unfinished() == []
    assert limited_slot.download().status_code == 404
    assert limited_slot.upload(b"z" * 1000).status_code == 200  # within the limit still works


def test_short_body_is_rejected_and_stores_nothing(slot, server):
    # Content-Length promises more than is sent, then the client goes away.
    probe = blob_probe(server)
    before = probe.objects()
    _send_partial_upload(server, slot, declared=10 * 1024 * 1024, sent=3 * 1024 * 1024)
    wait_until(lambda: not probe.unfinished())
    assert probe.objects() == before
    assert slot.download().status_code == 404
    node = slot.client.get("/api/files", params={"space_id": slot.space_id, "uri": slot.uri}).json()
    assert "http://vital.ai/ontology/vital#hasFileLength" not in node


def test_disconnect_mid_upload_keeps_the_previous_content(filled, server):
    probe = blob_probe(server)
    before = probe.objects()
    # Over two S3 parts: the S3 store has begun a multipart upload, which must be aborted.
    _send_partial_upload(server, filled, declared=50 * 1024 * 1024, sent=3 * S3_SERVER_PART_SIZE)
    wait_until(lambda: not probe.unfinished())
    assert probe.objects() == before
    assert filled.download().content == DATA


def _send_partial_upload(server, slot: FileSlot, *, declared: int, sent: int) -> None:
    url = urlsplit(server.url)
    query = urlencode(slot.params)
    head = (
        f"POST /api/files/stream/upload?{query} HTTP/1.1\r\nHost: {url.netloc}\r\n"
        f"Authorization: Bearer {server.token()}\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    ).encode()
    with socket.create_connection((url.hostname, url.port)) as sock:
        sock.sendall(head)
        chunk = b"\0" * 65536
        for _ in range(sent // len(chunk)):
            sock.sendall(chunk)
        time.sleep(0.3)  # let the server start writing before the connection drops


def test_streaming_disabled_hides_stream_routes_only(server_factory):
    server = server_factory({"VITALGRAPH_STREAMING_ENABLED": "false"}, name="no-streaming")
    with server.client() as api:
        space = make_space(api)
        uri = "http://example.org/f"
        api.post("/api/files", params={"space_id": space}, json=file_node_jsonld(uri))
        stream = api.post("/api/files/stream/upload", params={"space_id": space, "uri": uri}, content=b"x")
        assert stream.status_code == 404
        assert "STREAMING_ENABLED" in stream.json()["detail"]
        legacy = api.post(
            "/api/files/upload", params={"space_id": space, "uri": uri}, files={"file": ("a", b"legacy")}
        )
        assert legacy.status_code == 200
        assert api.get("/api/files/download", params={"space_id": space, "uri": uri}).content == b"legacy"
        assert (
            api.get("/api/files/stream/download", params={"space_id": space, "uri": uri}).status_code == 404
        )


# --- a large file, memory bounded ---------------------------------------------------------------
def test_150_mib_round_trip_with_flat_server_memory(slot, server):
    size, piece = 150 * 1024 * 1024, os.urandom(1024 * 1024)
    expected = hashlib.sha256()
    for _ in range(size // len(piece)):
        expected.update(piece)

    def body():
        for _ in range(size // len(piece)):
            yield piece

    slot.upload(b"warm-up")
    slot.download()
    idle = server.rss()
    with PeakRss(server) as upload_peak:
        response = slot.client.post("/api/files/stream/upload", params=slot.params, content=body())
    assert response.status_code == 200, response.text
    assert response.json()["size"] == size
    assert response.json()["sha256"] == expected.hexdigest()

    received = hashlib.sha256()
    with PeakRss(server) as download_peak:
        with slot.client.stream("GET", "/api/files/stream/download", params=slot.params) as stream:
            for chunk in stream.iter_bytes():
                received.update(chunk)
    assert received.hexdigest() == expected.hexdigest()
    limit = _rss_growth_limit(server)
    assert upload_peak.peak - idle < limit, f"upload grew RSS by {(upload_peak.peak - idle) >> 20} MiB"
    assert download_peak.peak - idle < limit, f"download grew RSS by {(download_peak.peak - idle) >> 20} MiB"


def _rss_growth_limit(server) -> int:
    """Local: one block in flight plus read-ahead. S3: part size x (parts in flight + 2), plus a margin."""
    margin = 32 * 1024 * 1024
    if blob_probe(server).is_s3:
        part_size = int(server.env["VITALGRAPH_S3_PART_SIZE"])
        concurrency = int(server.env.get("VITALGRAPH_S3_MAX_CONCURRENCY", "4"))
        return part_size * (concurrency + 2) + margin
    return 64 * 1024 * 1024
