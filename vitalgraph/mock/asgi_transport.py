"""An httpx transport that calls an ASGI app in the same event loop, streaming both ways.

httpx.ASGITransport reads the whole response body before returning it; here the app runs as its own
task and its `send` feeds the response stream through a bounded queue, so a download of any size
holds a few chunks at a time, and the request body is pulled from the caller's stream as the app
reads it. Behaves like a server on a socket: a response cut short raises httpx.RemoteProtocolError,
an app that fails before answering gives a 500, and closing a response early disconnects the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import unquote

import anyio
import httpx

logger = logging.getLogger("vitalgraph.mock")

ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]
_INTERNAL_ERROR = b'{"detail": "Internal Server Error"}'


class StreamingASGITransport(httpx.AsyncBaseTransport):
    """`buffered_chunks` response chunks may wait for the reader before the app has to wait too."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        buffered_chunks: int = 2,
        on_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.app = app
        self.buffered_chunks = buffered_chunks
        self._on_close = on_close

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        exchange = _Exchange(self.app, request, self.buffered_chunks)
        return await exchange.start()

    async def aclose(self) -> None:
        if self._on_close is not None:
            await self._on_close()


class _Exchange:
    """One request/response between the caller and the app task."""

    def __init__(self, app: ASGIApp, request: httpx.Request, buffered_chunks: int) -> None:
        self.app = app
        self.request = request
        self.request_chunks = aiter(request.stream)  # type: ignore[arg-type]
        self.request_done = False
        self.request_error: BaseException | None = None
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.started = asyncio.Event()
        self.finished = asyncio.Event()  # the response is complete or the caller went away
        self.response_complete = False
        self.caller_gone = False
        self.body_out, self.body_in = anyio.create_memory_object_stream[bytes](
            max_buffer_size=buffered_chunks
        )
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> httpx.Response:
        self.task = asyncio.get_running_loop().create_task(self._run_app())
        try:
            await _first_of(self.started.wait(), self.task)
        except BaseException:
            await self.disconnect()
            raise
        if self.request_error is not None:
            await self.disconnect()
            raise self.request_error  # the caller's body failed: as with a real server, that is the error
        if not self.started.is_set():
            return httpx.Response(
                500,
                headers={"content-type": "application/json"},
                content=_INTERNAL_ERROR,
                request=self.request,
            )
        return httpx.Response(
            self.status,
            headers=self.headers,
            stream=_ResponseStream(self),
            request=self.request,
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def disconnect(self) -> None:
        """The caller is done with the response: stop the app if it is still sending."""
        if not self.response_complete:
            self.caller_gone = True
        self.finished.set()
        self.body_in.close()
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task

    async def _run_app(self) -> None:
        try:
            await self.app(self._scope(), self._receive, self._send)
        except Exception:
            if not self.response_complete:
                logger.exception("the app failed while handling %s %s", self.request.method, self.request.url)
        finally:
            self.body_out.close()

    def _scope(self) -> dict[str, Any]:
        url = self.request.url
        return {
            "type": "http",
            "asgi": {
                "version": "3.0",
                "spec_version": "2.4",
            },  # 2.4: send() raises OSError once the caller is gone
            "http_version": "1.1",
            "method": self.request.method,
            "scheme": url.scheme,
            "path": unquote(url.path),
            "raw_path": url.raw_path.split(b"?")[0],
            "query_string": url.query,
            "root_path": "",
            "headers": [(key.lower(), value) for key, value in self.request.headers.raw],
            "server": (url.host, url.port or 80),
            "client": ("127.0.0.1", 50000),
            "state": {},
        }

    async def _receive(self) -> dict[str, Any]:
        while not self.request_done:
            try:
                chunk = await anext(self.request_chunks)
            except StopAsyncIteration:
                self.request_done = True
                return {"type": "http.request", "body": b"", "more_body": False}
            except Exception as exc:  # the caller's source failed: to the app that is a disconnect
                self.request_error, self.request_done = exc, True
                return {"type": "http.disconnect"}
            if chunk:
                return {"type": "http.request", "body": bytes(chunk), "more_body": True}
        await self.finished.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        if self.caller_gone:
            raise OSError("the client disconnected")
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
            self.started.set()
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            if body:
                try:
                    await self.body_out.send(
                        bytes(body)
                    )  # waits while the reader is behind: memory stays flat
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    raise OSError("the client disconnected") from None
            if not message.get("more_body", False):
                self.response_complete = True
                self.body_out.close()
                self.finished.set()


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, exchange: _Exchange) -> None:
        self.exchange = exchange

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.exchange.body_in:
            yield chunk
        if not self.exchange.response_complete:
            raise httpx.RemoteProtocolError("the server closed the response before its end")

    async def aclose(self) -> None:
        await self.exchange.disconnect()


async def _first_of(event_wait: Awaitable[Any], task: asyncio.Task[None]) -> None:
    waiter = asyncio.ensure_future(event_wait)
    try:
        await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
