"""The multi-organization flow of examples/multi_org_crud.py, run as written through the async client
against a real server subprocess (on the embedded graph store, on the oxigraph server, and on
Virtuoso) and through the in-process async mock.

The example itself checks every step (it raises FlowError); this test adds what only a test can see:
the whole blob store is empty at the end, and memory stays far below the ~0.5 GiB that was streamed
through concurrently (so nothing held a whole file)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import ModuleType

import pytest

from tests.api.test_streaming import PeakRss
from tests.client.harness import ThisProcess
from tests.fixtures.servers import ADMIN_PASSWORD, RunningServer
from vitalgraph.client import AsyncVitalGraphClient
from vitalgraph.mock import AsyncMockVitalGraphClient

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


# The graph backend of each HTTP variant: the embedded store, or a SPARQL server (fixture name).
SPARQL_SERVERS = {"http-oxigraph-server": "oxigraph_server", "http-virtuoso": "virtuoso_server"}


@pytest.fixture(scope="module")
def flow_servers(server_factory, request: pytest.FixtureRequest) -> Callable[[str], RunningServer]:
    """A VitalGraph server per graph backend, each of its own, so "the blob store is empty" at the
    end means the whole store; started on first use."""
    started: dict[str, RunningServer] = {}

    def server_for(variant: str) -> RunningServer:
        if variant not in started:
            env: dict[str, str] = {}
            if variant in SPARQL_SERVERS:
                sparql = request.getfixturevalue(SPARQL_SERVERS[variant])
                env = {
                    "VITALGRAPH_GRAPH_BACKEND": "sparql",
                    "VITALGRAPH_SPARQL_QUERY_URL": sparql.query_url,
                    "VITALGRAPH_SPARQL_UPDATE_URL": sparql.update_url,
                }
            started[variant] = server_factory(env, name=f"multi-org-{variant}", scope="module")
        return started[variant]

    return server_for


@pytest.fixture(
    params=[
        "http",
        "mock",
        pytest.param("http-oxigraph-server", marks=pytest.mark.sparql),
        pytest.param("http-virtuoso", marks=pytest.mark.virtuoso),
    ]
)
async def setup(request: pytest.FixtureRequest) -> AsyncIterator[tuple]:
    """(client, blob probe, process whose memory to watch) for each way of reaching VitalGraph."""
    if request.param != "mock":
        server: RunningServer = request.getfixturevalue("flow_servers")(request.param)
        client = AsyncVitalGraphClient(server.url, username="admin", password=ADMIN_PASSWORD)
        probe, process = flow.LocalBlobProbe(lambda: server.data_dir / "blobs"), server
    else:
        client = AsyncMockVitalGraphClient()
        probe, process = flow.LocalBlobProbe(lambda: client.server.data_dir / "blobs"), ThisProcess()
    async with client:
        yield client, probe, process


async def test_multi_organization_flow(setup):
    client, probe, process = setup
    steps: list[str] = []
    start = process.rss()
    with PeakRss(process) as memory:
        report = await flow.run_flow(client, probe=probe, log=steps.append)
    growth = memory.peak - start

    assert len(report.organizations) == 10 and len(steps) == 7 and "nothing of it" in steps[-1]
    per_org = {
        org: [a for a in report.attachments.values() if a.org_uri == org] for org in report.organizations
    }
    assert all(2 <= len(files) <= 3 for files in per_org.values())
    assert all(max(a.size for a in files) > 50 * MiB for files in per_org.values()), (
        "one > 50 MiB per organization"
    )
    assert set(report.kept).isdisjoint(report.deleted) and len(report.kept) == len(report.deleted) == 5

    assert probe.keys("spaces") == [], "the blob store is not empty after the space was deleted"
    assert list((probe.root() / ".staging").iterdir()) == [], "an upload left a staging file behind"
    assert growth < MAX_RSS_GROWTH, f"RSS grew {growth / MiB:.0f} MiB while streaming"


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
    for space in (
        await client.spaces.list_spaces()
    ).spaces:  # the aborted flow's space: leave the store empty
        await client.spaces.delete_space(space.space_id)
    assert probe.keys("spaces") == []
