"""The network transports under the clients' httpx API."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx
import urllib3
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
CONNECTION_LIMITS = httpx.Limits(
    max_connections=100, max_keepalive_connections=20, keepalive_expiry=IDLE_CONNECTION_SECONDS
)


def default_async_transport(config: ClientConfig) -> httpx.AsyncBaseTransport:
    """aiohttp under httpx by default: httpx's own async transport read 0.3-0.5 GB/s here, aiohttp 1.2-2.4 GB/s
    (unverified; docs/performance.md, Client)."""
    if config.http_backend == "httpx":
        return httpx.AsyncHTTPTransport(verify=ssl_context(config), limits=CONNECTION_LIMITS)
    # aiohttp loads only here: the sync client and the CLI start without it (~0.2 s less)
    from vitalgraph.client._aiohttp_transport import ChunkedAiohttpTransport

    return ChunkedAiohttpTransport(config)


def default_sync_transport(config: ClientConfig) -> httpx.BaseTransport:
    """urllib3 under httpx by default: httpx's own sync transport (httpcore, 64 KiB reads) downloaded at
    0.4-0.8 GB/s here, urllib3 reading `chunk_size` at a time at 1.0-1.6 GB/s (docs/performance.md, Client)."""
    if config.http_backend == "httpx":
        return httpx.HTTPTransport(verify=ssl_context(config), limits=CONNECTION_LIMITS)
    return Urllib3Transport(config)


class Urllib3Transport(httpx.BaseTransport):
    """httpx's sync API over a urllib3 connection pool. Response bodies are read `chunk_size` bytes at a
    time straight from http.client, where httpcore hands out 64 KiB pieces; urllib3's errors become
    httpx's, so a connection dropped mid-body is an httpx.ReadError (a NetworkError, resumed)."""

    def __init__(self, config: ClientConfig) -> None:
        self.chunk_size = config.chunk_size
        self._pool = urllib3.PoolManager(
            num_pools=10,
            maxsize=CONNECTION_LIMITS.max_keepalive_connections or 1,
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
