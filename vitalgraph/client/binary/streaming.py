"""Synchronous sources and sinks of file bytes: BinaryGenerator and BinaryConsumer with their
file-path, bytes and stream implementations, and CallableGenerator for a plain generator function."""

from __future__ import annotations

import io
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

MiB = 1024 * 1024
DEFAULT_CHUNK_SIZE = 1 * MiB
PathLike = str | os.PathLike


class SourceDescription:
    """What a source of bytes can tell about them; None where unknown. Shared by sync and async generators."""

    @property
    def content_length(self) -> int | None:
        return None

    @property
    def filename(self) -> str | None:
        return None

    @property
    def content_type(self) -> str | None:
        return None

    @property
    def replayable(self) -> bool:
        """True if `generate()` can run again from the start, so a failed upload may be resent."""
        return False


class BinaryGenerator(SourceDescription, ABC):
    """A source of bytes: `generate()` yields chunks; the properties describe them when known."""

    @abstractmethod
    def generate(self) -> Iterator[bytes]:
        """Yield the bytes chunk by chunk."""


class DescribedBy(SourceDescription):
    """A description taken from another source (`self.described`): adapters describe what they wrap."""

    described: SourceDescription

    @property
    def content_length(self) -> int | None:
        return self.described.content_length

    @property
    def filename(self) -> str | None:
        return self.described.filename

    @property
    def content_type(self) -> str | None:
        return self.described.content_type

    @property
    def replayable(self) -> bool:
        return self.described.replayable


class BinaryConsumer(ABC):
    """A sink of bytes: `consume()` each chunk, then `finalize()`; on failure `abort()` instead."""

    @abstractmethod
    def consume(self, data: bytes) -> None:
        """Take the next chunk."""

    @abstractmethod
    def finalize(self) -> None:
        """All bytes arrived (and, for downloads, were verified)."""

    def abort(self) -> None:
        """The transfer failed: drop what was consumed if possible. Called instead of `finalize()`."""


class Described(SourceDescription):
    """A description given as values (the concrete generators' base)."""

    def __init__(self, filename: str | None, content_type: str | None, content_length: int | None) -> None:
        self._filename = filename
        self._content_type = content_type
        self._content_length = content_length

    @property
    def content_length(self) -> int | None:
        return self._content_length

    @property
    def filename(self) -> str | None:
        return self._filename

    @property
    def content_type(self) -> str | None:
        return self._content_type


class FilePathGenerator(Described, BinaryGenerator):
    """Reads a file from disk, `chunk_size` bytes at a time."""

    def __init__(
        self,
        file_path: PathLike,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        content_type: str | None = None,
        filename: str | None = None,
    ) -> None:
        self.file_path = Path(file_path)
        if not self.file_path.is_file():
            raise FileNotFoundError(f"no such file: {self.file_path}")
        self.chunk_size = chunk_size
        super().__init__(filename or self.file_path.name, content_type, None)

    @property
    def content_length(self) -> int:
        return self.file_path.stat().st_size

    @property
    def replayable(self) -> bool:
        return True

    def generate(self) -> Iterator[bytes]:
        with open(self.file_path, "rb") as file:
            yield from read_chunks(file, self.chunk_size)


class BytesGenerator(Described, BinaryGenerator):
    """Yields slices of bytes already in memory."""

    def __init__(
        self,
        data: bytes | bytearray | memoryview,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> None:
        self.data = memoryview(data).cast("B")
        self.chunk_size = chunk_size
        super().__init__(filename, content_type, self.data.nbytes)

    @property
    def replayable(self) -> bool:
        return True

    def generate(self) -> Iterator[bytes]:
        for start in range(0, self.data.nbytes, self.chunk_size):
            yield bytes(self.data[start : start + self.chunk_size])


class StreamGenerator(Described, BinaryGenerator):
    """Reads a binary file object. A seekable one is measured and can be replayed from where it stood."""

    def __init__(
        self,
        stream: BinaryIO,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        filename: str | None = None,
        content_type: str | None = None,
        content_length: int | None = None,
    ) -> None:
        self.stream = stream
        self.chunk_size = chunk_size
        self._start = _position_if_seekable(stream)
        if content_length is None and self._start is not None:
            content_length = stream.seek(0, os.SEEK_END) - self._start
            stream.seek(self._start)
        name = getattr(stream, "name", None)
        super().__init__(
            filename or (Path(name).name if isinstance(name, str) else None), content_type, content_length
        )

    @property
    def replayable(self) -> bool:
        return self._start is not None

    def generate(self) -> Iterator[bytes]:
        if self._start is not None:
            self.stream.seek(self._start)
        yield from read_chunks(self.stream, self.chunk_size)


class IteratorGenerator(Described, BinaryGenerator):
    """Passes on the chunks of any iterable of bytes (a list, a generator object); one pass only."""

    def __init__(
        self,
        chunks: Iterable[bytes],
        filename: str | None = None,
        content_type: str | None = None,
        content_length: int | None = None,
    ) -> None:
        self.chunks = chunks
        super().__init__(filename, content_type, content_length)

    def generate(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            if chunk:
                yield bytes(chunk)


class CallableGenerator(Described, BinaryGenerator):
    """Wraps a plain generator function: `CallableGenerator(produce, arg, ...)` yields from `produce(arg, ...)`.

    Each `generate()` calls the function again, so an upload from it can be retried.
    """

    def __init__(
        self,
        function: Callable[..., Iterable[bytes]],
        *args: Any,
        content_length: int | None = None,
        filename: str | None = None,
        content_type: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.function = function
        self.args = args
        self.kwargs = kwargs
        super().__init__(filename, content_type, content_length)

    @property
    def replayable(self) -> bool:
        return True

    def generate(self) -> Iterator[bytes]:
        for chunk in self.function(*self.args, **self.kwargs):
            if chunk:
                yield bytes(chunk)


class PumpingGenerator(DescribedBy, BinaryGenerator):
    """Passes another generator's chunks through unchanged, optionally naming and typing them anew
    (the older client's pass-through generator, used to pump one stream into an upload)."""

    def __init__(
        self, source: BinaryGenerator, filename: str | None = None, content_type: str | None = None
    ) -> None:
        self.described = source
        self._filename = filename
        self._content_type = content_type

    @property
    def filename(self) -> str | None:
        return self._filename or self.described.filename

    @property
    def content_type(self) -> str | None:
        return self._content_type or self.described.content_type

    def generate(self) -> Iterator[bytes]:
        yield from self.described.generate()


class FilePathConsumer(BinaryConsumer):
    """Writes to `<path>.part`, renamed to `path` by `finalize()`: the path holds a whole file or its old one."""

    def __init__(self, file_path: PathLike, create_dirs: bool = True) -> None:
        self.file_path = Path(file_path)
        self.part_path = self.file_path.with_name(self.file_path.name + ".part")
        self.create_dirs = create_dirs
        self._file: BinaryIO | None = None

    def consume(self, data: bytes) -> None:
        if self._file is None:
            self._open()
        self._file.write(data)  # type: ignore[union-attr]

    def finalize(self) -> None:
        if self._file is None:
            self._open()  # an empty file is still a file
        self._file.close()  # type: ignore[union-attr]
        self._file = None
        os.replace(self.part_path, self.file_path)

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self.part_path.unlink(missing_ok=True)

    def _open(self) -> None:
        if self.create_dirs:
            self.file_path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.part_path, "wb")


class ResumableFileConsumer(FilePathConsumer):
    """A `<path>.part` that outlives an interrupted run: `abort()` keeps it, with the content's ETag in
    `<path>.part.etag`, so the next run can ask for the rest (If-Range) instead of starting over."""

    def __init__(self, file_path: PathLike, create_dirs: bool = True) -> None:
        super().__init__(file_path, create_dirs)
        self.etag_path = self.part_path.with_name(self.part_path.name + ".etag")

    def kept(self) -> tuple[int, str | None]:
        """Bytes an earlier run left in the part file, and the ETag they belong to (0, None: nothing)."""
        try:
            etag = self.etag_path.read_text().strip()
            return self.part_path.stat().st_size, etag or None
        except OSError:
            return 0, None

    def kept_bytes(self, size: int, chunk_size: int) -> Iterator[bytes]:
        with open(self.part_path, "rb") as part:
            left = size
            while left and (chunk := part.read(min(chunk_size, left))):
                left -= len(chunk)
                yield chunk

    def begin(self, etag: str, keep: int) -> None:
        """Write the ETag beside the part and keep its first `keep` bytes (0: start with an empty part)."""
        if self.create_dirs:
            self.file_path.parent.mkdir(parents=True, exist_ok=True)
        self.etag_path.write_text(etag + "\n")
        self._file = open(self.part_path, "r+b" if keep else "wb")
        self._file.truncate(keep)
        self._file.seek(keep)

    def finalize(self) -> None:
        super().finalize()
        self.etag_path.unlink(missing_ok=True)

    def abort(self) -> None:
        """Keep what arrived (flushed to disk) for the next run."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def discard(self) -> None:
        self.abort()
        self.part_path.unlink(missing_ok=True)
        self.etag_path.unlink(missing_ok=True)


class BytesConsumer(BinaryConsumer):
    """Collects the bytes in memory; `get_bytes()` returns them. An io.BytesIO holds them, whose
    getvalue() hands over its buffer without copying: the file is in memory once, not twice."""

    def __init__(self) -> None:
        self._buffer = io.BytesIO()
        self._finalized = False

    def consume(self, data: bytes) -> None:
        if self._finalized:
            raise RuntimeError("consumer already finalized")
        self._buffer.write(data)

    def finalize(self) -> None:
        self._finalized = True

    def abort(self) -> None:
        self._buffer = io.BytesIO()

    def get_bytes(self) -> bytes:
        return self._buffer.getvalue()


class StreamConsumer(BinaryConsumer):
    """Writes to a binary file object; `finalize()` flushes it (and closes it if asked)."""

    def __init__(self, stream: BinaryIO, close_on_finalize: bool = False) -> None:
        self.stream = stream
        self.close_on_finalize = close_on_finalize

    def consume(self, data: bytes) -> None:
        self.stream.write(data)

    def finalize(self) -> None:
        flush = getattr(self.stream, "flush", None)
        if flush is not None:
            flush()
        if self.close_on_finalize:
            self.stream.close()


def pump_data(generator: BinaryGenerator, consumer: BinaryConsumer) -> None:
    """Copy every chunk from `generator` to `consumer`; finalize it, or abort it on failure."""
    try:
        for chunk in generator.generate():
            consumer.consume(chunk)
    except BaseException:
        consumer.abort()
        raise
    consumer.finalize()


def read_chunks(file: BinaryIO, chunk_size: int) -> Iterator[bytes]:
    while chunk := file.read(chunk_size):
        yield chunk


def _position_if_seekable(stream: BinaryIO) -> int | None:
    try:
        return stream.tell() if stream.seekable() else None
    except (AttributeError, OSError, ValueError):
        return None


def __getattr__(name: str) -> Any:
    """`create_generator` / `create_consumer` (the older client's factories) live in adapters.py,
    which builds on this module; they are importable from here as they used to be."""
    if name in ("create_generator", "create_consumer"):
        from vitalgraph.client.binary import adapters

        return getattr(adapters, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
