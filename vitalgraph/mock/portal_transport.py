"""An httpx (sync) transport that runs an async transport on a private event loop in a background
thread, through anyio's blocking portal. Safe from any thread, also one whose own loop is running.

The request body is read in the caller's thread (a user's generator stays on the thread that made it)
and handed to the loop a chunk at a time; response chunks come back the same way. The loop's thread is
a daemon, so a mock that is never closed does not keep the interpreter from exiting.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future

import anyio
import httpx
from anyio.from_thread import BlockingPortal


class PortalTransport(httpx.BaseTransport):
    def __init__(
        self, make_transport: Callable[[], httpx.AsyncBaseTransport], *, buffered_chunks: int = 2
    ) -> None:
        self._make_transport = make_transport
        self._buffered_chunks = buffered_chunks
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._portal: BlockingPortal | None = None
        self._transport: httpx.AsyncBaseTransport | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        portal, transport = self._started()
        body = _BodyPipe(self._buffered_chunks)
        loop_request = httpx.Request(
            request.method, request.url, headers=request.headers, stream=body, extensions=request.extensions
        )

        async def send() -> httpx.Response:
            try:
                return await transport.handle_async_request(loop_request)
            finally:
                body.answered()

        answer = portal.start_task_soon(send)
        self._send_body(portal, request, body, answer)
        response = answer.result()
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            request=request,
            stream=_PortalResponseStream(portal, response),
            extensions=response.extensions,
        )

    def close(self) -> None:
        with self._lock:
            if self._portal is None:
                return
            try:
                self._portal.call(self._transport.aclose)  # type: ignore[union-attr]
            finally:
                self._portal.call(self._portal.stop)
                self._thread.join()  # type: ignore[union-attr]
                self._portal = self._thread = self._transport = None

    def _started(self) -> tuple[BlockingPortal, httpx.AsyncBaseTransport]:
        with self._lock:
            if self._portal is None:
                self._portal, self._thread = _start_loop_thread()
                self._transport = self._make_transport()
            return self._portal, self._transport  # type: ignore[return-value]

    @staticmethod
    def _send_body(portal: BlockingPortal, request: httpx.Request, body: _BodyPipe, answer: Future) -> None:
        try:
            for chunk in request.stream:  # type: ignore[union-attr]
                if chunk and not portal.call(body.offer, chunk):
                    break  # the app answered without reading the rest (e.g. 413, 404)
        except Exception as exc:
            portal.call(body.fail, exc)
            with contextlib.suppress(Exception):
                answer.result()
            raise
        portal.call(body.end)


class _BodyPipe(httpx.AsyncByteStream):
    """Request body chunks from the caller's thread to the app, a few at a time."""

    def __init__(self, buffered_chunks: int) -> None:
        self._out, self._in = anyio.create_memory_object_stream[bytes](max_buffer_size=buffered_chunks)
        self._answered = False
        self._waiting: anyio.CancelScope | None = None
        self._error: BaseException | None = None

    async def offer(self, chunk: bytes) -> bool:
        """Hand over one chunk; False once the app has answered (it will read no more)."""
        if self._answered:
            return False
        with anyio.CancelScope() as self._waiting:
            await self._out.send(chunk)
            return True
        return False

    async def end(self) -> None:
        self._out.close()

    async def fail(self, error: BaseException) -> None:
        self._error = error
        self._out.close()

    def answered(self) -> None:
        self._answered = True
        if self._waiting is not None:
            self._waiting.cancel()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._in:
            yield chunk
        if self._error is not None:
            raise self._error


class _PortalResponseStream(httpx.SyncByteStream):
    def __init__(self, portal: BlockingPortal, response: httpx.Response) -> None:
        self._portal = portal
        self._response = response

    def __iter__(self) -> Iterator[bytes]:
        chunks = self._response.stream.__aiter__()  # type: ignore[union-attr]
        while (chunk := self._portal.call(_next_or_none, chunks)) is not None:
            yield chunk

    def close(self) -> None:
        self._portal.call(self._response.aclose)


def _start_loop_thread() -> tuple[BlockingPortal, threading.Thread]:
    """An asyncio loop on a daemon thread, and the portal to call into it."""
    started: Future[BlockingPortal] = Future()

    async def serve() -> None:
        async with BlockingPortal() as portal:
            started.set_result(portal)
            await portal.sleep_until_stopped()

    def run() -> None:
        try:
            anyio.run(serve, backend="asyncio")
        except BaseException as exc:  # surfaces in the caller instead of hanging it
            if not started.done():
                started.set_exception(exc)
            raise

    thread = threading.Thread(target=run, name="vitalgraph-mock-loop", daemon=True)
    thread.start()
    return started.result(), thread


async def _next_or_none(chunks: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await anext(chunks)
    except StopAsyncIteration:
        return None
