"""The FastAPI application: routers over the services, errors mapped in one place."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from starlette.middleware.cors import CORSMiddleware

from vitalgraph import tracing
from vitalgraph.api.audit import AuditMiddleware
from vitalgraph.api.errors import install_error_handlers
from vitalgraph.api.explorer import install_explorer
from vitalgraph.api.metrics import Metrics
from vitalgraph.api.request_context import RequestContextMiddleware
from vitalgraph.api.routes import (
    admin,
    audit,
    auth,
    direct,
    files,
    graphs,
    kgentities,
    kgtypes,
    operations,
    quotas,
    spaces,
    sparql,
    tokens,
    tus,
    ui,
    users,
)
from vitalgraph.api.shutdown import ShutdownCoordinator
from vitalgraph.api.tls import StrictTransportSecurity
from vitalgraph.api.urls import PublicLocationMiddleware
from vitalgraph.config import Settings
from vitalgraph.services.container import Services

API_DESCRIPTION = """A knowledge-graph server with streaming files. Click **Authorize** and either log in
with a username and password (`login`) or paste an API token (`token`). Uploads take the raw bytes or
multipart/form-data; downloads support Range, If-Range, If-None-Match and If-Match.
Documentation: the `docs/` folder of the repository (api.md, client.md, security.md)."""


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """An app that starts its own services from `settings`, or serves ones already started."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        running = app.state.services = services or await Services.start(settings)
        gc_task = None
        if settings.GC_INTERVAL_SECONDS:
            gc_task = asyncio.create_task(
                running.maintenance.run_periodically(settings.GC_INTERVAL_SECONDS, **running.gc_ages)
            )
        lag_task = None
        if settings.LOOP_LAG_INTERVAL_SECONDS:
            lag_task = asyncio.create_task(
                metrics.watch_loop_lag(settings.LOOP_LAG_INTERVAL_SECONDS, settings.LOOP_LAG_WARN_SECONDS)
            )
        usage_task = None
        if settings.USAGE_METRICS_INTERVAL_SECONDS:
            usage_task = asyncio.create_task(
                metrics.watch_usage(running, settings.USAGE_METRICS_INTERVAL_SECONDS)
            )
        metrics_port = metrics.serve_on_port(settings) if settings.metrics_access == "port" else None
        try:
            yield
        finally:
            if metrics_port is not None:
                metrics_port.close()
            for task in (gc_task, lag_task, usage_task):
                if task is not None:
                    task.cancel()
            if owned:
                await running.stop()

    metrics = Metrics()
    app = FastAPI(
        title="VitalGraph",
        version="0.1.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by install_explorer from local assets, not a CDN
        redoc_url=None,
    )
    install_explorer(app)
    app.state.metrics = metrics
    app.state.shutdown = ShutdownCoordinator()
    if settings.AUDIT_ENABLED:  # inside the request context: request ids are set by then
        app.add_middleware(AuditMiddleware, log=_LazyAuditLog(app))
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    if settings.PUBLIC_BASE_URL:  # the one Location the framework builds itself: slash redirects
        app.add_middleware(PublicLocationMiddleware, public_base_url=settings.PUBLIC_BASE_URL)
    install_error_handlers(app)
    app.include_router(operations.router)
    app.include_router(auth.router)
    app.include_router(spaces.router)
    app.include_router(tus.router)  # before files: its paths sit under /api/files
    app.include_router(direct.router)  # likewise
    app.include_router(files.router)
    app.include_router(kgtypes.router)
    app.include_router(kgentities.router)
    app.include_router(sparql.router)
    app.include_router(graphs.router)
    app.include_router(users.router)
    app.include_router(tokens.router)
    app.include_router(ui.router)
    app.mount("/ui", ui.static_files(), name="ui")
    app.include_router(audit.router)
    app.include_router(admin.router)
    app.include_router(quotas.router)

    if settings.cors_origins:  # browsers (Uppy, tus-js-client) on other origins; see docs/tus.md
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["*"],
            expose_headers=tus.TUS_RESPONSE_HEADERS
            + ["Content-Length", "Content-Range", "ETag", "X-Request-ID"],
            max_age=600,
        )

    if tracing.enabled():  # outermost: the request span encloses everything, errors included
        app.add_middleware(
            OpenTelemetryMiddleware,
            tracer_provider=tracing.provider(),
            exclude_spans=["receive", "send"],  # one span per body chunk would swamp a 1 GiB transfer
        )

    if settings.HSTS_MAX_AGE_SECONDS:
        app.add_middleware(StrictTransportSecurity, max_age_seconds=settings.HSTS_MAX_AGE_SECONDS)

    return app


class _LazyAuditLog:
    """The services (and their audit log) exist only once the lifespan has started them."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def record(self, entry: object) -> None:
        services = getattr(self.app.state, "services", None)
        if services is not None:
            services.audit.record(entry)
