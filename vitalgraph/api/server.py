"""The HTTP server `vitalgraph serve` runs: uvicorn (uvloop, httptools) configured from the settings.

Everything about connections lives here and in api/connections.py: the protocol with the header
timeout and the connection caps, the keep-alive (idle) timeout, and which proxies' X-Forwarded-For
is believed. uvicorn trusts loopback by default; here nothing is trusted unless TRUSTED_PROXIES
names it, so a client cannot pick its own address (the login throttle counts per address).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator

import uvicorn
from fastapi import FastAPI

from vitalgraph.api.connections import ConnectionLimits, guarded_protocol
from vitalgraph.api.shutdown import GracefulServer
from vitalgraph.config import Settings


def uvicorn_config(settings: Settings, app: FastAPI, log_level: str = "info") -> uvicorn.Config:
    limits = ConnectionLimits(
        settings.MAX_CONNECTIONS, settings.MAX_CONNECTIONS_PER_CLIENT, settings.trusted_proxies
    )
    return uvicorn.Config(
        app,
        host=settings.HOST,
        port=settings.PORT,
        http=guarded_protocol(limits, settings.HEADER_TIMEOUT_SECONDS),
        timeout_keep_alive=settings.KEEPALIVE_TIMEOUT_SECONDS,  # type: ignore[arg-type]  # a float works
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies,
        log_level=log_level,
        log_config=None,  # our handler (text or JSON, with request ids) formats uvicorn's lines too
        timeout_graceful_shutdown=settings.SHUTDOWN_GRACE_SECONDS,
        ssl_certfile=settings.TLS_CERTFILE,
        ssl_keyfile=settings.TLS_KEYFILE,
    )


def build_server(
    settings: Settings,
    app: FastAPI,
    *,
    on_shutdown: Callable[[], None],
    after_shutdown: Callable[[], Awaitable[None]],
    log_level: str = "info",
) -> GracefulServer:
    return GracefulServer(
        uvicorn_config(settings, app, log_level), on_shutdown=on_shutdown, after_shutdown=after_shutdown
    )


def redirect_server(settings: Settings, log_level: str) -> uvicorn.Server | None:
    """The plain-HTTP listener that sends everything to HTTPS, when TLS_REDIRECT_PORT is set."""
    if not settings.TLS_REDIRECT_PORT:
        return None
    from vitalgraph.api.tls import RedirectToHttps

    redirect_app = RedirectToHttps(settings.PORT, settings.PUBLIC_BASE_URL)
    config = uvicorn.Config(
        redirect_app,
        host=settings.HOST,
        port=settings.TLS_REDIRECT_PORT,
        http="httptools",
        log_level=log_level,
        log_config=None,
        lifespan="off",
    )
    return _SignalFreeServer(config)


class _SignalFreeServer(uvicorn.Server):
    """A second listener in the same process: the main server owns the signal handlers and stops it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
