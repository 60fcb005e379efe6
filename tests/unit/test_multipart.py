"""Streaming multipart/form-data parsing: exact bytes, metadata, errors, early close and bounded memory."""

from __future__ import annotations

import os
import random
import tracemalloc
from collections.abc import AsyncIterator, Iterable

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vitalgraph.api.multipart import MultipartFile, open_multipart_file
from vitalgraph.errors import InvalidInputError

BOUNDARY = "vg-test-boundary-7d3f"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
MiB = 1024 * 1024
CHUNK_SIZES = [1, 7, 4096, MiB]

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --- helpers -------------------------------------------------------------------------------------------


def build_body(
    parts: Iterable[tuple[str, bytes]],
    *,
    boundary: str = BOUNDARY,
    closing: bool = True,
) -> bytes:
    """Assemble a body from (header block, content) pairs, e.g. ('Content-Disposition: ...', b'data')."""
    delimiter = f"--{boundary}".encode()
    body = bytearray()
    for headers, content in parts:
        body += delimiter + b"\r\n" + headers.encode("utf-8") + b"\r\n\r\n" + content + b"\r\n"
    if closing:
        body += delimiter + b"--\r\n"
    return bytes(body)


def file_part(
    data: bytes,
    *,
    name: str = "file",
    filename: str = "a.bin",
    content_type: str = "application/octet-stream",
) -> tuple[str, bytes]:
    headers = f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\nContent-Type: {content_type}'
    return headers, data


def text_part(name: str, value: bytes) -> tuple[str, bytes]:
    return f'Content-Disposition: form-data; name="{name}"', value


def httpx_body(files: dict, data: dict | None = None) -> tuple[bytes, str]:
    request = httpx.Request("POST", "http://x", files=files, data=data)
    return request.read(), request.headers["content-type"]


async def feed(body: bytes, chunk_size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(body), chunk_size):
        yield body[start : start + chunk_size]


async def feed_split(body: bytes, cuts: list[int]) -> AsyncIterator[bytes]:
    previous = 0
    for cut in sorted(set(cuts)) + [len(body)]:
        yield body[previous:cut]
        previous = cut


async def read_all(upload: MultipartFile) -> bytes:
    return b"".join([chunk async for chunk in upload.chunks])


async def parse(
    body: bytes, chunk_size: int = 4096, content_type: str = CONTENT_TYPE
) -> tuple[MultipartFile, bytes]:
    upload = await open_multipart_file(feed(body, chunk_size), content_type)
    return upload, await read_all(upload)


# --- well-formed bodies ----------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
async def test_hand_built_body_reproduces_file(chunk_size: int) -> None:
    payload = os.urandom(300_000 if chunk_size > 1 else 20_000)
    body = build_body([file_part(payload, filename="report.pdf", content_type="application/pdf")])

    upload, received = await parse(body, chunk_size)

    assert received == payload
    assert upload.field_name == "file"
    assert upload.filename == "report.pdf"
    assert upload.content_type == "application/pdf"


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
async def test_httpx_body_with_text_field_before_file(chunk_size: int) -> None:
    payload = os.urandom(100_000 if chunk_size > 1 else 10_000)
    body, content_type = httpx_body({"file": ("a.bin", payload, "application/pdf")}, {"note": "x"})
    assert body.index(b'name="note"') < body.index(b'name="file"')  # the text field really comes first

    upload, received = await parse(body, chunk_size, content_type)

    assert received == payload
    assert upload.filename == "a.bin"
    assert upload.content_type == "application/pdf"


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
async def test_boundary_like_bytes_inside_file(chunk_size: int) -> None:
    near_misses = [
        b"\r\n--",
        b"\r\n--" + BOUNDARY[:-1].encode(),
        b"\r\n--" + BOUNDARY.encode() + b"X",
        b"\r\n--" + BOUNDARY.encode() + b"-x",
        b"\r\n--" + BOUNDARY.encode() + b"\rx",
        b"\r\r\n\r\n-\r\n--\r",
        b"--" + BOUNDARY.encode() + b"\r\n",  # the delimiter without its leading CRLF is plain data
    ]
    payload = b"start" + b"middle".join(near_misses) + b"\r\n--"
    body = build_body([file_part(payload)])

    _, received = await parse(body, chunk_size)

    assert received == payload


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
async def test_empty_file(chunk_size: int) -> None:
    _, received = await parse(build_body([file_part(b"")]), chunk_size)
    assert received == b""


async def test_unicode_filename_from_filename_star() -> None:
    headers = (
        'Content-Disposition: form-data; name="file"; filename="fallback.txt"; '
        "filename*=UTF-8''na%C3%AFve%20%E2%82%AC.txt\r\nContent-Type: text/plain"
    )
    upload, received = await parse(build_body([(headers, b"hello")]))

    assert upload.filename == "naïve €.txt"
    assert upload.content_type == "text/plain"
    assert received == b"hello"


async def test_raw_utf8_filename_as_sent_by_httpx() -> None:
    body, content_type = httpx_body({"file": ("résumé ü.bin", b"data", "application/pdf")})
    upload, received = await parse(body, 7, content_type)
    assert upload.filename == "résumé ü.bin"
    assert received == b"data"


async def test_part_without_filename_or_content_type() -> None:
    upload, received = await parse(build_body([text_part("file", b"inline")]))
    assert upload.filename is None
    assert upload.content_type is None
    assert received == b"inline"


@pytest.mark.parametrize("chunk_size", [1, 4096])
async def test_parts_after_file_are_ignored(chunk_size: int) -> None:
    body = build_body(
        [
            text_part("title", b"first"),
            text_part("tags", b"a,b,c"),
            file_part(b"the file"),
            text_part("after", b"ignored"),
            file_part(b"a second file field", filename="second.bin"),
        ]
    )
    upload, received = await parse(body, chunk_size)
    assert received == b"the file"
    assert upload.filename == "a.bin"


async def test_custom_field_name() -> None:
    body = build_body([file_part(b"not this", name="file"), file_part(b"this one", name="attachment")])
    upload = await open_multipart_file(feed(body, 5), CONTENT_TYPE, field_name="attachment")
    assert await read_all(upload) == b"this one"
    assert upload.field_name == "attachment"


async def test_quoted_boundary_and_preamble_crlf() -> None:
    body = b"\r\n" + build_body([file_part(b"payload")], boundary="b o:u")
    _, received = await parse(body, 3, 'multipart/form-data; boundary="b o:u"')
    assert received == b"payload"


async def test_memoryview_and_bytearray_chunks_are_accepted() -> None:
    body = build_body([file_part(b"x" * 10_000)])

    async def mixed_types() -> AsyncIterator[bytes]:
        yield bytearray(body[:100])
        yield memoryview(body[100:5000])  # type: ignore[misc]
        yield b""
        yield body[5000:]

    upload = await open_multipart_file(mixed_types(), CONTENT_TYPE)
    assert await read_all(upload) == b"x" * 10_000


async def test_body_is_read_lazily() -> None:
    payload = os.urandom(64 * 1024)
    body = build_body([file_part(payload)])
    pulled = 0

    async def counting_body() -> AsyncIterator[bytes]:
        nonlocal pulled
        for start in range(0, len(body), 1024):
            pulled += 1
            yield body[start : start + 1024]

    upload = await open_multipart_file(counting_body(), CONTENT_TYPE)
    assert pulled == 1  # the headers fit in the first chunk; the file itself is not read yet
    assert await read_all(upload) == payload
    assert pulled == -(-len(body) // 1024)


boundary_fragments = st.sampled_from(
    [
        b"\r",
        b"\n",
        b"-",
        b"--",
        b"\r\n",
        b"\r\n-",
        b"\r\n--",
        f"\r\n--{BOUNDARY[:8]}".encode(),
        BOUNDARY.encode(),
    ]
)
payloads = (
    st.lists(st.binary(max_size=64) | boundary_fragments, max_size=40)
    .map(b"".join)
    .filter(lambda payload: f"\r\n--{BOUNDARY}".encode() not in b"\r\n" + payload + b"\r\n")
)


@st.composite
def bodies_with_cuts(draw: st.DrawFn) -> tuple[bytes, bytes, list[int]]:
    # Everything is drawn here, not inside the async test: anyio's runner does not pass on the
    # BaseException hypothesis uses to abort an interactive draw.
    payload = draw(payloads)
    body = build_body([text_part("note", b"n"), file_part(payload)])
    cuts = draw(st.lists(st.integers(min_value=0, max_value=len(body)), max_size=30))
    return payload, body, cuts


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=bodies_with_cuts())
async def test_random_payload_and_random_splits(case: tuple[bytes, bytes, list[int]]) -> None:
    payload, body, cuts = case

    upload = await open_multipart_file(feed_split(body, cuts), CONTENT_TYPE)

    assert await read_all(upload) == payload


# --- errors ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "multipart/mixed; boundary=abc", "text/plain", ""],
)
async def test_wrong_content_type(content_type: str) -> None:
    with pytest.raises(InvalidInputError, match="multipart/form-data"):
        await open_multipart_file(feed(b"", 10), content_type)


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data", "multipart/form-data; charset=utf-8", "multipart/form-data; boundary="],
)
async def test_missing_boundary(content_type: str) -> None:
    with pytest.raises(InvalidInputError, match="no boundary"):
        await open_multipart_file(feed(b"", 10), content_type)


async def test_overlong_boundary() -> None:
    with pytest.raises(InvalidInputError, match="boundary"):
        await open_multipart_file(feed(b"", 10), "multipart/form-data; boundary=" + "b" * 300)


@pytest.mark.parametrize("chunk_size", [1, 4096])
async def test_no_file_field(chunk_size: int) -> None:
    body = build_body([text_part("note", b"x"), file_part(b"data", name="other")])
    with pytest.raises(InvalidInputError, match="multipart body has no 'file' field"):
        await open_multipart_file(feed(body, chunk_size), CONTENT_TYPE)


async def test_empty_message_has_no_file_field() -> None:
    with pytest.raises(InvalidInputError, match="no 'file' field"):
        await open_multipart_file(feed(f"--{BOUNDARY}--\r\n".encode(), 4), CONTENT_TYPE)


async def test_empty_body_is_truncated() -> None:
    with pytest.raises(InvalidInputError, match="ended before its closing boundary"):
        await open_multipart_file(feed(b"", 4), CONTENT_TYPE)


async def test_truncated_inside_file_raises_from_chunks() -> None:
    payload = os.urandom(50_000)
    body = build_body([file_part(payload)])
    cut_body = body[: body.index(payload) + 30_000]
    upload = await open_multipart_file(feed(cut_body, 4096), CONTENT_TYPE)

    received = bytearray()
    with pytest.raises(InvalidInputError, match=r"ended before its closing boundary \(truncated upload\?\)"):
        async for chunk in upload.chunks:
            received += chunk
    assert payload.startswith(bytes(received))


@pytest.mark.parametrize("tail", [b"\r\n", f"\r\n--{BOUNDARY}".encode(), f"\r\n--{BOUNDARY}-".encode()])
async def test_cut_around_closing_boundary_raises_from_chunks(tail: bytes) -> None:
    body = build_body([file_part(b"payload")], closing=False)[: -len(b"\r\n")] + tail
    upload = await open_multipart_file(feed(body, 4096), CONTENT_TYPE)
    with pytest.raises(InvalidInputError, match="ended before its closing boundary"):
        await read_all(upload)


async def test_closing_boundary_without_final_crlf_is_complete() -> None:
    body = build_body([file_part(b"payload")])
    _, received = await parse(body[:-2])
    assert received == b"payload"


@pytest.mark.parametrize("chunk_size", [1, 13, 4096])
async def test_truncated_at_every_point(chunk_size: int) -> None:
    body, content_type = httpx_body(
        {"file": ("a.bin", os.urandom(2000) + b"\r\n--x", "image/png")}, {"note": "n"}
    )
    closing_end = len(body) - 2  # only the final CRLF may be dropped
    cut_points = range(closing_end) if chunk_size != 1 else random.Random(7).sample(range(closing_end), 300)
    for cut in cut_points:
        with pytest.raises(InvalidInputError):
            upload = await open_multipart_file(feed(body[:cut], chunk_size), content_type)
            await read_all(upload)


@pytest.mark.parametrize(
    "garbage",
    [
        b"this is not multipart at all",
        f"--{BOUNDARY}X\r\n".encode(),
        f"--{BOUNDARY}\r\nbad header without colon\r\n\r\n".encode(),
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"\rX'.encode(),
        f"--{BOUNDARY}\r\n: empty name\r\n\r\n".encode(),
        b"--wrong-boundary\r\n",
    ],
)
async def test_garbage_body(garbage: bytes) -> None:
    with pytest.raises(InvalidInputError, match="malformed multipart body"):
        upload = await open_multipart_file(feed(garbage + os.urandom(1000), 64), CONTENT_TYPE)
        await read_all(upload)


async def test_random_garbage_never_escapes_as_another_exception() -> None:
    rng = random.Random(1)
    for _ in range(200):
        garbage = rng.randbytes(rng.randint(0, 500))
        with pytest.raises(InvalidInputError):
            upload = await open_multipart_file(feed(garbage, rng.randint(1, 64)), CONTENT_TYPE)
            await read_all(upload)


async def test_oversized_part_headers() -> None:
    headers = 'Content-Disposition: form-data; name="file"\r\nX-Padding: ' + "p" * 2000
    body = build_body([(headers, b"data")])
    with pytest.raises(InvalidInputError):
        await open_multipart_file(feed(body, 512), CONTENT_TYPE, max_header_bytes=1024)
    # the same body passes with the default limit
    _, received = await parse(body)
    assert received == b"data"


async def test_oversized_field_before_file() -> None:
    body = build_body([text_part("note", b"n" * 70_000), file_part(b"data")])
    with pytest.raises(InvalidInputError, match="other than 'file' exceed"):
        await open_multipart_file(feed(body, 4096), CONTENT_TYPE)


async def test_many_empty_parts_before_file_are_capped() -> None:
    body = build_body([text_part("n", b"")] * 5000 + [file_part(b"data")])
    with pytest.raises(InvalidInputError, match="other than 'file' exceed"):
        await open_multipart_file(feed(body, 4096), CONTENT_TYPE)


async def test_oversized_data_after_file_fails_the_file_stream() -> None:
    body = build_body([file_part(b"data"), text_part("after", b"a" * 200_000)])
    upload = await open_multipart_file(feed(body, 4096), CONTENT_TYPE)
    with pytest.raises(InvalidInputError):
        await read_all(upload)


async def test_unbounded_epilogue_is_capped() -> None:
    async def body_with_endless_epilogue() -> AsyncIterator[bytes]:
        yield build_body([file_part(b"data")])
        while True:
            yield b"e" * 4096

    upload = await open_multipart_file(body_with_endless_epilogue(), CONTENT_TYPE)
    with pytest.raises(InvalidInputError, match="after the 'file' part"):
        await read_all(upload)


async def test_short_epilogue_is_accepted() -> None:
    _, received = await parse(build_body([file_part(b"data")]) + b"epilogue text\r\n", 3)
    assert received == b"data"


async def test_malformed_ending_after_file_is_detected() -> None:
    payload = os.urandom(10_000)
    body = build_body([file_part(payload)], closing=False) + f"--{BOUNDARY}\r\nno colon here\r\n\r\n".encode()
    upload = await open_multipart_file(feed(body, 1024), CONTENT_TYPE)
    received = bytearray()
    with pytest.raises(InvalidInputError, match="malformed multipart body"):
        async for chunk in upload.chunks:
            received += chunk
    assert payload.startswith(bytes(received))  # the file's own bytes were intact, yet the stream fails


# --- closing early ---------------------------------------------------------------------------------------


class TrackedBody:
    """An async-generator body that records whether it was closed."""

    def __init__(self, body: bytes, chunk_size: int) -> None:
        self.closed = False
        self.iterator = self._generate(body, chunk_size)

    async def _generate(self, body: bytes, chunk_size: int) -> AsyncIterator[bytes]:
        try:
            for start in range(0, len(body), chunk_size):
                yield body[start : start + chunk_size]
        finally:
            self.closed = True


async def test_aclose_after_partial_read_closes_body() -> None:
    tracked = TrackedBody(build_body([file_part(os.urandom(100_000))]), 1024)
    upload = await open_multipart_file(tracked.iterator, CONTENT_TYPE)
    await anext(upload.chunks)
    assert not tracked.closed

    await upload.chunks.aclose()  # type: ignore[attr-defined]

    assert tracked.closed
    with pytest.raises(StopAsyncIteration):
        await anext(upload.chunks)


async def test_aclose_before_reading_closes_body() -> None:
    tracked = TrackedBody(build_body([file_part(os.urandom(10_000))]), 1024)
    upload = await open_multipart_file(tracked.iterator, CONTENT_TYPE)
    await upload.aclose()
    assert tracked.closed


async def test_body_closed_when_open_fails() -> None:
    tracked = TrackedBody(build_body([text_part("note", b"x")]), 1024)
    with pytest.raises(InvalidInputError):
        await open_multipart_file(tracked.iterator, CONTENT_TYPE)
    assert tracked.closed


async def test_body_closed_when_chunks_fail() -> None:
    tracked = TrackedBody(build_body([file_part(b"data")], closing=False), 1024)
    upload = await open_multipart_file(tracked.iterator, CONTENT_TYPE)
    with pytest.raises(InvalidInputError):
        await read_all(upload)
    assert tracked.closed


# --- bounded memory --------------------------------------------------------------------------------------


async def test_200_mib_upload_streams_with_bounded_memory() -> None:
    total_size = 200 * MiB
    chunk_size = MiB
    block = os.urandom(chunk_size)
    head = (
        build_body([text_part("note", b"x")], closing=False)
        + (
            f"--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="file"; filename="big.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
    )
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()

    async def lazy_body() -> AsyncIterator[bytes]:
        # Every feed is a freshly allocated 1 MiB object, as a real request body would be.
        yield head + block[: chunk_size - len(head)]
        sent = chunk_size - len(head)
        while sent < total_size:
            piece = block[sent % 4096 :] + block[: sent % 4096]
            piece = piece[: min(chunk_size, total_size - sent)]
            sent += len(piece)
            yield piece
        yield tail

    tracemalloc.start()
    try:
        upload = await open_multipart_file(lazy_body(), CONTENT_TYPE)
        received = 0
        largest_chunk = 0
        async for chunk in upload.chunks:
            received += len(chunk)
            largest_chunk = max(largest_chunk, len(chunk))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert received == total_size
    assert upload.filename == "big.bin"
    assert largest_chunk <= chunk_size
    assert peak < 20 * MiB, f"peak traced allocation {peak / MiB:.1f} MiB"
