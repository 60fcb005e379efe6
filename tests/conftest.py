"""Shared fixtures. Servers a test needs (SeaweedFS, oxigraph, VitalGraph) live in tests/fixtures/."""

import pytest

pytest_plugins = [
    "tests.fixtures.servers",
    "tests.fixtures.oxigraph",
    "tests.fixtures.seaweedfs",
    "tests.fixtures.virtuoso",
    "tests.fixtures.ceph",
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
