"""Helpers shared by blob stores: re-chunking a byte stream and counting it against limits."""

from __future__ import annotations

from collections.abc import AsyncIterator

from vitalgraph.services.errors import PayloadTooLargeError, UploadIncompleteError


async def rechunk(chunks: AsyncIterator[bytes], size: int) -> AsyncIterator[bytes]:
    """Re-cut a stream of small pieces (uvicorn hands over ~64 KiB) into blocks of `size`.

    Fewer, larger blocks make each hand-off to a worker thread worth its cost. The last block may be shorter.
    """
    pending = bytearray()
    async for piece in chunks:
        if not pending and len(piece) == size:
            yield piece
            continue
        pending += piece
        while len(pending) >= size:
            yield bytes(pending[:size])
            del pending[:size]
    if pending:
        yield bytes(pending)


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
            raise UploadIncompleteError(
                f"upload sent more than the announced {self.expected_size} bytes"
            )

    def finish(self) -> None:
        if self.expected_size is not None and self.count != self.expected_size:
            raise UploadIncompleteError(
                f"upload ended after {self.count} of the announced {self.expected_size} bytes"
            )
