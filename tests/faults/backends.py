"""Fault tests run on both blob stores: the local directory and S3 (the session's SeaweedFS).

Import `backend` (and `seaweedfs`) into a test module or conftest to use it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.faults.state import LocalStoreView, S3StoreView
from tests.fixtures.seaweedfs import seaweedfs  # noqa: F401  (the session fixture)

MiB = 1024 * 1024


@dataclass
class Backend:
    name: str
    env: dict[str, str]
    view: Callable[[object], LocalStoreView | S3StoreView]  # server -> what its store holds


@dataclass
class SharedServer:
    server: object  # RunningServer
    store: LocalStoreView | S3StoreView  # what its store holds


@pytest.fixture(scope="module")
def shared_server(server_factory) -> Callable[..., SharedServer]:
    """`shared_server(backend, extra_env)`: one server per blob store and settings for the whole
    module, with the view of its store. For tests that each take a space of their own."""
    started: dict[tuple, SharedServer] = {}

    def server_for(backend: Backend, extra_env: dict[str, str] | None = None) -> SharedServer:
        key = (backend.name, tuple(sorted((extra_env or {}).items())))
        if key not in started:
            server = server_factory({**backend.env, **(extra_env or {})}, scope="module")
            started[key] = SharedServer(server, backend.view(server))
        return started[key]

    return server_for


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "local":
        return Backend("local", {}, lambda server: LocalStoreView(server.data_dir))
    seaweed = request.getfixturevalue("seaweedfs")
    prefix = f"faults-{uuid.uuid4().hex[:12]}"
    env = seaweed.server_env(prefix, S3_PART_SIZE=str(5 * MiB))
    return Backend("s3", env, lambda server: S3StoreView(seaweed, prefix))
