"""Small input checks the bad-input API tests found wanting: integer headers, space ids, size limits."""

from __future__ import annotations

import asyncio

import pytest
from starlette.requests import Request

from vitalgraph.api.deps import header_integer
from vitalgraph.blobs.chunking import SizeGuard, rechunk
from vitalgraph.errors import InvalidInputError, PayloadTooLargeError
from vitalgraph.services.spaces import check_space_id


def _request(value: bytes) -> Request:
    return Request({"type": "http", "method": "PATCH", "path": "/", "headers": [(b"upload-offset", value)]})


@pytest.mark.parametrize("value, expected", [(b"0", 0), (b"0042", 42), (b"9" * 19, int("9" * 19))])
def test_header_integer_takes_ascii_digits(value, expected):
    assert header_integer(_request(value), "Upload-Offset") == expected


@pytest.mark.parametrize(
    "value", [b"", b"-1", b"+1", b" 1", b"1.0", b"\xb2", b"\xb9", b"9" * 20, b"9" * 5000]
)
def test_header_integer_refuses_everything_else(value):
    with pytest.raises(InvalidInputError, match="invalid Upload-Offset header"):
        header_integer(_request(value), "Upload-Offset")


def test_header_integer_absent_is_none():
    assert header_integer(Request({"type": "http", "headers": []}), "Upload-Offset") is None


@pytest.mark.parametrize("space_id", ["abc\n", "a b", "../x", "-a", "", "ü", "a" * 129])
def test_malformed_space_ids(space_id):
    with pytest.raises(InvalidInputError, match="invalid space_id"):
        check_space_id(space_id)


def test_size_guard_trips_before_rechunking_buffers_a_block():
    seen: list[int] = []

    async def source():
        for _ in range(10):
            seen.append(1)
            yield b"x" * 100

    async def consume() -> None:
        guard = SizeGuard(250, None)
        async for _ in rechunk(guard.watch(source()), 10_000):
            pass

    with pytest.raises(PayloadTooLargeError):
        asyncio.run(consume())
    assert len(seen) == 3  # the third piece crosses 250 bytes; nothing after it is read


def test_trailing_newline_is_no_loophole_in_id_patterns():
    from vitalgraph.blobs.base import check_key
    from vitalgraph.blobs.resumable import check_upload_id
    from vitalgraph.errors import NotFoundError
    from vitalgraph.services.accounts import check_username

    with pytest.raises(InvalidInputError):
        check_username("alice\n")
    with pytest.raises(NotFoundError):
        check_upload_id("0" * 32 + "\n")
    with pytest.raises(ValueError):
        check_key("spaces/a/b\n")
