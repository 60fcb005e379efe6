"""The async client's default transport: aiohttp under httpx's API, handing out large chunks."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from httpx_aiohttp.transport import map_aiohttp_exceptions

from vitalgraph.client._tls import ssl_context
from vitalgraph.client._transports import CONNECTION_LIMITS, IDLE_CONNECTION_SECONDS
from vitalgraph.client.config import ClientConfig


class ChunkedAiohttpTransport(AiohttpTransport):
    """httpx-aiohttp's transport, handing out whatever aiohttp has buffered (up to `chunk_size`) per step
    instead of 16 KiB pieces: fewer trips through the async iterators, about twice the raw rate."""

    def __init__(self, config: ClientConfig) -> None:
        super().__init__(
            verify=ssl_context(config), limits=CONNECTION_LIMITS, client=_session_factory(config)
        )
        self.chunk_size = config.chunk_size

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        aiohttp_response = getattr(response.stream, "_aiohttp_response", None)
        if aiohttp_response is not None:  # else keep the library's own stream
            response.stream = _ResponseStream(aiohttp_response, self.chunk_size)
        return response


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, chunk_size: int) -> None:
        self._response = response
        self._chunk_size = chunk_size

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._response.connection
        if connection is not None:
            _widen_socket_reads(connection.transport, self._chunk_size)
        with map_aiohttp_exceptions():
            async for chunk in self._response.content.iter_chunked(self._chunk_size):
                yield chunk

    async def aclose(self) -> None:
        with map_aiohttp_exceptions():
            await self._response.__aexit__(None, None, None)


def _widen_socket_reads(transport: object, size: int) -> None:
    """asyncio's selector transport receives at most 256 KiB per recv() (its `max_size`): on a fast download
    the event loop then holds the GIL so much of the time that the SHA-256 thread waits for it, and a
    verified download ran at ~0.5 GB/s here; with `chunk_size` reads, ~1 GB/s. Other loops (uvloop) keep
    their own read sizes."""
    current = getattr(transport, "max_size", None)
    if isinstance(current, int) and current < size:
        with contextlib.suppress(AttributeError):
            transport.max_size = size  # type: ignore[attr-defined]


def _session_factory(config: ClientConfig) -> Callable[[], aiohttp.ClientSession]:
    # Called on first use, inside the running event loop (an aiohttp session belongs to one loop).
    def make_session() -> aiohttp.ClientSession:
        # An idle connection is dropped before the server's keep-alive timeout (5 s by default) ends it:
        # a request sent on a connection the server just closed fails ("Server disconnected"), and
        # aiohttp only notices the close when the event loop runs, which a busy caller may not let it.
        connector = aiohttp.TCPConnector(
            limit=CONNECTION_LIMITS.max_connections or 0,
            ssl=ssl_context(config),
            keepalive_timeout=IDLE_CONNECTION_SECONDS,
        )
        # aiohttp's 64 KiB read buffer would pause the socket far more often on large downloads.
        return aiohttp.ClientSession(connector=connector, read_bufsize=config.chunk_size)

    return make_session
