"""Every route's endpoint and dependencies are coroutines. FastAPI runs a plain `def` on a worker thread,
and under load each such hop costs a whole event-loop iteration (tens of ms with 50 transfers in flight):
a metadata GET must not pay that for reading `app.state` or checking a query parameter."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant

from vitalgraph.api.app import create_app
from vitalgraph.config import Settings


def _runs_on_the_loop(call: Any) -> bool:
    return any(
        inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn)
        for fn in (call, getattr(call, "__call__", None))  # noqa: B004 (the method, not callability)
    )


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def _routes(app: FastAPI) -> Iterator[Any]:
    """Each route with its dependencies as served, router-level ones included (FastAPI >= 0.16x
    resolves included routers lazily; older versions list plain APIRoutes)."""
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            yield from contexts()
        elif hasattr(route, "dependant"):
            yield route


def test_every_endpoint_and_dependency_is_async(tmp_path):
    app = create_app(Settings(DATA_DIR=tmp_path, ADMIN_PASSWORD="x" * 16))
    routes = list(_routes(app))
    assert len(routes) > 20
    offenders = {
        f"{route.path}: {getattr(call, '__name__', call)}"
        for route in routes
        for call in (route.endpoint, *_calls(route.dependant))
        if not _runs_on_the_loop(call)
    }
    assert offenders == set()
