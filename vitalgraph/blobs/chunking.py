"""Byte-stream helpers shared by the blob stores, the services and the API: re-chunking a stream,
counting it against limits, closing it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from vitalgraph.errors import PayloadTooLargeError, UploadIncompleteError


async def close_stream(chunks: Any) -> None:
    """Close an async iterator of chunks early (its file, connection or request body goes now); an
    iterator without `aclose` has nothing to release."""
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        await aclose()


async def rechunk(chunks: AsyncIterator[bytes], size: int) -> AsyncIterator[bytes]:
    """Re-cut a stream of small pieces (uvicorn hands over ~256 KB) into blocks of exactly `size`.

    Fewer, larger blocks make each hand-off to a worker thread worth its cost. The last block may be shorter.
    Each byte is copied once, by one `b"".join` per block; a piece that straddles two blocks is split
    with memoryview slices, which copy nothing. (Appending to a bytearray and slicing blocks off its
    front copied every block twice and moved the remainder each time: see docs/performance.md.)
    """
    if size < 1:
        raise ValueError(f"block size must be positive, not {size}")
    pieces: list[bytes | memoryview] = []
    pending = 0
    async for piece in chunks:
        if not pending and len(piece) == size:
            yield bytes(piece)
            continue
        # Only immutable bytes may be held by reference until the block is joined.
        view = memoryview(piece if isinstance(piece, bytes) else bytes(piece))
        while len(view) >= size - pending:
            room = size - pending
            pieces.append(view[:room])
            yield b"".join(pieces)
            pieces, pending, view = [], 0, view[room:]
        if view:
            pieces.append(view)
            pending += len(view)
    if pending:
        yield b"".join(pieces)


class SizeGuard:
    """Counts bytes as they stream and raises the moment a limit is crossed."""

    def __init__(self, max_size: int | None, expected_size: int | None) -> None:
        self.max_size = max_size
        self.expected_size = expected_size
        self.count = 0

    def add(self, n: int) -> None:
        self.count += n
        if self.max_size is not None and self.count > self.max_size:
            raise PayloadTooLargeError(
                f"upload exceeds the maximum file size of {self.max_size} bytes (MAX_STREAMING_FILE_SIZE)"
            )
        if self.expected_size is not None and self.count > self.expected_size:
            raise UploadIncompleteError(f"upload sent more than the announced {self.expected_size} bytes")

    async def watch(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """`chunks` unchanged, each counted as it arrives: a limit trips before any re-chunking buffers it."""
        async for chunk in chunks:
            self.add(len(chunk))
            yield chunk

    def finish(self) -> None:
        if self.expected_size is not None and self.count != self.expected_size:
            raise UploadIncompleteError(
                f"upload ended after {self.count} of the announced {self.expected_size} bytes"
            )
