"""build_download_response through a real Starlette app (httpx ASGITransport) and at the raw ASGI level."""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import unquote

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vitalgraph.api.download import BodyLengthMismatchError, build_download_response
from vitalgraph.api.ranges import make_etag

SOURCE = random.Random(20240601).randbytes(3 * 1024 * 1024 + 12345)
SIZE = len(SOURCE)
ETAG = make_etag(hashlib.sha256(SOURCE).hexdigest())
MODIFIED = datetime(2024, 6, 1, 12, 30, 45, tzinfo=UTC)
MODIFIED_HTTP = "Sat, 01 Jun 2024 12:30:45 GMT"
CHUNK = 64 * 1024


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeBlobStore:
    """Serves `data` in pieces of `piece_size` and records what was read and whether it was closed."""

    def __init__(self, data: bytes, piece_size: int = CHUNK) -> None:
        self.data = data
        self.piece_size = piece_size
        self.calls: list[tuple[int, int]] = []
        self.pieces_yielded = 0
        self.open_streams = 0
        self.closed_streams = 0
        self.short_by = 0  # simulate a truncated blob
        self.long_by = 0  # simulate a blob longer than its metadata says

    async def read_range(self, start: int, end: int) -> AsyncIterator[bytes]:
        self.calls.append((start, end))
        self.open_streams += 1
        try:
            stop = end + 1 - self.short_by + self.long_by
            for offset in range(start, stop, self.piece_size):
                self.pieces_yielded += 1
                piece = self.data[offset : min(offset + self.piece_size, stop)]
                if self.long_by and offset + self.piece_size >= stop:
                    piece += b"x" * self.long_by
                yield piece  # no await: like a store whose data is already buffered
        finally:
            self.closed_streams += 1


def make_app(store: FakeBlobStore, **overrides: Any) -> Starlette:
    async def download(request: Request) -> Response:
        options: dict[str, Any] = {
            "size": len(store.data),
            "etag": ETAG,
            "content_type": "application/octet-stream",
            "filename": request.query_params.get("name", "data.bin"),
            "last_modified": MODIFIED,
            "read_range": store.read_range,
            "chunk_size": CHUNK,
        }
        options.update(overrides)
        return build_download_response(request, **options)

    return Starlette(routes=[Route("/file", download, methods=["GET", "HEAD"])])


@pytest.fixture
def store() -> FakeBlobStore:
    return FakeBlobStore(SOURCE)


@pytest.fixture
async def client(store: FakeBlobStore) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(store))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def parse_byteranges(body: bytes, boundary: str) -> list[tuple[dict[str, str], bytes]]:
    """Strict multipart/byteranges reader: each part's length comes from its Content-Range."""
    delimiter = b"--" + boundary.encode("ascii")
    parts: list[tuple[dict[str, str], bytes]] = []
    position = 0
    while True:
        assert body.startswith(delimiter, position), body[position : position + 80]
        position += len(delimiter)
        if body[position:] == b"--\r\n":
            return parts
        assert body.startswith(b"\r\n", position)
        header_end = body.index(b"\r\n\r\n", position + 2)
        lines = body[position + 2 : header_end].decode("ascii").split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines)
        position = header_end + 4
        start, end, total = map(
            int, re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", headers["Content-Range"]).groups()
        )
        assert total == SIZE
        data = body[position : position + end - start + 1]
        position += len(data)
        assert body.startswith(b"\r\n", position)
        position += 2
        parts.append((headers, data))


# --------------------------------------------------------------------------------------------
# Whole file and HEAD


@pytest.mark.anyio
async def test_get_sends_the_whole_file_with_all_headers(
    client: httpx.AsyncClient, store: FakeBlobStore
) -> None:
    response = await client.get("/file")
    assert response.status_code == 200
    assert response.content == SOURCE
    assert response.headers["content-length"] == str(SIZE)
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["etag"] == ETAG
    assert response.headers["last-modified"] == MODIFIED_HTTP
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["cache-control"] == "private, no-cache"
    assert response.headers["content-disposition"] == 'attachment; filename="data.bin"'
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-range" not in response.headers
    assert store.calls == [(0, SIZE - 1)]
    assert store.closed_streams == store.open_streams == 1


@pytest.mark.anyio
async def test_head_has_the_same_headers_no_body_and_reads_nothing(
    client: httpx.AsyncClient, store: FakeBlobStore
) -> None:
    head = await client.head("/file")
    assert store.calls == []
    get = await client.get("/file")
    assert head.status_code == 200
    assert head.content == b""
    assert dict(head.headers) == dict(get.headers)


@pytest.mark.anyio
async def test_head_ignores_range_as_rfc_9110_requires(
    client: httpx.AsyncClient, store: FakeBlobStore
) -> None:
    response = await client.head("/file", headers={"Range": "bytes=0-9"})
    assert response.status_code == 200
    assert response.headers["content-length"] == str(SIZE)
    assert "content-range" not in response.headers
    assert store.calls == []


@pytest.mark.anyio
async def test_empty_file_is_served_without_reading() -> None:
    store = FakeBlobStore(b"")
    transport = httpx.ASGITransport(app=make_app(store))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.get("/file")
        assert response.status_code == 200
        assert response.content == b""
        assert response.headers["content-length"] == "0"
        unsatisfiable = await http.get("/file", headers={"Range": "bytes=0-"})
        assert unsatisfiable.status_code == 416
        assert unsatisfiable.headers["content-range"] == "bytes */0"
    assert store.calls == []


# --------------------------------------------------------------------------------------------
# Single ranges


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-0", 0, 0),
        ("bytes=0-99", 0, 99),
        ("bytes=100-199", 100, 199),
        ("bytes=1000000-", 1000000, SIZE - 1),
        (f"bytes={SIZE - 1}-", SIZE - 1, SIZE - 1),
        ("bytes=-1", SIZE - 1, SIZE - 1),
        ("bytes=-70000", SIZE - 70000, SIZE - 1),
        ("bytes=-999999999999", 0, SIZE - 1),
        (f"bytes=65530-{SIZE * 10}", 65530, SIZE - 1),
        ("bytes=0-9,5-20", 0, 20),  # overlapping ranges coalesce into one part
        ("bytes=10-19,20-29", 10, 29),  # adjacent too
        ("bytes=5000-, -100", 5000, SIZE - 1),
    ],
)
async def test_single_range(
    client: httpx.AsyncClient, store: FakeBlobStore, header: str, start: int, end: int
) -> None:
    response = await client.get("/file", headers={"Range": header})
    assert response.status_code == 206
    assert response.content == SOURCE[start : end + 1]
    assert response.headers["content-range"] == f"bytes {start}-{end}/{SIZE}"
    assert response.headers["content-length"] == str(end - start + 1)
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["etag"] == ETAG
    assert store.calls == [(start, end)]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "header", ["bytes=5-2", "bytes=abc", "items=0-5", "bytes=", "bytes=0-1," + "0" * 9000]
)
async def test_invalid_range_is_ignored_and_the_whole_file_sent(
    client: httpx.AsyncClient, header: str
) -> None:
    response = await client.get("/file", headers={"Range": header})
    assert response.status_code == 200
    assert response.content == SOURCE
    assert "content-range" not in response.headers


# --------------------------------------------------------------------------------------------
# Multiple ranges


@pytest.mark.anyio
async def test_multiple_ranges_build_an_exact_multipart_body(
    client: httpx.AsyncClient, store: FakeBlobStore
) -> None:
    header = "bytes=-10, 0-99, 200000-400000, 500-499999, 3000000-3000000"
    response = await client.get("/file", headers={"Range": header})
    assert response.status_code == 206
    content_type = response.headers["content-type"]
    match = re.fullmatch(r"multipart/byteranges; boundary=([0-9a-f]{32})", content_type)
    assert match, content_type
    assert int(response.headers["content-length"]) == len(response.content)
    assert "content-range" not in response.headers

    parts = parse_byteranges(response.content, match.group(1))
    expected = [(0, 99), (500, 499999), (3000000, 3000000), (SIZE - 10, SIZE - 1)]
    assert [tuple(map(int, re.findall(r"\d+", h["Content-Range"])[:2])) for h, _ in parts] == expected
    for (headers, data), (start, end) in zip(parts, expected, strict=False):
        assert headers["Content-Type"] == "application/octet-stream"
        assert headers["Content-Range"] == f"bytes {start}-{end}/{SIZE}"
        assert data == SOURCE[start : end + 1]
    assert store.calls == expected
    assert store.closed_streams == len(expected)


@pytest.mark.anyio
async def test_multipart_part_headers_use_the_file_content_type(store: FakeBlobStore) -> None:
    transport = httpx.ASGITransport(app=make_app(store, content_type="text/csv; charset=utf-8"))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.get("/file", headers={"Range": "bytes=0-0,10-10"})
    boundary = response.headers["content-type"].split("boundary=")[1]
    parts = parse_byteranges(response.content, boundary)
    assert [h["Content-Type"] for h, _ in parts] == ["text/csv; charset=utf-8"] * 2
    assert [data for _, data in parts] == [SOURCE[0:1], SOURCE[10:11]]


# --------------------------------------------------------------------------------------------
# 416


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("header", "detail"),
    [
        (f"bytes={SIZE}-", "overlaps"),
        (f"bytes={SIZE + 5}-{SIZE + 10}", "overlaps"),
        ("bytes=-0", "overlaps"),
        ("bytes=" + ",".join(f"{i * 3}-{i * 3}" for i in range(65)), "too many ranges (65 > 64)"),
    ],
)
async def test_unsatisfiable_range_answers_416(
    client: httpx.AsyncClient, store: FakeBlobStore, header: str, detail: str
) -> None:
    response = await client.get("/file", headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{SIZE}"
    assert response.headers["content-type"] == "application/json"
    assert detail in response.json()["detail"]
    assert store.calls == []


# --------------------------------------------------------------------------------------------
# Conditional requests


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("if_range", "partial"),
    [
        (ETAG, True),
        (MODIFIED_HTTP, True),
        ('"0000"', False),
        (f"W/{ETAG}", False),
        ("Sat, 01 Jun 2024 12:30:46 GMT", False),
        ("garbage", False),
    ],
)
async def test_if_range(client: httpx.AsyncClient, if_range: str, partial: bool) -> None:
    response = await client.get("/file", headers={"Range": "bytes=10-19", "If-Range": if_range})
    if partial:
        assert response.status_code == 206
        assert response.content == SOURCE[10:20]
    else:
        assert response.status_code == 200
        assert response.content == SOURCE


@pytest.mark.anyio
async def test_stale_if_range_turns_an_unsatisfiable_range_into_a_whole_download(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/file", headers={"Range": f"bytes={SIZE}-", "If-Range": '"old"'})
    assert response.status_code == 200
    assert response.content == SOURCE


@pytest.mark.anyio
@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("if_none_match", [ETAG, f"W/{ETAG}", f'"other", {ETAG}', "*"])
async def test_if_none_match_hit_answers_304(
    client: httpx.AsyncClient, store: FakeBlobStore, method: str, if_none_match: str
) -> None:
    response = await client.request(
        method, "/file", headers={"If-None-Match": if_none_match, "Range": "bytes=0-9"}
    )
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == ETAG
    assert response.headers["last-modified"] == MODIFIED_HTTP
    assert "content-length" not in response.headers
    assert store.calls == []


@pytest.mark.anyio
async def test_if_none_match_miss_sends_the_file(client: httpx.AsyncClient) -> None:
    response = await client.get("/file", headers={"If-None-Match": '"something-else"'})
    assert response.status_code == 200
    assert response.content == SOURCE


# --------------------------------------------------------------------------------------------
# Headers built from stored metadata


@pytest.mark.anyio
async def test_unicode_and_hostile_filenames(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/file", params={"name": "../отчёт 2024 😀.pdf"}, headers={"Range": "bytes=0-0"}
    )
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=\"_____ 2024 _.pdf\"; filename*=UTF-8''")
    assert unquote(disposition.split("UTF-8''", 1)[1]) == "отчёт 2024 😀.pdf"

    response = await client.get(
        "/file", params={"name": "a\r\nSet-Cookie: x=1"}, headers={"Range": "bytes=0-0"}
    )
    assert response.status_code == 206
    assert "set-cookie" not in response.headers
    assert response.headers["content-disposition"] == 'attachment; filename="aSet-Cookie: x=1"'


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("stored", "served"),
    [
        ("image/png", "image/png"),
        ("text/plain; charset=utf-8", "text/plain; charset=utf-8"),
        ("", "application/octet-stream"),
        ("not a type", "application/octet-stream"),
        ("text/html\r\nX-Evil: 1", "application/octet-stream"),
        ("text/plain; name=é", "application/octet-stream"),
    ],
)
async def test_content_type_is_checked(store: FakeBlobStore, stored: str, served: str) -> None:
    transport = httpx.ASGITransport(app=make_app(store, content_type=stored))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.get("/file", headers={"Range": "bytes=0-3"})
    assert response.headers["content-type"] == served
    assert "x-evil" not in response.headers


@pytest.mark.anyio
async def test_naive_last_modified_is_taken_as_utc_and_absent_is_omitted(store: FakeBlobStore) -> None:
    naive = MODIFIED.replace(tzinfo=None)
    for last_modified, expected in [(naive, MODIFIED_HTTP), (None, None)]:
        transport = httpx.ASGITransport(app=make_app(store, last_modified=last_modified))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            response = await http.head("/file")
        assert response.headers.get("last-modified") == expected


# --------------------------------------------------------------------------------------------
# Streaming behaviour at the ASGI level


def http_scope(
    method: str = "GET", headers: dict[str, str] | None = None, spec_version: str = "2.4"
) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": spec_version},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": "/file",
        "raw_path": b"/file",
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 1234),
        "server": ("test", 80),
    }


def response_for(store: FakeBlobStore, scope: dict[str, Any], chunk_size: int = CHUNK) -> Response:
    return build_download_response(
        Request(scope),
        size=len(store.data),
        etag=ETAG,
        content_type="application/octet-stream",
        filename="data.bin",
        last_modified=MODIFIED,
        read_range=store.read_range,
        chunk_size=chunk_size,
    )


async def never_disconnects() -> dict[str, Any]:
    await anyio.sleep_forever()
    raise AssertionError("unreachable")


@pytest.mark.anyio
async def test_body_is_pulled_one_chunk_at_a_time(store: FakeBlobStore) -> None:
    """When the n-th body message goes out, the store has produced at most n pieces: nothing is buffered."""
    pieces_at_send: list[int] = []
    received = bytearray()

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and message["body"]:
            pieces_at_send.append(store.pieces_yielded)
            received.extend(message["body"])

    await response_for(store, http_scope())(http_scope(), never_disconnects, send)
    assert bytes(received) == SOURCE
    assert len(pieces_at_send) == -(-SIZE // CHUNK)
    assert all(pieces <= index + 1 for index, pieces in enumerate(pieces_at_send))


@pytest.mark.anyio
async def test_oversized_store_chunks_are_split_to_chunk_size() -> None:
    store = FakeBlobStore(SOURCE, piece_size=1024 * 1024)
    messages: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await response_for(store, http_scope(), chunk_size=100_000)(http_scope(), never_disconnects, send)
    bodies = [m["body"] for m in messages if m["type"] == "http.response.body"]
    assert all(isinstance(body, bytes) and len(body) <= 100_000 for body in bodies)
    assert b"".join(bodies) == SOURCE
    assert messages[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


@pytest.mark.anyio
async def test_send_failure_stops_reading_and_closes_the_store_stream(store: FakeBlobStore) -> None:
    """ASGI >= 2.4 servers raise OSError from send() when the client is gone."""
    body_messages = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal body_messages
        if message["type"] == "http.response.body":
            body_messages += 1
            if body_messages == 3:
                raise OSError("connection reset by peer")

    await response_for(store, http_scope())(http_scope(), never_disconnects, send)  # returns quietly
    assert store.pieces_yielded == 3
    assert store.open_streams == store.closed_streams == 1


@pytest.mark.anyio
async def test_disconnect_message_stops_reading_on_older_servers(store: FakeBlobStore) -> None:
    """ASGI < 2.4 servers (uvicorn says 2.3) ignore send() after a disconnect; receive() reports it."""
    scope = http_scope(spec_version="2.3")
    client_gone = anyio.Event()
    body_messages = 0

    async def receive() -> dict[str, Any]:
        await client_gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal body_messages
        if message["type"] == "http.response.body":
            body_messages += 1
            if body_messages == 3:
                client_gone.set()
        # Like uvicorn after a disconnect: return at once, without yielding to the event loop.

    with anyio.fail_after(5):
        await response_for(store, scope)(scope, receive, send)
    assert store.pieces_yielded < 10  # of 49
    assert store.open_streams == store.closed_streams == 1


@pytest.mark.anyio
async def test_older_servers_complete_normally_without_disconnect(store: FakeBlobStore) -> None:
    scope = http_scope(spec_version="2.3")
    received = bytearray()
    done = False

    async def send(message: dict[str, Any]) -> None:
        nonlocal done
        received.extend(message.get("body", b""))
        done = message["type"] == "http.response.body" and not message["more_body"]

    await response_for(store, scope)(scope, never_disconnects, send)
    assert done and bytes(received) == SOURCE


@pytest.mark.anyio
@pytest.mark.parametrize(("short_by", "long_by"), [(1, 0), (100_000, 0), (0, 1), (0, 5000)])
async def test_wrong_length_from_the_store_never_completes_the_response(
    store: FakeBlobStore, short_by: int, long_by: int
) -> None:
    store.short_by, store.long_by = short_by, long_by
    messages: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = http_scope(headers={"Range": "bytes=1000-300000"})
    with pytest.raises(BodyLengthMismatchError):
        await response_for(store, scope)(scope, never_disconnects, send)
    assert not any(m["type"] == "http.response.body" and not m["more_body"] for m in messages)
    sent = sum(len(m.get("body", b"")) for m in messages)
    assert sent <= 300000 - 1000 + 1
    assert store.open_streams == store.closed_streams == 1


@pytest.mark.anyio
async def test_wrong_length_raises_through_the_app_too() -> None:
    store = FakeBlobStore(SOURCE)
    store.short_by = 10
    transport = httpx.ASGITransport(app=make_app(store))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        with pytest.raises(BodyLengthMismatchError):
            await http.get("/file")


@pytest.mark.anyio
async def test_416_body_is_json(store: FakeBlobStore) -> None:
    messages: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = http_scope(headers={"Range": f"bytes={SIZE}-"})
    await response_for(store, scope)(scope, never_disconnects, send)
    assert messages[0]["status"] == 416
    body = b"".join(m.get("body", b"") for m in messages[1:])
    assert json.loads(body) == {
        "detail": f"range not satisfiable: no requested range overlaps the {SIZE} bytes of content"
    }


def test_argument_checks(store: FakeBlobStore) -> None:
    with pytest.raises(ValueError):
        response_for(store, http_scope(), chunk_size=0)
    with pytest.raises(ValueError):
        build_download_response(
            Request(http_scope()),
            size=-1,
            etag=ETAG,
            content_type="a/b",
            filename=None,
            last_modified=None,
            read_range=store.read_range,
            chunk_size=1,
        )


def test_last_modified_format_matches_email_utils() -> None:
    assert format_datetime(MODIFIED, usegmt=True) == MODIFIED_HTTP
