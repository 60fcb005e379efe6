"""Idle timeouts for transfers: a client that keeps its connection open but stops sending (upload) or
reading (download) is cut off after a while, so it cannot hold a file, an S3 stream or a staging
upload forever.

Only time spent waiting for the client counts. One timer per transfer, re-armed at most once per
timeout, instead of a timeout scope around every chunk: at 1 GiB that is ~16,000 pieces, and a scope
per piece cost 5–9 % of the transfer rate here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


class IdleTimeout(Exception):
    """Waited `seconds` for the client without progress."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no progress for {seconds:g} s")
        self.seconds = seconds


class IdleWatchdog:
    """`await watchdog.wait(awaitable)` runs it, raising IdleTimeout if it takes `seconds` or longer."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._waiting_since: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task | None = None
        self._fired = False

    async def wait(self, awaitable: Awaitable[T]) -> T:
        loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._waiting_since = loop.time()
        if self._timer is None:
            self._timer = loop.call_later(self.seconds, self._check)
        try:
            return await awaitable
        except asyncio.CancelledError:
            if self._fired:
                self._fired = False
                # Ours alone (no other cancellation pending): a timeout, and the task goes on uncancelled.
                if self._task is not None and self._task.uncancel() == 0:
                    raise IdleTimeout(self.seconds) from None
            raise
        finally:
            self._waiting_since = None

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check(self) -> None:
        self._timer = None
        if self._waiting_since is None:
            return  # not waiting now: the next wait arms a new timer
        loop = asyncio.get_running_loop()
        waited = loop.time() - self._waiting_since
        if waited >= self.seconds and self._task is not None:
            self._fired = True
            self._task.cancel()
        else:
            self._timer = loop.call_later(self.seconds - waited, self._check)
