"""Read-only snapshots of the embedded store for the query worker processes.

A second process may not open the live RocksDB directory, not even read-only: the server's
compactions delete table files under it (tried: "IO error: No such file or directory ... .sst"
within a minute of tests). `Store.backup` instead makes a checkpoint: hard links to the table
files (~100 ms here at 200k quads, most of it flushing the memtable), which no compaction of the
live store can take away. A snapshot is made only when the store changed since the last one, so
a query sees every write committed before it started. A snapshot that is no longer the newest is
deleted once no query uses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class _Snapshot:
    path: Path
    generation: int
    users: int = 0


class Snapshots:
    def __init__(self, directory: Path, backup: Callable[[Path], Awaitable[None]]) -> None:
        """`backup(target)` writes a checkpoint of the live store to the directory `target`."""
        self.directory = directory
        self._backup = backup
        self._generation = 0
        self._newest: _Snapshot | None = None
        self._lock = asyncio.Lock()

    def clear(self) -> None:
        """Remove every snapshot (at start and at close: none is in use then)."""
        shutil.rmtree(self.directory, ignore_errors=True)
        self._newest = None

    def changed(self) -> None:
        """Record that a write to the live store has completed."""
        self._generation += 1

    @contextlib.asynccontextmanager
    async def current(self) -> AsyncIterator[Path]:
        """A snapshot holding every write completed before this call, kept while the block runs."""
        snapshot = await self._fresh()
        snapshot.users += 1
        try:
            yield snapshot.path
        finally:
            snapshot.users -= 1
            self._drop_if_unused(snapshot)

    async def _fresh(self) -> _Snapshot:
        async with self._lock:  # queries arriving together share one new snapshot
            generation = self._generation
            if self._newest is not None and self._newest.generation == generation:
                return self._newest
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / uuid.uuid4().hex
            try:
                await self._backup(path)
            except BaseException:
                shutil.rmtree(path, ignore_errors=True)
                raise
            previous, self._newest = self._newest, _Snapshot(path, generation)
            if previous is not None:
                self._drop_if_unused(previous)
            return self._newest

    def _drop_if_unused(self, snapshot: _Snapshot) -> None:
        if snapshot is not self._newest and snapshot.users == 0:
            # On a worker thread, not awaited: removing a checkpoint's files took tens of ms on the
            # event loop, and a cancelled query must still release its snapshot.
            asyncio.get_running_loop().run_in_executor(None, shutil.rmtree, snapshot.path, True)
