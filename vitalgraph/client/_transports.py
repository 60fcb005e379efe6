"""The network transports under the clients' httpx API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from httpx_aiohttp.transport import map_aiohttp_exceptions

from vitalgraph.client.config import ClientConfig

_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


def default_async_transport(config: ClientConfig) -> httpx.AsyncBaseTransport:
    """aiohttp under httpx by default: httpx's own async transport read ~0.35 GB/s here, aiohttp ~2 GB/s."""
    if config.http_backend == "httpx":
        return httpx.AsyncHTTPTransport(verify=config.verify_tls, limits=_LIMITS)
    return ChunkedAiohttpTransport(config)


def default_sync_transport(config: ClientConfig) -> httpx.BaseTransport:
    return httpx.HTTPTransport(verify=config.verify_tls, limits=_LIMITS)


class ChunkedAiohttpTransport(AiohttpTransport):
    """httpx-aiohttp's transport, handing out whatever aiohttp has buffered (up to `chunk_size`) per step
    instead of 16 KiB pieces: fewer trips through the async iterators, about twice the raw rate."""

    def __init__(self, config: ClientConfig) -> None:
        super().__init__(verify=config.verify_tls, limits=_LIMITS, client=_session_factory(config))
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
        with map_aiohttp_exceptions():
            async for chunk in self._response.content.iter_chunked(self._chunk_size):
                yield chunk

    async def aclose(self) -> None:
        with map_aiohttp_exceptions():
            await self._response.__aexit__(None, None, None)


def _session_factory(config: ClientConfig) -> Callable[[], aiohttp.ClientSession]:
    # Called on first use, inside the running event loop (an aiohttp session belongs to one loop).
    def make_session() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=_LIMITS.max_connections or 0, ssl=None if config.verify_tls else False)
        # aiohttp's 64 KiB read buffer would pause the socket far more often on large downloads.
        return aiohttp.ClientSession(connector=connector, read_bufsize=config.chunk_size)

    return make_session
