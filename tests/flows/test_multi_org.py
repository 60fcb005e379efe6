"""The multi-organization flow of examples/multi_org_crud.py, run as written through the async client
against a real server subprocess (on the embedded graph store, on the oxigraph server, and on
Virtuoso) and through the in-process async mock; with small files, on a server whose blobs are on the
JuiceFS S3 gateway.

The example itself checks every step (it raises FlowError); this test adds what only a test can see:
the whole blob store is empty at the end, and memory stays far below the ~0.5 GiB that was streamed
through concurrently (so nothing held a whole file)."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.test_streaming import PeakRss
from tests.client.harness import ThisProcess
from tests.fixtures.seaweedfs import boto_client_for
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
# The blob store of each HTTP variant: the local directory, or an S3 server (fixture name).
S3_SERVERS = {"http-juicefs": "juicefs_gateway"}
FULL_SIZE_VARIANTS = ["http", "mock", "http-oxigraph-server", "http-virtuoso"]


@dataclass
class S3BlobProbe:
    """Looks into the bucket of a server whose blobs are on S3, by its VITALGRAPH_S3_* settings."""

    env: dict[str, str]

    @property
    def client(self) -> Any:
        env = self.env
        return boto_client_for(
            env["VITALGRAPH_S3_ENDPOINT_URL"],
            env["VITALGRAPH_S3_REGION"],
            env["VITALGRAPH_S3_ACCESS_KEY_ID"],
            env["VITALGRAPH_S3_SECRET_ACCESS_KEY"],
        )

    @property
    def bucket(self) -> str:
        return self.env["VITALGRAPH_S3_BUCKET"]

    def object_key(self, key: str) -> str:
        return f"{self.env['VITALGRAPH_S3_PREFIX']}/{key}"

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except ClientError as exc:
            if exc.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
                return False
            raise
        return True

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.object_key(f"{prefix}/" if prefix else "")
        )
        start = len(self.object_key(""))
        return sorted(item["Key"][start:] for page in pages for item in page.get("Contents", []))

    def unfinished_uploads(self) -> list[str]:
        answer = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=self.object_key(""))
        return [upload["Key"] for upload in answer.get("Uploads", [])]


@pytest.fixture(scope="module")
def flow_servers(server_factory, request: pytest.FixtureRequest) -> Callable[[str], RunningServer]:
    """A VitalGraph server per graph backend, each of its own, so "the blob store is empty" at the
    end means the whole store; started on first use."""
    started: dict[str, RunningServer] = {}

    def server_for(variant: str) -> RunningServer:
        if variant not in started:
            env: dict[str, str] = {}
            if variant in S3_SERVERS:
                s3 = request.getfixturevalue(S3_SERVERS[variant])
                env = s3.server_env(prefix=f"multi-org-{uuid.uuid4().hex[:12]}")
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
        pytest.param("http-juicefs", marks=pytest.mark.juicefs),
    ]
)
async def setup(request: pytest.FixtureRequest) -> AsyncIterator[tuple]:
    """(client, blob probe, process whose memory to watch) for each way of reaching VitalGraph."""
    if request.param != "mock":
        server: RunningServer = request.getfixturevalue("flow_servers")(request.param)
        client = AsyncVitalGraphClient(server.url, username="admin", password=ADMIN_PASSWORD)
        probe = S3BlobProbe(server.env) if request.param in S3_SERVERS else None
        probe, process = probe or flow.LocalBlobProbe(lambda: server.data_dir / "blobs"), server
    else:
        client = AsyncMockVitalGraphClient()
        probe, process = flow.LocalBlobProbe(lambda: client.server.data_dir / "blobs"), ThisProcess()
    async with client:
        yield client, probe, process


@pytest.mark.only_with(setup=FULL_SIZE_VARIANTS)
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


@pytest.mark.only_with(setup=list(S3_SERVERS))
async def test_multi_organization_flow_with_small_files_on_s3(setup):
    """The whole flow with files of a few MiB: one over an 8 MiB part (a multipart upload), the rest single
    PUTs; every byte checked, and the bucket left with nothing of the space and no unfinished upload."""
    client, probe, _ = setup
    steps: list[str] = []
    report = await flow.run_flow(
        client, probe=probe, organizations=4, big_file_size=9 * MiB, big_files=1, log=steps.append
    )

    assert len(report.organizations) == 4 and len(steps) == 7 and "nothing of it" in steps[-1]
    sizes = sorted(a.size for a in report.attachments.values())
    assert sizes[-1] > 8 * MiB > sizes[-2], sizes
    assert set(report.kept).isdisjoint(report.deleted) and len(report.kept) == len(report.deleted) == 2
    assert probe.keys("spaces") == [], "the bucket holds blobs after the space was deleted"
    assert probe.unfinished_uploads() == [], "an upload left an unfinished multipart upload behind"


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
