"""Turn whatever a caller passes as an upload source or download destination into a generator or
consumer of the right kind (sync for VitalGraphClient, async for AsyncVitalGraphClient)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, Iterable
from typing import Any, BinaryIO, Union

from vitalgraph.client.binary.async_streaming import (
    AsyncBinaryConsumer,
    AsyncBinaryGenerator,
    AsyncBytesGenerator,
    AsyncFilePathConsumer,
    AsyncFilePathGenerator,
    AsyncStreamConsumer,
    AsyncStreamGenerator,
    SyncConsumerAdapter,
    SyncGeneratorAdapter,
)
from vitalgraph.client.binary.streaming import (
    DEFAULT_CHUNK_SIZE,
    BinaryConsumer,
    BinaryGenerator,
    BytesConsumer,
    BytesGenerator,
    FilePathConsumer,
    FilePathGenerator,
    IteratorGenerator,
    PumpingGenerator,
    StreamConsumer,
    StreamGenerator,
)

UploadSource = Union[
    str,
    os.PathLike,
    bytes,
    bytearray,
    memoryview,
    BinaryIO,
    Iterable[bytes],
    AsyncIterable[bytes],
    BinaryGenerator,
    AsyncBinaryGenerator,
]
Destination = Union[str, os.PathLike, BinaryIO, BinaryConsumer, AsyncBinaryConsumer]
_BYTES = (bytes, bytearray, memoryview)


def as_binary_generator(source: UploadSource, chunk_size: int) -> BinaryGenerator:
    """A path, bytes, a file object, an iterable or generator of bytes, or a BinaryGenerator."""
    if isinstance(source, BinaryGenerator):
        return source
    if isinstance(source, (AsyncBinaryGenerator, AsyncIterable)):
        raise TypeError("an async source needs AsyncVitalGraphClient; VitalGraphClient takes sync sources")
    if isinstance(source, (str, os.PathLike)):
        return FilePathGenerator(source, chunk_size)
    if isinstance(source, _BYTES):
        return BytesGenerator(source, chunk_size)
    if hasattr(source, "read"):
        return StreamGenerator(source, chunk_size)  # type: ignore[arg-type]
    if isinstance(source, Iterable):
        return IteratorGenerator(source)
    raise TypeError(f"cannot upload from a {type(source).__name__}")


def as_async_binary_generator(source: UploadSource, chunk_size: int) -> AsyncBinaryGenerator:
    """Everything `as_binary_generator` takes, plus async iterables and AsyncBinaryGenerators."""
    if isinstance(source, AsyncBinaryGenerator):
        return source
    if isinstance(source, BinaryGenerator):
        return SyncGeneratorAdapter(
            source, offload=not isinstance(source, BytesGenerator), batch_bytes=chunk_size
        )
    if isinstance(source, (str, os.PathLike)):
        return AsyncFilePathGenerator(source, chunk_size)
    if isinstance(source, _BYTES):
        return AsyncBytesGenerator(source, chunk_size)
    if hasattr(source, "read") or isinstance(source, AsyncIterable):
        return AsyncStreamGenerator(source, chunk_size)
    if isinstance(source, Iterable):
        return SyncGeneratorAdapter(
            IteratorGenerator(source), batch_bytes=chunk_size
        )  # may block: off the loop
    raise TypeError(f"cannot upload from a {type(source).__name__}")


def as_binary_consumer(destination: Destination) -> BinaryConsumer:
    """A path, a binary file object, or a BinaryConsumer."""
    if isinstance(destination, BinaryConsumer):
        return destination
    if isinstance(destination, AsyncBinaryConsumer):
        raise TypeError(
            "an async consumer needs AsyncVitalGraphClient; VitalGraphClient takes sync consumers"
        )
    if isinstance(destination, (str, os.PathLike)):
        return FilePathConsumer(destination)
    if hasattr(destination, "write"):
        return StreamConsumer(destination)  # type: ignore[arg-type]
    raise TypeError(f"cannot download into a {type(destination).__name__}")


def as_async_binary_consumer(destination: Destination | Any) -> AsyncBinaryConsumer:
    """Everything `as_binary_consumer` takes (sync consumers run in a worker thread), or an AsyncBinaryConsumer."""
    if isinstance(destination, AsyncBinaryConsumer):
        return destination
    if isinstance(destination, BinaryConsumer):
        return SyncConsumerAdapter(destination, offload=not isinstance(destination, BytesConsumer))
    if isinstance(destination, (str, os.PathLike)):
        return AsyncFilePathConsumer(destination)
    if hasattr(destination, "write"):
        return AsyncStreamConsumer(destination)
    raise TypeError(f"cannot download into a {type(destination).__name__}")


def destination_path(destination: Any) -> os.PathLike | str | None:
    """The file a destination writes, if it is a path or a path consumer."""
    if isinstance(destination, (str, os.PathLike)):
        return destination
    inner = getattr(destination, "sync_consumer", destination)
    return getattr(inner, "file_path", None) if isinstance(inner, FilePathConsumer) else None


# --- the older client's factory functions -----------------------------------------------------------
def create_generator(
    source: UploadSource,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    filename: str | None = None,
    content_type: str | None = None,
) -> BinaryGenerator:
    """A BinaryGenerator for a path, bytes, a file object, an iterable of bytes or a BinaryGenerator,
    named and typed by `filename` / `content_type` when given."""
    generator = as_binary_generator(source, chunk_size)
    return PumpingGenerator(generator, filename, content_type) if filename or content_type else generator


def create_consumer(destination: Destination) -> BinaryConsumer:
    """A BinaryConsumer for a path, a binary file object or a BinaryConsumer; None gives a BytesConsumer."""
    return BytesConsumer() if destination is None else as_binary_consumer(destination)


def create_async_generator(
    source: UploadSource,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    filename: str | None = None,
    content_type: str | None = None,
) -> AsyncBinaryGenerator:
    """An AsyncBinaryGenerator for everything `create_generator` takes, plus async iterables and generators."""
    if isinstance(source, AsyncIterable) and not isinstance(source, AsyncBinaryGenerator):
        return AsyncStreamGenerator(source, chunk_size, filename, content_type)
    if isinstance(source, BinaryGenerator) and (filename or content_type):
        source = PumpingGenerator(source, filename, content_type)
    elif filename or content_type:
        if isinstance(source, (str, os.PathLike, bytes, bytearray, memoryview)) or hasattr(source, "read"):
            source = create_generator(source, chunk_size, filename, content_type)
    return as_async_binary_generator(source, chunk_size)


def create_async_consumer(destination: Destination) -> AsyncBinaryConsumer:
    """An AsyncBinaryConsumer for a path, a file object, or a (sync or async) consumer."""
    return as_async_binary_consumer(destination)
