"""Graceful shutdown: uploads are aborted at once, downloads may finish until the grace deadline.

On SIGTERM uvicorn stops accepting connections and waits up to `timeout_graceful_shutdown`
(SHUTDOWN_GRACE_SECONDS) for running requests, then cancels them. That suits downloads. An upload,
though, could hold the process for as long as its client cares to send, and whatever it wrote would
be thrown away at the deadline anyway: so every upload runs in a cancel scope that the first moment
of shutdown cancels. The blob store then discards its staging file or multipart upload, the file
node keeps its previous content, and the client gets a 503 telling it to retry.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator

import anyio
import uvicorn

from vitalgraph.errors import ServerShuttingDownError

logger = logging.getLogger("vitalgraph.shutdown")


class ShutdownCoordinator:
    def __init__(self) -> None:
        self.draining = False
        self._uploads: set[anyio.CancelScope] = set()

    @contextlib.contextmanager
    def upload(self) -> Iterator[None]:
        """Run an upload so that `begin_drain` can abort it; it then raises ServerShuttingDownError."""
        if self.draining:
            raise ServerShuttingDownError(
                "server is shutting down: upload refused, retry on another instance"
            )
        scope = anyio.CancelScope()
        self._uploads.add(scope)
        try:
            with scope:
                yield
        finally:
            self._uploads.discard(scope)
        if scope.cancelled_caught:
            raise ServerShuttingDownError("server is shutting down: upload aborted and nothing stored, retry")

    def begin_drain(self) -> None:
        if self.draining:
            return
        self.draining = True
        if self._uploads:
            logger.warning("shutting down: aborting %d upload(s) in flight", len(self._uploads))
        for scope in list(self._uploads):
            scope.cancel()


class GracefulServer(uvicorn.Server):
    """uvicorn's server, telling the app the moment shutdown begins (before connections drain) and
    closing the stores once it has drained.

    The stores must close here, inside `serve()`: after a SIGTERM uvicorn re-raises the signal as
    `serve()` returns, which ends the process before any code after it could run.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        on_shutdown: Callable[[], None],
        after_shutdown: Callable[[], Awaitable[None]],
    ) -> None:
        super().__init__(config)
        self._on_shutdown = on_shutdown
        self._after_shutdown = after_shutdown

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._on_shutdown()
        try:
            await super().shutdown(sockets)
        finally:
            await self._after_shutdown()
