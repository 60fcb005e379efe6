"""Bad upload bodies through a real server on both blob stores: truncated and malformed multipart, a
Content-Length that lies, broken chunking, uploads over MAX_STREAMING_FILE_SIZE, and malformed tus
headers (issue 6, item 2; the table is in docs/bad-input.md).

Every case checks the status, that {"detail"} names the problem, and that nothing was stored or lost:
the previous content still downloads byte-identical, no new blob, no staging file or pending S3
multipart upload, the metadata unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time

import pytest

from tests.api.bad_input_support import Snapshot, assert_error, multipart_body, raw_request
from tests.api.conftest import (
    FILE_NODE,
    LIMITED_MAX_FILE_SIZE,
    LIMITED_TRANSFER_IDLE_TIMEOUT,
    S3_SERVER_PART_SIZE,
    FileSlot,
)
from vitalgraph.services.tus import MAX_METADATA_BYTES

OLD = os.urandom(4000)
NEW = os.urandom(3000)
UPLOAD = "/api/files/stream/upload"
TUS = {"Tus-Resumable": "1.0.0"}
CHUNK_TYPE = {"Content-Type": "application/offset+octet-stream"}


@pytest.fixture
def filled(slot: FileSlot) -> FileSlot:
    assert slot.upload(OLD, filename="old.bin").status_code == 200
    return slot


@pytest.fixture
def before(server, filled) -> Snapshot:
    return Snapshot.take(server, filled)


def _post_multipart(
    slot: FileSlot, body: bytes, content_type: str = "multipart/form-data; boundary=XyZ", path: str = UPLOAD
):
    return slot.client.post(path, params=slot.params, content=body, headers={"Content-Type": content_type})


# --- multipart ----------------------------------------------------------------------------------
MALFORMED_MULTIPART = [
    ("cut mid-file", multipart_body(NEW, closed=False)[:2000], None, "truncated"),
    ("no closing boundary", multipart_body(NEW, closed=False), None, "truncated"),
    ("closing boundary cut", multipart_body(NEW)[:-4], None, "truncated"),
    ("headers cut", b'--XyZ\r\nContent-Disposition: form-data; name="file"', None, "truncated"),
    ("no file field", multipart_body(b"v", disposition='form-data; name="note"'), None, "no 'file' field"),
    ("empty body", b"", None, "truncated"),
    ("other boundary in body", multipart_body(NEW, boundary="Other"), None, "multipart"),
    ("no boundary parameter", multipart_body(NEW), "multipart/form-data", "no boundary"),
    ("empty boundary", multipart_body(NEW), "multipart/form-data; boundary=", "no boundary"),
    (
        "garbage after the boundary line",
        b"--XyZ\x00\x01garbage\r\n" + multipart_body(NEW)[7:],
        None,
        "multipart",
    ),
    (
        "CRLF in filename*",
        multipart_body(
            NEW, disposition="form-data; name=\"file\"; filename*=UTF-8''a%0D%0ASet-Cookie%3A%20x%3D1"
        ),
        None,
        "filename",
    ),
]


@pytest.mark.parametrize(
    "body, content_type, fragment",
    [case[1:] for case in MALFORMED_MULTIPART],
    ids=[case[0] for case in MALFORMED_MULTIPART],
)
def test_malformed_multipart_is_400_and_keeps_the_old_content(
    server, filled, before, body, content_type, fragment
):
    for path in (UPLOAD, "/api/files/upload"):
        response = _post_multipart(filled, body, content_type or "multipart/form-data; boundary=XyZ", path)
        assert_error(response, 400, fragment)
    before.assert_unchanged(server, filled)


def test_legacy_upload_refuses_a_body_that_is_not_multipart(server, filled, before):
    response = _post_multipart(filled, NEW, "application/octet-stream", "/api/files/upload")
    assert_error(response, 400, "expected Content-Type multipart/form-data")
    before.assert_unchanged(server, filled)


def test_truncated_multipart_over_several_s3_parts_leaves_no_pending_upload(server, filled, before):
    big = os.urandom(S3_SERVER_PART_SIZE + 1024 * 1024)  # the S3 store has begun a multipart upload
    assert_error(_post_multipart(filled, multipart_body(big, closed=False)), 400, "truncated")
    before.assert_unchanged(server, filled)


# --- a Content-Length that lies ---------------------------------------------------------------
def _raw_upload(server, slot: FileSlot, headers: dict[str, str], body: bytes, **kwargs):
    return raw_request(
        server,
        "POST",
        UPLOAD,
        slot.params,
        {"Content-Type": "application/octet-stream", **headers},
        body,
        **kwargs,
    )


def test_content_length_shorter_than_the_body_stores_exactly_the_declared_bytes(server, filled, before):
    # HTTP framing: the body is the first Content-Length bytes; the rest is not part of the upload.
    response = _raw_upload(server, filled, {"Content-Length": "1000"}, NEW)
    assert response.status == 200, response
    assert b'"size":1000' in response.body
    download = filled.download()
    assert download.content == NEW[:1000]
    assert download.headers["etag"] == f'"{hashlib.sha256(NEW[:1000]).hexdigest()}"'
    assert len(Snapshot.take(server, filled).objects) == len(before.objects)  # replaced, not added


def test_content_length_longer_than_the_body_stores_nothing(server, filled, before):
    # The client sends less than it promised, then closes its side: the server must not wait forever,
    # nor keep a short file.
    response = _raw_upload(server, filled, {"Content-Length": str(len(NEW) * 10)}, NEW, half_close=True)
    assert response.status is None, response  # the server hung up: the upload is over, with nothing kept
    before.assert_unchanged(server, filled)


def test_a_client_that_stops_sending_but_stays_connected_is_cut_off_with_nothing_kept(
    limited_server, limited_filled
):
    """It promised 30 000 bytes, sent 3000 and went quiet with the connection open: after the idle
    timeout the server answers 408, closes, and keeps no staging file, blob or pending multipart upload."""
    before = Snapshot.take(limited_server, limited_filled)
    started = time.monotonic()
    response = _raw_upload(
        limited_server, limited_filled, {"Content-Length": str(len(NEW) * 10)}, NEW, timeout=30
    )
    waited = time.monotonic() - started
    assert response.status == 408, response
    assert "sent no body bytes for 3 s" in json.loads(response.body)["detail"]
    assert LIMITED_TRANSFER_IDLE_TIMEOUT <= waited < LIMITED_TRANSFER_IDLE_TIMEOUT + 10
    before.assert_unchanged(limited_server, limited_filled)


def test_non_numeric_content_length_is_refused_by_the_http_layer(server, filled, before):
    response = _raw_upload(server, filled, {"Content-Length": "12abc"}, NEW)
    assert response.status == 400  # uvicorn's own plain-text 400: the request never reaches the app
    before.assert_unchanged(server, filled)


def test_chunked_upload_is_stored_whole(filled):
    def chunks():
        for offset in range(0, len(NEW), 700):
            yield NEW[offset : offset + 700]

    response = filled.client.post(UPLOAD, params=filled.params, content=chunks())
    assert response.status_code == 200 and response.json()["size"] == len(NEW)
    assert filled.download().content == NEW


def test_broken_chunking_stores_nothing(server, filled, before):
    chunked = {"Transfer-Encoding": "chunked"}
    bad_size = _raw_upload(server, filled, chunked, b"zz\r\n" + NEW[:10] + b"\r\n0\r\n\r\n")
    assert bad_size.status == 400, bad_size
    no_last_chunk = _raw_upload(
        server, filled, chunked, b"%x\r\n" % len(NEW) + NEW + b"\r\n", half_close=True
    )
    assert no_last_chunk.status is None, no_last_chunk
    before.assert_unchanged(server, filled)


# --- over MAX_STREAMING_FILE_SIZE ---------------------------------------------------------------
@pytest.fixture
def limited_filled(limited_slot: FileSlot) -> FileSlot:
    assert limited_slot.upload(OLD).status_code == 200
    return limited_slot


def test_declared_oversize_is_413_before_any_byte_is_read(limited_server, limited_filled):
    before = Snapshot.take(limited_server, limited_filled)
    over = str(LIMITED_MAX_FILE_SIZE + 1)
    for path, content_type in [
        (UPLOAD, "application/octet-stream"),
        ("/api/files/upload", "multipart/form-data; boundary=XyZ"),
    ]:
        # No body is sent at all: an answer proves the server decided on the header alone.
        response = raw_request(
            limited_server,
            "POST",
            path,
            limited_filled.params,
            {"Content-Type": content_type, "Content-Length": over},
            timeout=5,
        )
        assert response.status == 413, response
        assert b"MAX_STREAMING_FILE_SIZE" in response.body
    before.assert_unchanged(limited_server, limited_filled)


def test_undeclared_oversize_is_413_mid_stream_and_keeps_the_old_content(limited_server, limited_filled):
    before = Snapshot.take(limited_server, limited_filled)

    def raw():
        for _ in range(20):
            yield b"y" * 65536

    def multipart():
        yield multipart_body(b"", closed=False)[:-2]
        yield from raw()

    for path, content_type, body in [
        (UPLOAD, "application/octet-stream", raw),
        ("/api/files/upload", "multipart/form-data; boundary=XyZ", multipart),
    ]:
        response = limited_filled.client.post(
            path, params=limited_filled.params, content=body(), headers={"Content-Type": content_type}
        )
        assert_error(response, 413, str(LIMITED_MAX_FILE_SIZE))
    before.assert_unchanged(limited_server, limited_filled)


# --- tus ----------------------------------------------------------------------------------------
def _b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def _metadata(slot: FileSlot, **extra: str) -> str:
    values = {"space_id": slot.space_id, "file_uri": slot.uri, **extra}
    return ",".join(f"{key} {_b64(value)}" for key, value in values.items())


def _tus_create(slot: FileSlot, headers: dict[str, str | bytes], body: bytes = b""):
    return slot.client.post("/api/files/tus/", headers={**TUS, **headers}, content=body)


def test_tus_creation_with_bad_headers_is_400_and_stages_nothing(server, filled, before):
    good = {"Upload-Length": "5", "Upload-Metadata": _metadata(filled)}
    cases = [
        ({"Upload-Metadata": "space_id !!!notbase64"}, "Upload-Metadata value for 'space_id'"),
        ({"Upload-Metadata": "space_id " + _b64(b"\xff\xfe")}, "not base64 of UTF-8"),
        ({"Upload-Metadata": "a b c d"}, "Upload-Metadata value for 'a'"),
        ({"Upload-Metadata": ",,,"}, "'space_id' and 'file_uri'"),
        ({"Upload-Metadata": "x" * (MAX_METADATA_BYTES + 1)}, "longer than"),
        ({"Upload-Metadata": _metadata(filled, filename="a\r\nb")}, "filename"),
        ({"Upload-Metadata": _metadata(filled, filetype="not a type")}, "content type"),
        ({"Upload-Metadata": f"space_id {_b64('../x')},file_uri {_b64(filled.uri)}"}, "invalid space_id"),
        ({"Upload-Length": "-1"}, "invalid Upload-Length"),
        ({"Upload-Length": "abc"}, "invalid Upload-Length"),
        ({"Upload-Length": b"\xb2"}, "invalid Upload-Length"),  # Latin-1 "²": str.isdigit() says yes
        ({"Upload-Length": "\u0663".encode()}, "invalid Upload-Length"),
        ({"Upload-Length": "9" * 5000}, "at most 19 digits"),
        ({"Upload-Length": "5", "Upload-Defer-Length": "1"}, "either Upload-Length or Upload-Defer-Length"),
        ({"Upload-Checksum": "md4 AAAA", **CHUNK_TYPE}, "unsupported checksum algorithm 'md4'"),
        ({"Upload-Checksum": "sha1 !!!", **CHUNK_TYPE}, "Upload-Checksum must be"),
        ({"Upload-Checksum": "sha1", **CHUNK_TYPE}, "digest must be 20 bytes"),
        ({"Upload-Checksum": "sha256 " + _b64(b"short"), **CHUNK_TYPE}, "digest must be 32 bytes"),
    ]
    for overrides, fragment in cases:
        headers = {**good, **overrides}
        if "Upload-Defer-Length" not in overrides and "Upload-Length" not in overrides:
            headers["Upload-Length"] = "5"
        body = b"12345" if "Upload-Checksum" in overrides else b""
        response = _tus_create(filled, headers, body)
        assert_error(response, 400, fragment)
        assert response.headers["tus-resumable"] == "1.0.0"
    assert_error(_tus_create(filled, {**good, "Upload-Metadata": _metadata(filled) + "x"}), 400, "file_uri")
    before.assert_unchanged(server, filled)


def test_tus_unknown_target_is_404_and_stages_nothing(server, filled, before):
    ghost = f"space_id {_b64(filled.space_id)},file_uri {_b64(filled.uri + '-ghost')}"
    assert_error(_tus_create(filled, {"Upload-Length": "5", "Upload-Metadata": ghost}), 404, "not found")
    no_space = f"space_id {_b64('no-such-space')},file_uri {_b64(filled.uri)}"
    assert_error(
        _tus_create(filled, {"Upload-Length": "5", "Upload-Metadata": no_space}), 404, "no-such-space"
    )
    before.assert_unchanged(server, filled)


def test_tus_patch_with_bad_headers_is_400_and_moves_nothing(server, filled):
    created = _tus_create(filled, {"Upload-Length": str(len(NEW)), "Upload-Metadata": _metadata(filled)})
    assert created.status_code == 201, created.text
    url = created.headers["location"]
    assert (
        filled.client.patch(
            url, content=NEW[:100], headers={**TUS, **CHUNK_TYPE, "Upload-Offset": "0"}
        ).status_code
        == 204
    )
    before = Snapshot.take(server, filled)
    cases = [
        ({"Upload-Offset": "-1"}, "invalid Upload-Offset"),
        ({"Upload-Offset": "abc"}, "invalid Upload-Offset"),
        ({"Upload-Offset": ""}, "invalid Upload-Offset"),
        ({"Upload-Offset": b"\xb9"}, "invalid Upload-Offset"),  # Latin-1 "¹"
        ({"Upload-Offset": "9" * 5000}, "at most 19 digits"),
        ({"Upload-Offset": "100", "Upload-Length": "x"}, "invalid Upload-Length"),
        ({"Upload-Offset": "100", "Upload-Checksum": "crc32 AAAAAA=="}, "unsupported checksum algorithm"),
        ({"Upload-Offset": "100", "Upload-Checksum": "sha1 ###"}, "Upload-Checksum must be"),
        ({"Upload-Offset": "100", "Upload-Checksum": "sha1 " + _b64(b"x" * 19)}, "digest must be 20 bytes"),
    ]
    for headers, fragment in cases:
        response = filled.client.patch(url, content=NEW[100:], headers={**TUS, **CHUNK_TYPE, **headers})
        assert_error(response, 400, fragment)
    missing = filled.client.patch(url, content=NEW[100:], headers={**TUS, **CHUNK_TYPE})
    assert_error(missing, 400, "missing Upload-Offset")
    head = filled.client.head(url, headers=TUS)
    assert head.headers["upload-offset"] == "100"  # no byte of a refused PATCH was kept
    before.assert_unchanged(server, filled)
    # The upload is still good: finishing it replaces the content.
    done = filled.client.patch(url, content=NEW[100:], headers={**TUS, **CHUNK_TYPE, "Upload-Offset": "100"})
    assert done.status_code == 204, done.text
    assert filled.download().content == NEW


def test_tus_declared_oversize_is_413_and_stages_nothing(limited_server, limited_filled):
    before = Snapshot.take(limited_server, limited_filled)
    response = _tus_create(
        limited_filled,
        {"Upload-Length": str(LIMITED_MAX_FILE_SIZE + 1), "Upload-Metadata": _metadata(limited_filled)},
    )
    assert_error(response, 413, "MAX_STREAMING_FILE_SIZE")
    before.assert_unchanged(limited_server, limited_filled)


def test_a_client_that_stops_reading_a_download_is_cut_off_and_may_resume(server_factory):
    """It asks for 64 MiB and reads nothing after the first bytes, keeping the connection open: after
    the idle timeout the server closes the connection and its download (an open file) ends; a ranged
    request then gets the rest."""
    import re
    import socket
    from urllib.parse import urlsplit

    server = server_factory({"VITALGRAPH_TRANSFER_IDLE_TIMEOUT_SECONDS": "2"}, name="stall-timeout")
    client = server.client()
    space = client.post("/api/spaces", json={"space_id": "stall", "space_name": "stall"}).json()["space_id"]
    uri = "http://example.org/stall/f"
    client.post("/api/files", params={"space_id": space}, json=[{"@id": uri, "@type": FILE_NODE}])
    content = os.urandom(64 * 1024 * 1024)
    assert client.put(UPLOAD, params={"space_id": space, "uri": uri}, content=content).status_code == 200

    def downloads_in_flight() -> float:
        text = client.get("/metrics").text
        return float(
            re.search(r'vitalgraph_transfers_in_flight\{direction="download"\} (\S+)', text).group(1)
        )

    url = urlsplit(server.url)
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.connect((url.hostname, url.port))
        sock.sendall(
            f"GET /api/files/stream/download?space_id={space}&uri={uri} HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {server.token()}\r\n\r\n".encode()
        )
        received = len(sock.recv(65536))
        assert downloads_in_flight() == 1
        deadline = time.monotonic() + 20
        while downloads_in_flight() != 0:
            assert time.monotonic() < deadline, "the stalled download was never cut off"
            time.sleep(0.2)
        sock.settimeout(10)
        while chunk := sock.recv(1024 * 1024):  # what was buffered, then EOF: the server closed
            received += len(chunk)
    assert received < len(content)
    rest = client.get(
        "/api/files/stream/download",
        params={"space_id": space, "uri": uri},
        headers={"Range": f"bytes={len(content) // 2}-"},
    )
    assert rest.status_code == 206 and rest.content == content[len(content) // 2 :]
    client.close()
