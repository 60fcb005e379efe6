"""The multi-organization flow of examples/multi_org_crud.py, run as written through the async client
against a real server subprocess and through the in-process async mock.

The example itself checks every step (it raises FlowError); this test adds what only a test can see:
the whole blob store is empty at the end, and memory stays far below the ~0.5 GiB that was streamed
through concurrently (so nothing held a whole file)."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import psutil
import pytest

from tests.fixtures.servers import ADMIN_PASSWORD, RunningServer
from vitalgraph.client import AsyncVitalGraphClient
from vitalgraph.client.mock import AsyncMockVitalGraphClient

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(240)]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "multi_org_crud.py"
MiB = 1024 * 1024
# Ten > 50 MiB files stream at once (~0.5 GiB); holding any of them whole would show up here.
MAX_RSS_GROWTH = 200 * MiB


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("multi_org_crud", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


flow = load_example()


class PeakRss:
    """Samples a process's RSS in a thread while the flow runs."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.start = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.02)

    @property
    def growth(self) -> int:
        return self.peak - self.start

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture(scope="module")
def flow_server(server_factory) -> RunningServer:
    """A server of its own, so "the blob store is empty" at the end means the whole store."""
    return server_factory({}, name="multi-org")


@pytest.fixture(params=["http", "mock"])
async def setup(request: pytest.FixtureRequest) -> AsyncIterator[tuple]:
    """(client, blob probe, pid whose memory to watch) for each way of reaching VitalGraph."""
    if request.param == "http":
        server: RunningServer = request.getfixturevalue("flow_server")
        client = AsyncVitalGraphClient(server.url, username="admin", password=ADMIN_PASSWORD)
        probe, pid = flow.LocalBlobProbe(lambda: server.data_dir / "blobs"), server.pid
    else:
        client = AsyncMockVitalGraphClient()
        probe, pid = flow.LocalBlobProbe(lambda: client.server.data_dir / "blobs"), psutil.Process().pid
    async with client:
        yield client, probe, pid


async def test_multi_organization_flow(setup):
    client, probe, pid = setup
    steps: list[str] = []
    with PeakRss(pid) as memory:
        report = await flow.run_flow(client, probe=probe, log=steps.append)

    assert len(report.organizations) == 10 and len(steps) == 7 and "nothing of it" in steps[-1]
    per_org = {org: [a for a in report.attachments.values() if a.org_uri == org] for org in report.organizations}
    assert all(2 <= len(files) <= 3 for files in per_org.values())
    assert all(max(a.size for a in files) > 50 * MiB for files in per_org.values()), "one > 50 MiB per organization"
    assert set(report.kept).isdisjoint(report.deleted) and len(report.kept) == len(report.deleted) == 5

    assert probe.keys() == [], "the blob store is not empty after the space was deleted"
    assert list((probe.root() / ".staging").iterdir()) == [], "an upload left a staging file behind"
    assert memory.growth < MAX_RSS_GROWTH, f"RSS grew {memory.growth / MiB:.0f} MiB while streaming"


async def test_a_failed_check_is_reported_not_swallowed(setup, monkeypatch):
    """The flow's checks can fail: a download whose bytes differ from the upload must raise FlowError."""
    client, probe, _ = setup
    real_iter_file = client.files.iter_file

    def corrupted(*args, **kwargs):
        async def chunks():
            async for chunk in real_iter_file(*args, **kwargs):
                yield chunk[:-1] + bytes([chunk[-1] ^ 1])
        return chunks()

    monkeypatch.setattr(client.files, "iter_file", corrupted)
    with pytest.raises(flow.FlowError, match="downloaded"):
        await flow.run_flow(client, probe=probe, organizations=2, big_file_size=2 * MiB, log=lambda _: None)
