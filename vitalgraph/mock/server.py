"""The real services and FastAPI app, in-process, on a temporary embedded store (pyoxigraph + local blobs)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import weakref
from collections.abc import Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings

from vitalgraph.config import Settings

MOCK_USERNAME = "admin"
MOCK_PASSWORD = "vitalgraph-mock-password"


class _SettingsFromArgumentsOnly(Settings):
    """Server settings that ignore VITALGRAPH_* variables: a mock must not pick up a real deployment's."""

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: Any, **others: Any
    ) -> tuple:
        return (init_settings,)


class InProcessServer:
    """An ASGI app that starts the real server code on first use and `stop()`s it, removing its data.

    `settings` are server settings by name, e.g. {"MAX_STREAMING_FILE_SIZE": 1048576}.
    """

    def __init__(self, settings: Mapping[str, Any] | None = None) -> None:
        self.settings_overrides = dict(settings or {})
        self.data_dir: Path | None = None
        self._app: Any = None
        self._stack: AsyncExitStack | None = None
        self._lock: asyncio.Lock | None = None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        app = await self.started_app()
        await app(scope, receive, send)

    async def started_app(self) -> Any:
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            if self._app is None:
                await self._start()
        return self._app

    async def stop(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = self._app = None
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None

    async def _start(self) -> None:
        from vitalgraph.api.app import create_app  # the server stack loads only when a mock is used
        from vitalgraph.services.container import Services

        self.data_dir = Path(tempfile.mkdtemp(prefix="vitalgraph-mock-"))
        weakref.finalize(self, shutil.rmtree, self.data_dir, True)  # also if the mock is never closed
        settings = _SettingsFromArgumentsOnly(
            **{
                "DATA_DIR": self.data_dir,
                "ADMIN_USERNAME": MOCK_USERNAME,
                "ADMIN_PASSWORD": MOCK_PASSWORD,
                "GC_INTERVAL_SECONDS": 0,
                **self.settings_overrides,
            }
        )
        async with AsyncExitStack() as stack:
            services = await Services.start(settings)
            stack.push_async_callback(services.stop)
            app = create_app(settings, services)
            await stack.enter_async_context(app.router.lifespan_context(app))
            self._stack = stack.pop_all()
        self._app = app
