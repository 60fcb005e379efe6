"""The FastAPI application: routers over the services, errors mapped in one place."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from vitalgraph.api.errors import install_error_handlers
from vitalgraph.api.explorer import install_explorer
from vitalgraph.api.metrics import Metrics
from vitalgraph.api.request_context import RequestContextMiddleware
from vitalgraph.api.routes import (
    auth,
    files,
    kgentities,
    kgtypes,
    operations,
    spaces,
    sparql,
    tokens,
    tus,
    users,
)
from vitalgraph.api.shutdown import ShutdownCoordinator
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
        metrics_port = metrics.serve_on_port(settings) if settings.metrics_access == "port" else None
        try:
            yield
        finally:
            if metrics_port is not None:
                metrics_port.close()
            for task in (gc_task, lag_task):
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
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    install_error_handlers(app)
    app.include_router(operations.router)
    app.include_router(auth.router)
    app.include_router(spaces.router)
    app.include_router(tus.router)  # before files: its paths sit under /api/files
    app.include_router(files.router)
    app.include_router(kgtypes.router)
    app.include_router(kgentities.router)
    app.include_router(sparql.router)
    app.include_router(users.router)
    app.include_router(tokens.router)

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

    return app
