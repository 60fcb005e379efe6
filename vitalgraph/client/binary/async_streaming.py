"""Asynchronous sources and sinks of file bytes: AsyncBinaryGenerator and AsyncBinaryConsumer, same shapes
as the sync ones. File I/O runs in worker threads (anyio), so the event loop never blocks on disk.

The file and stream implementations reuse the sync classes and only move their calls off the loop.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from typing import Any, BinaryIO

import anyio.to_thread

from vitalgraph.client.binary.streaming import (
    DEFAULT_CHUNK_SIZE,
    BinaryConsumer,
    BinaryGenerator,
    BytesConsumer,
    BytesGenerator,
    Described,
    DescribedBy,
    FilePathConsumer,
    FilePathGenerator,
    PathLike,
    SourceDescription,
    StreamGenerator,
)


class AsyncBinaryGenerator(SourceDescription, ABC):
    """An async source of bytes: `generate()` is an async iterator of chunks; the properties describe them."""

    @abstractmethod
    def generate(self) -> AsyncIterator[bytes]:
        """Yield the bytes chunk by chunk (write it as an `async def` with `yield`)."""


class AsyncBinaryConsumer(ABC):
    """An async sink of bytes: `await consume()` each chunk, then `await finalize()` (or `abort()`)."""

    @abstractmethod
    async def consume(self, data: bytes) -> None:
        """Take the next chunk."""

    @abstractmethod
    async def finalize(self) -> None:
        """All bytes arrived (and, for downloads, were verified)."""

    async def abort(self) -> None:
        """The transfer failed: drop what was consumed if possible. Called instead of `finalize()`."""


class SyncGeneratorAdapter(DescribedBy, AsyncBinaryGenerator):
    """Runs a sync BinaryGenerator for async callers, pulling its chunks in a worker thread.

    Each thread hop collects at least `batch_bytes`, so small chunks do not cost a hop each.
    `offload=False` iterates inline, for generators that never block (bytes in memory).
    """

    def __init__(
        self, generator: BinaryGenerator, *, offload: bool = True, batch_bytes: int = DEFAULT_CHUNK_SIZE
    ):
        self.sync_generator = self.described = generator
        self.offload = offload
        self.batch_bytes = batch_bytes

    async def generate(self) -> AsyncIterator[bytes]:
        if not self.offload:
            for chunk in self.sync_generator.generate():
                yield chunk
            return
        chunks = await anyio.to_thread.run_sync(lambda: iter(self.sync_generator.generate()))
        try:
            while batch := await anyio.to_thread.run_sync(_next_batch, chunks, self.batch_bytes):
                for chunk in batch:
                    yield chunk
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                await anyio.to_thread.run_sync(close)


class AsyncFilePathGenerator(SyncGeneratorAdapter):
    """Reads a file from disk in a worker thread."""

    def __init__(
        self,
        file_path: PathLike,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        content_type: str | None = None,
        filename: str | None = None,
    ) -> None:
        super().__init__(
            FilePathGenerator(file_path, chunk_size, content_type, filename), batch_bytes=chunk_size
        )


class AsyncBytesGenerator(SyncGeneratorAdapter):
    """Yields slices of bytes already in memory (no thread needed)."""

    def __init__(
        self,
        data: bytes | bytearray | memoryview,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> None:
        super().__init__(BytesGenerator(data, chunk_size, filename, content_type), offload=False)


class AsyncStreamGenerator(DescribedBy, AsyncBinaryGenerator):
    """Reads an async iterable of bytes, an object with `async def read(n)`, or a sync binary file object
    (read in a worker thread; replayable when seekable)."""

    def __init__(
        self,
        stream: AsyncIterable[bytes] | BinaryIO | Any,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        filename: str | None = None,
        content_type: str | None = None,
        content_length: int | None = None,
    ) -> None:
        self.stream = stream
        self.chunk_size = chunk_size
        read = getattr(stream, "read", None)
        self._sync_file: SyncGeneratorAdapter | None = None
        if read is not None and not inspect.iscoroutinefunction(read):
            self._sync_file = SyncGeneratorAdapter(
                StreamGenerator(stream, chunk_size, filename, content_type, content_length),
                batch_bytes=chunk_size,
            )
            self.described: SourceDescription = self._sync_file
        elif read is not None or isinstance(stream, AsyncIterable):
            self.described = Described(filename, content_type, content_length)
        else:
            raise TypeError(
                f"expected an async iterable of bytes or a binary file object, got {type(stream).__name__}"
            )

    async def generate(self) -> AsyncIterator[bytes]:
        if self._sync_file is not None:
            source: AsyncIterator[bytes] = self._sync_file.generate()
        elif hasattr(self.stream, "read"):
            source = _read_async_file(self.stream, self.chunk_size)
        else:
            source = aiter(self.stream)
        async for chunk in source:
            if chunk:
                yield bytes(chunk)


class SyncConsumerAdapter(AsyncBinaryConsumer):
    """Runs a sync BinaryConsumer for async callers, each call in a worker thread (unless `offload=False`)."""

    def __init__(self, consumer: BinaryConsumer, *, offload: bool = True) -> None:
        self.sync_consumer = consumer
        self.offload = offload

    async def consume(self, data: bytes) -> None:
        await self._run(self.sync_consumer.consume, data)

    async def finalize(self) -> None:
        await self._run(self.sync_consumer.finalize)

    async def abort(self) -> None:
        await self._run(self.sync_consumer.abort)

    async def _run(self, method: Any, *args: Any) -> None:
        if self.offload:
            await anyio.to_thread.run_sync(method, *args)
        else:
            method(*args)


class AsyncFilePathConsumer(SyncConsumerAdapter):
    """Writes `<path>.part` in a worker thread, renamed to `path` on `finalize()`, removed on `abort()`."""

    def __init__(self, file_path: PathLike, create_dirs: bool = True) -> None:
        super().__init__(FilePathConsumer(file_path, create_dirs))

    @property
    def file_path(self) -> Any:
        return self.sync_consumer.file_path  # type: ignore[attr-defined]


class AsyncBytesConsumer(SyncConsumerAdapter):
    """Collects the bytes in memory; `get_bytes()` returns them."""

    def __init__(self) -> None:
        super().__init__(BytesConsumer(), offload=False)

    def get_bytes(self) -> bytes:
        return self.sync_consumer.get_bytes()  # type: ignore[attr-defined]


class AsyncStreamConsumer(AsyncBinaryConsumer):
    """Writes to a file object: `await write()` if its write is async, else a sync write in a worker thread."""

    def __init__(self, stream: Any, close_on_finalize: bool = False) -> None:
        self.stream = stream
        self.close_on_finalize = close_on_finalize

    async def consume(self, data: bytes) -> None:
        await self._call("write", data)

    async def finalize(self) -> None:
        await self._call("flush")
        if self.close_on_finalize:
            await self._call("close")

    async def _call(self, name: str, *args: Any) -> None:
        method = getattr(self.stream, name, None)
        if method is None:
            return
        if inspect.iscoroutinefunction(method):
            await method(*args)
        else:
            await anyio.to_thread.run_sync(method, *args)


async def pump_data_async(generator: AsyncBinaryGenerator, consumer: AsyncBinaryConsumer) -> None:
    """Copy every chunk from `generator` to `consumer`; finalize it, or abort it on failure."""
    try:
        async for chunk in generator.generate():
            await consumer.consume(chunk)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await consumer.abort()
        raise
    await consumer.finalize()


def _next_batch(chunks: Iterator[bytes], batch_bytes: int) -> list[bytes]:
    batch: list[bytes] = []
    size = 0
    for chunk in chunks:
        if chunk:
            batch.append(chunk)
            size += len(chunk)
            if size >= batch_bytes:
                break
    return batch


async def _read_async_file(stream: Any, chunk_size: int) -> AsyncIterator[bytes]:
    while chunk := await stream.read(chunk_size):
        yield chunk


def __getattr__(name: str) -> Any:
    """`create_async_generator` / `create_async_consumer` (the older client's factories) live in
    adapters.py; they are importable from here as they used to be."""
    if name in ("create_async_generator", "create_async_consumer"):
        from vitalgraph.client.binary import adapters

        return getattr(adapters, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
