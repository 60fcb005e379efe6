"""Query worker processes: started without forking the server, killed at their limit, and reaped."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import psutil
import pyoxigraph as ox
import pytest
import uvloop

from vitalgraph.errors import QueryTimeoutError
from vitalgraph.graph.query_processes import QueryProcesses

RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n2 ?o }"
forks_in_this_process: list[float] = []
os.register_at_fork(before=lambda: forks_in_this_process.append(time.monotonic()))


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    store = ox.Store(str(tmp_path / "graph"))
    store.extend(
        ox.Quad(ox.NamedNode(f"urn:s{n}"), ox.NamedNode("urn:p"), ox.Literal(str(n)), ox.NamedNode("urn:g"))
        for n in range(200)
    )
    store.backup(str(tmp_path / "snapshot"))
    del store
    return tmp_path / "snapshot"


def zombies() -> list[psutil.Process]:
    found = []
    for child in psutil.Process().children():
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


def live_query_workers() -> list[psutil.Process]:
    """This process's own query workers still running (a killed one is a zombie until its thread reaps
    it). Direct children only: servers that other tests left running have workers of their own."""
    found = []
    for child in psutil.Process().children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE and any(
                "query_worker" in part for part in child.cmdline()
            ):
                found.append(child)
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            pass
    return found


def test_workers_start_without_forking_the_server_and_killed_ones_are_reaped(snapshot):
    """On uvloop (as the server runs), the loop's own subprocess support forks the whole server,
    which stopped its loop for 16-26 ms at 300 MB resident; a worker is spawned (vfork) instead."""

    async def main() -> None:
        processes = QueryProcesses(timeout_seconds=1, nice=0)
        try:
            forks_before = len(forks_in_this_process)
            answer = await processes.run(snapshot, "ASK { ?s ?p ?o }", ["urn:g"])
            assert answer[1].endswith(b"true}")
            for _ in range(3):
                started = time.monotonic()
                with pytest.raises(QueryTimeoutError, match="SPARQL_QUERY_TIMEOUT"):
                    await processes.run(snapshot, RUNAWAY, ["urn:g"])
                assert time.monotonic() - started < 1 + 2
            assert len(forks_in_this_process) == forks_before, "a worker was started by forking the server"
        finally:
            await processes.close()

    uvloop.run(main())
    deadline = time.monotonic() + 5
    while zombies() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert zombies() == []
    assert live_query_workers() == []


def test_workers_run_niced_in_the_idle_scheduling_class(snapshot):
    async def main() -> list[tuple[int, int]]:
        processes = QueryProcesses(timeout_seconds=5, nice=10)
        try:
            await processes.run(snapshot, "ASK { ?s ?p ?o }", ["urn:g"])
            while processes._starting:  # the spare worker it started meanwhile
                await asyncio.sleep(0.05)
            found = []
            for worker in live_query_workers():
                try:
                    found.append((os.sched_getscheduler(worker.pid), worker.nice()))
                except (ProcessLookupError, psutil.NoSuchProcess):
                    pass  # the worker that served the query, killed and reaped meanwhile
            return found
        finally:
            await processes.close()

    found = uvloop.run(main())
    assert found and all(policy == os.SCHED_IDLE and nice == 10 for policy, nice in found), found
