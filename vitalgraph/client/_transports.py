"""The network transports under the clients' httpx API."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator

import aiohttp
import httpx
import urllib3
from httpx_aiohttp import AiohttpTransport
from httpx_aiohttp.transport import map_aiohttp_exceptions
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from vitalgraph.client._tls import ssl_context
from vitalgraph.client.config import ClientConfig

IDLE_CONNECTION_SECONDS = 2.0  # below the server's KEEPALIVE_TIMEOUT_SECONDS default of 5
_LIMITS = httpx.Limits(
    max_connections=100, max_keepalive_connections=20, keepalive_expiry=IDLE_CONNECTION_SECONDS
)


def default_async_transport(config: ClientConfig) -> httpx.AsyncBaseTransport:
    """aiohttp under httpx by default: httpx's own async transport read 0.3-0.5 GB/s here, aiohttp 1.2-2.4 GB/s
    (unverified; docs/performance.md, Client)."""
    if config.http_backend == "httpx":
        return httpx.AsyncHTTPTransport(verify=ssl_context(config), limits=_LIMITS)
    return ChunkedAiohttpTransport(config)


def default_sync_transport(config: ClientConfig) -> httpx.BaseTransport:
    """urllib3 under httpx by default: httpx's own sync transport (httpcore, 64 KiB reads) downloaded at
    0.4-0.8 GB/s here, urllib3 reading `chunk_size` at a time at 1.0-1.6 GB/s (docs/performance.md, Client)."""
    if config.http_backend == "httpx":
        return httpx.HTTPTransport(verify=ssl_context(config), limits=_LIMITS)
    return Urllib3Transport(config)


class ChunkedAiohttpTransport(AiohttpTransport):
    """httpx-aiohttp's transport, handing out whatever aiohttp has buffered (up to `chunk_size`) per step
    instead of 16 KiB pieces: fewer trips through the async iterators, about twice the raw rate."""

    def __init__(self, config: ClientConfig) -> None:
        super().__init__(verify=ssl_context(config), limits=_LIMITS, client=_session_factory(config))
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
            limit=_LIMITS.max_connections or 0,
            ssl=ssl_context(config),
            keepalive_timeout=IDLE_CONNECTION_SECONDS,
        )
        # aiohttp's 64 KiB read buffer would pause the socket far more often on large downloads.
        return aiohttp.ClientSession(connector=connector, read_bufsize=config.chunk_size)

    return make_session


class Urllib3Transport(httpx.BaseTransport):
    """httpx's sync API over a urllib3 connection pool. Response bodies are read `chunk_size` bytes at a
    time straight from http.client, where httpcore hands out 64 KiB pieces; urllib3's errors become
    httpx's, so a connection dropped mid-body is an httpx.ReadError (a NetworkError, resumed)."""

    def __init__(self, config: ClientConfig) -> None:
        self.chunk_size = config.chunk_size
        self._pool = urllib3.PoolManager(
            num_pools=10,
            maxsize=_LIMITS.max_keepalive_connections or 1,
            ssl_context=ssl_context(config),
            cert_reqs="CERT_REQUIRED" if config.verify_tls else "CERT_NONE",
            assert_hostname=None if config.verify_tls else False,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        headers = urllib3.HTTPHeaderDict()
        for name, value in request.headers.multi_items():
            if name.lower() != "transfer-encoding":  # urllib3 frames a body of unknown length itself
                headers.add(name, value)
        has_body = "transfer-encoding" in request.headers or request.headers.get("content-length", "0") != "0"
        timeouts = request.extensions.get("timeout", {})
        with _urllib3_errors():
            response = self._pool.urlopen(
                request.method,
                str(request.url),
                body=iter(request.stream) if has_body else None,  # type: ignore[call-overload]
                headers=headers,
                redirect=False,
                retries=False,
                preload_content=False,
                decode_content=False,
                timeout=urllib3.Timeout(connect=timeouts.get("connect"), read=timeouts.get("read")),
            )
        return httpx.Response(
            status_code=response.status,
            headers=list(response.headers.iteritems()),
            stream=_Urllib3ResponseStream(response, self.chunk_size),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": response.reason.encode("latin-1")},
        )

    def close(self) -> None:
        self._pool.clear()


class _Urllib3ResponseStream(httpx.SyncByteStream):
    def __init__(self, response: urllib3.BaseHTTPResponse, chunk_size: int) -> None:
        self._response = response
        self._chunk_size = chunk_size

    def __iter__(self) -> Iterator[bytes]:
        with _urllib3_errors():
            yield from self._response.stream(self._chunk_size, decode_content=False)

    def close(self) -> None:
        if not self._response.isclosed():  # not read to the end: the connection cannot be reused
            self._response.close()
        self._response.release_conn()


@contextlib.contextmanager
def _urllib3_errors() -> Iterator[None]:
    try:
        yield
    except (
        NewConnectionError,
        NameResolutionError,
    ) as exc:  # NewConnectionError is a ConnectTimeoutError too
        raise httpx.ConnectError(str(exc)) from exc
    except ConnectTimeoutError as exc:
        raise httpx.ConnectTimeout(str(exc)) from exc
    except ReadTimeoutError as exc:
        raise httpx.ReadTimeout(str(exc)) from exc
    except SSLError as exc:
        raise httpx.ConnectError(str(exc)) from exc
    except (ProtocolError, OSError) as exc:  # e.g. "Connection broken: IncompleteRead"
        raise httpx.ReadError(str(exc)) from exc
    except HTTPError as exc:
        raise httpx.RemoteProtocolError(str(exc)) from exc
