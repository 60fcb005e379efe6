"""Blob store on a local directory.

Writes go to `.staging/<random>.part`, are fsynced and renamed into place only when complete, so a
reader never sees a partial object; the directory holding the new name (and any directory created
for it) is fsynced too, so an acknowledged write survives a crash or power loss. Disk work and hashing
run on a small private thread pool, one
block in flight while the event loop receives the next, so neither blocks the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import anyio

from vitalgraph import tracing
from vitalgraph.blobs.base import BlobStat, BlobStore, PinnedBlob, WrittenBlob, check_key, check_prefix
from vitalgraph.blobs.chunking import SizeGuard, rechunk
from vitalgraph.blobs.resumable import (
    AppendCounter,
    ResumableUploads,
    RunningDigests,
    check_offset,
    check_upload_id,
)
from vitalgraph.config import Settings
from vitalgraph.errors import NotFoundError, StorageUnavailableError

T = TypeVar("T")
STAGING_DIR = ".staging"
RESUMABLE_PREFIX = "tus-"  # resumable uploads in staging: tus-<id>.upload (bytes) and tus-<id>.key
# Writes block by block: alone, `chunk_size` blocks (fewest hand-offs, fastest single upload); once more
# than CROWDED_WRITES run at once, blocks of at most CROWDED_BLOCK. Measured with 50 concurrent 100 MiB
# transfers: 1 MiB blocks held a metadata GET's p99 at 70 ms, 128 KiB blocks at 22 ms with more total
# throughput; alone, 128 KiB blocks upload ~15 % slower (docs/performance.md, "Under load").
CROWDED_WRITES = 4
CROWDED_BLOCK = 128 * 1024


class LocalBlobStore(ResumableUploads, BlobStore):
    def __init__(
        self,
        root: Path,
        *,
        chunk_size: int = 1024 * 1024,
        io_threads: int = 16,
        records_dir: Path | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        self.staging = self.root / STAGING_DIR
        self.records_dir = records_dir or self.staging  # resumable uploads' records, `<id>.json`
        self.chunk_size = chunk_size
        self._executor = ThreadPoolExecutor(max_workers=io_threads, thread_name_prefix="blob-io")
        self._digests = RunningDigests()
        self._writes_in_flight = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalBlobStore:
        return cls(
            settings.DATA_DIR / "blobs",
            chunk_size=settings.STREAMING_CHUNK_SIZE,
            records_dir=settings.DATA_DIR / "tus",
        )

    async def open(self) -> None:
        try:
            await self._run(self.staging.mkdir, parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageUnavailableError(
                f"blob directory {self.root} is not usable: {exc.strerror}"
            ) from exc

    async def close(self) -> None:
        self._executor.shutdown(wait=True)

    async def check(self) -> None:
        problem = await self._run(_directory_problem, self.staging)
        if problem:
            raise StorageUnavailableError(f"blob directory {self.root}: {problem}")

    def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> asyncio.Future[T]:
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def _write(self, key: str, chunks: AsyncIterator[bytes], guard: SizeGuard) -> WrittenBlob:
        final_path = self._path(key)
        sink = _StagedFile(self.staging / f"{uuid.uuid4().hex}.part")
        await self._run(sink.open)
        try:
            with self._counted_write() as block_size:
                await self._append_pipelined(rechunk(guard.watch(chunks), block_size), sink.append)
            guard.finish()
            digest = await self._run(sink.commit, final_path)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._run(sink.discard)
            raise
        return WrittenBlob(key=key, size=guard.count, sha256=digest)

    async def copy(self, source_key: str, target_key: str) -> WrittenBlob:
        """A hard link when the filesystem allows one (blobs are never modified, so sharing the inode is
        safe), else a byte copy; staged, then renamed into place durably like a write. The SHA-256 is
        read back from the copy, so the caller can check it against the source's."""
        source, final_path = self._path(source_key), self._path(target_key)
        staged = self.staging / f"{uuid.uuid4().hex}.part"
        try:
            await self._run(_link_or_copy, source, staged)
            digest = await self._run(_sha256_of_file, staged)
            size = (await self._run(staged.stat)).st_size
            await self._run(_move_into_place, staged, final_path)
        except FileNotFoundError:
            raise NotFoundError(f"blob {source_key} not found") from None
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._run(staged.unlink, missing_ok=True)
            raise
        return WrittenBlob(key=target_key, size=size, sha256=digest)

    @contextlib.contextmanager
    def _counted_write(self) -> Iterator[int]:
        """Count this write as in flight; give the block size it should use (see CROWDED_WRITES)."""
        self._writes_in_flight += 1
        try:
            crowded = self._writes_in_flight > CROWDED_WRITES
            yield min(self.chunk_size, CROWDED_BLOCK) if crowded else self.chunk_size
        finally:
            self._writes_in_flight -= 1

    async def _append_pipelined(self, blocks: AsyncIterator[bytes], append: Callable[[bytes], None]) -> None:
        """`append` each block on the I/O pool while the next one arrives; on failure, wait for the
        block in flight (the thread may still hold the file) before raising."""
        in_flight: asyncio.Future[None] | None = None
        try:
            async for block in blocks:
                if in_flight is not None:
                    await in_flight
                in_flight = self._run(append, block)
            if in_flight is not None:
                await in_flight
        except BaseException:
            if in_flight is not None:
                with anyio.CancelScope(shield=True):
                    await asyncio.wait([in_flight])
            raise

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            handle = await self._run(open, path, "rb")
        except FileNotFoundError:
            raise NotFoundError(f"blob {key} not found") from None
        next_read: asyncio.Future[bytes] | None = None
        try:
            size = os.fstat(handle.fileno()).st_size
            last = size - 1 if end is None else min(end, size - 1)
            remaining = last - start + 1
            handle.seek(start)
            if remaining > 0:
                next_read = self._run(handle.read, min(self.chunk_size, remaining))
            while next_read is not None:
                data = await next_read
                next_read = None
                if not data:
                    raise StorageUnavailableError(f"blob {key} is shorter than expected")
                remaining -= len(data)
                if remaining > 0:  # read ahead while the caller sends this block
                    next_read = self._run(handle.read, min(self.chunk_size, remaining))
                yield data
        finally:
            if next_read is not None and not next_read.done():
                next_read.add_done_callback(lambda _: handle.close())
            else:
                handle.close()

    async def open_pinned(self, key: str) -> PinnedBlob:
        """An open file descriptor: a release (unlink) meanwhile does not touch the bytes it reads."""
        try:
            fd = await self._run(os.open, self._path(key), os.O_RDONLY)
        except FileNotFoundError:
            raise NotFoundError(f"blob {key} not found") from None
        info = os.fstat(fd)
        return _LocalPinned(BlobStat(key, info.st_size, _utc(info.st_mtime)), fd, self)

    async def stat(self, key: str) -> BlobStat:
        try:
            info = await self._run(os.stat, self._path(key))
        except FileNotFoundError:
            raise NotFoundError(f"blob {key} not found") from None
        return BlobStat(key=key, size=info.st_size, modified=_utc(info.st_mtime))

    async def delete(self, key: str) -> bool:
        try:
            await self._run(os.unlink, self._path(key))
        except FileNotFoundError:
            return False
        return True

    async def delete_prefix(self, prefix: str) -> int:
        target = self.root / check_prefix(prefix) if prefix else None
        return await self._run(_remove_tree_files, self.root, target)

    async def list_keys(self, prefix: str = "") -> AsyncIterator[BlobStat]:
        check_prefix(prefix)
        for stat in await self._run(_walk_blobs, self.root, prefix):
            yield stat

    async def clean_staging(self, older_than_seconds: float) -> int:
        return await self._run(_remove_old_files, self.staging, older_than_seconds)

    # ---------------------------------------------------------------- resumable uploads

    def _staged(self, upload_id: str, suffix: str) -> Path:
        return self.staging / f"{RESUMABLE_PREFIX}{check_upload_id(upload_id)}.{suffix}"

    async def begin_upload(self, upload_id: str, key: str) -> None:
        check_key(key)
        await self._run(
            _create_staged_upload, self._staged(upload_id, "upload"), self._staged(upload_id, "key"), key
        )

    async def upload_offset(self, upload_id: str) -> int:
        try:
            return (await self._run(os.stat, self._staged(upload_id, "upload"))).st_size
        except FileNotFoundError:
            raise NotFoundError(f"no staged upload {upload_id}") from None

    async def _append(
        self, upload_id: str, offset: int, chunks: AsyncIterator[bytes], counter: AppendCounter
    ) -> int:
        check_offset(offset, await self.upload_offset(upload_id))
        check = counter.check
        sink = _Appender(self._staged(upload_id, "upload"), offset, counter)
        await self._run(sink.open)
        try:
            with self._counted_write() as block_size:
                await self._append_pipelined(_admitted(rechunk(chunks, block_size), counter), sink.append)
            if check is not None:
                check.verify()
        except BaseException:
            with anyio.CancelScope(shield=True):
                keep = check is None  # without a checksum, what arrived counts (tus); with one, nothing
                await self._run(sink.close, keep)
                if keep:
                    self._digests.commit(upload_id, counter.digest, offset + counter.written)
            raise
        await self._run(sink.close, True)
        return offset + counter.written

    async def finish_upload(self, upload_id: str) -> WrittenBlob:
        staged, key_file = self._staged(upload_id, "upload"), self._staged(upload_id, "key")
        try:
            key = (await self._run(key_file.read_text)).strip()
        except FileNotFoundError:
            raise NotFoundError(f"no staged upload {upload_id}") from None
        size = await self.upload_offset(upload_id)
        digest = self._digests.take(upload_id, size) or await self._run(_sha256_of_file, staged)
        await self._run(_move_into_place, staged, self._path(key))
        await self._run(key_file.unlink, missing_ok=True)
        return WrittenBlob(key=key, size=size, sha256=digest)

    async def terminate_upload(self, upload_id: str) -> bool:
        self._digests.forget(upload_id)
        staged, key_file = self._staged(upload_id, "upload"), self._staged(upload_id, "key")
        existed = await self._run(staged.exists)
        await self._run(staged.unlink, missing_ok=True)
        await self._run(key_file.unlink, missing_ok=True)
        return existed

    async def staged_upload_ids(self) -> list[str]:
        names = await self._run(lambda: [p.name for p in self.staging.glob(f"{RESUMABLE_PREFIX}*.key")])
        return [name[len(RESUMABLE_PREFIX) : -len(".key")] for name in names]

    def _record_path(self, upload_id: str) -> Path:
        return self.records_dir / f"{check_upload_id(upload_id)}.json"

    async def save_record(self, upload_id: str, record: dict[str, Any]) -> None:
        await self._run(_write_json_atomically, self._record_path(upload_id), record)

    async def load_record(self, upload_id: str) -> dict[str, Any] | None:
        try:
            return json.loads(await self._run(self._record_path(upload_id).read_text))
        except FileNotFoundError:
            return None

    async def remove_record(self, upload_id: str) -> None:
        await self._run(self._record_path(upload_id).unlink, missing_ok=True)

    async def record_ids(self) -> list[str]:
        directory = self.records_dir
        return await self._run(
            lambda: [p.stem for p in directory.glob("*.json")] if directory.exists() else []
        )


class _LocalPinned(PinnedBlob):
    def __init__(self, stat: BlobStat, fd: int, store: LocalBlobStore) -> None:
        super().__init__(stat)
        self._fd: int | None = fd
        self._store = store

    async def read(self, start: int, end: int) -> AsyncIterator[bytes]:
        fd = self._fd
        if fd is None:
            raise RuntimeError(f"pinned blob {self.stat.key} is closed")
        last = min(end, self.stat.size - 1)
        position, chunk_size = start, self._store.chunk_size
        next_read: asyncio.Future[bytes] | None = None
        if position <= last:
            next_read = self._store._run(os.pread, fd, min(chunk_size, last - position + 1), position)
        try:
            while next_read is not None:
                data = await next_read
                next_read = None
                if not data:
                    raise StorageUnavailableError(f"blob {self.stat.key} is shorter than expected")
                position += len(data)
                if position <= last:  # read ahead while the caller sends this block
                    next_read = self._store._run(os.pread, fd, min(chunk_size, last - position + 1), position)
                yield data
        finally:
            if next_read is not None:
                with anyio.CancelScope(shield=True):
                    await asyncio.wait([next_read])  # the descriptor must outlive its last read

    async def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __del__(self) -> None:  # a response that was never sent still lets its descriptor go
        if self._fd is not None:
            os.close(self._fd)


async def _admitted(blocks: AsyncIterator[bytes], counter: AppendCounter) -> AsyncIterator[bytes]:
    """The blocks, each refused (PayloadTooLargeError) before it is written if it goes past the limit."""
    async for block in blocks:
        counter.admit(len(block))
        yield block


class _Appender:
    """Appends one request's blocks to a staged upload; runs on the I/O thread pool."""

    def __init__(self, path: Path, offset: int, counter: AppendCounter) -> None:
        self.path = path
        self.offset = offset
        self.counter = counter
        self.handle: Any = None

    def open(self) -> None:
        self.handle = open(self.path, "r+b")
        self.handle.seek(self.offset)

    def append(self, block: bytes) -> None:
        self.handle.write(block)
        self.counter.hashed(block)

    def close(self, keep: bool) -> None:
        """Keep the blocks fully written (fsynced), or cut the file back to where this append began."""
        self.handle.truncate(self.offset + self.counter.written if keep else self.offset)
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()


def _write_json_atomically(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    with open(temp, "w") as handle:
        json.dump(document, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def _create_staged_upload(staged: Path, key_file: Path, key: str) -> None:
    staged.parent.mkdir(parents=True, exist_ok=True)
    with open(staged, "xb"):
        pass
    key_file.write_text(key)


def _move_into_place(staged: Path, final_path: Path) -> None:
    """Rename a staged (already fsynced) upload to its key, durably, like `_StagedFile.commit`."""
    _make_dirs_durably(final_path.parent)
    os.replace(staged, final_path)
    _fsync_dir(final_path.parent)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        shutil.copyfile(source, target)  # another filesystem, or links not allowed: copy the bytes
        with open(target, "rb+") as handle:
            os.fsync(handle.fileno())


def _sha256_of_file(path: Path, block_size: int = 4 * 1024 * 1024) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(block_size):
            hasher.update(block)
    return hasher.hexdigest()


class _StagedFile:
    """A file being written in staging; all methods run on the I/O thread pool."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.hasher = hashlib.sha256()
        self.handle: Any = None
        self.stages = tracing.stage_times()  # made on the event loop; the I/O threads add to it

    def open(self) -> None:
        self.handle = open(self.path, "xb")

    def append(self, block: bytes) -> None:
        if self.stages is None:
            self.hasher.update(block)
            self.handle.write(block)
            return
        with self.stages.timed("hash"):
            self.hasher.update(block)
        with self.stages.timed("store"):
            self.handle.write(block)

    def commit(self, final_path: Path) -> str:
        with self.stages.timed("store") if self.stages else contextlib.nullcontext():
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()
            _make_dirs_durably(final_path.parent)
            os.replace(self.path, final_path)
            _fsync_dir(final_path.parent)  # the rename itself is durable only once its directory is synced
        return self.hasher.hexdigest()

    def discard(self) -> None:
        if self.handle is not None and not self.handle.closed:
            self.handle.close()
        self.path.unlink(missing_ok=True)


def _directory_problem(path: Path) -> str | None:
    if not path.is_dir():
        return f"{path} is missing"
    if not os.access(path, os.W_OK | os.X_OK):
        return f"{path} is not writable"
    return None


def _make_dirs_durably(path: Path) -> None:
    """mkdir -p, syncing the parent of each directory it creates so a crash cannot lose the entry."""
    missing = []
    while not path.is_dir():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        directory.mkdir(exist_ok=True)
        _fsync_dir(directory.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def _walk_blobs(root: Path, prefix: str) -> list[BlobStat]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != STAGING_DIR]
        for name in filenames:
            path = Path(dirpath, name)
            key = path.relative_to(root).as_posix()
            if key.startswith(prefix):
                info = path.stat()
                found.append(BlobStat(key=key, size=info.st_size, modified=_utc(info.st_mtime)))
    return found


def _remove_tree_files(root: Path, target: Path | None) -> int:
    if target is None:
        stats = _walk_blobs(root, "")
        for stat in stats:
            (root / stat.key).unlink(missing_ok=True)
        return len(stats)
    if not target.exists():
        return 0
    count = sum(len(files) for _, _, files in os.walk(target))
    shutil.rmtree(target, ignore_errors=True)
    return count


def _remove_old_files(directory: Path, older_than_seconds: float) -> int:
    cutoff = time.time() - older_than_seconds
    removed = 0
    for path in directory.glob("*.part"):
        try:
            if path.stat().st_mtime <= cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            pass
    return removed
