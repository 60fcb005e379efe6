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


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "local":
        return Backend("local", {}, lambda server: LocalStoreView(server.data_dir))
    seaweed = request.getfixturevalue("seaweedfs")
    prefix = f"faults-{uuid.uuid4().hex[:12]}"
    env = seaweed.server_env(prefix, S3_PART_SIZE=str(5 * MiB))
    return Backend("s3", env, lambda server: S3StoreView(seaweed, prefix))
