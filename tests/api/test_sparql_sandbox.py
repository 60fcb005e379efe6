"""No SPARQL query makes the server (or its SPARQL server) call out: SERVICE written every way the
generator knows is refused with 400 on both graph backends, and a loopback listener receives nothing.
The generator is checked against the engine itself: its queries do call out when nothing stops them.
And should a query get past the check, the embedded store's worker process has no network."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings

from tests.api.test_kg import server, sparql_backed_server  # noqa: F401  (both graph backends)
from tests.unit.sparql_queries import service_queries
from vitalgraph.errors import VitalGraphError
from vitalgraph.graph.query_processes import QueryProcesses
from vitalgraph.graph.query_worker import leave_network


class Listener:
    """A TCP listener on a free loopback port that records every connection it gets."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}/"
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(1)
                try:
                    self.received.append(connection.recv(200) or b"(connected)")
                except OSError:
                    self.received.append(b"(connected)")

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.socket.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    found = Listener()
    try:
        yield found
    finally:
        found.close()


def test_the_generated_queries_do_call_out_when_nothing_stops_them(listener):
    """Without the check, pyoxigraph runs the generator's SERVICE clauses: so the test below can fail."""
    store = ox.Store()  # a match for every pattern before SERVICE, or the engine need not call it
    for value in [ox.Literal(True), ox.Literal(1), ox.Literal("x"), ox.NamedNode("urn:x")]:
        store.add(ox.Quad(ox.NamedNode("urn:s"), ox.NamedNode("urn:p"), value))
    called = parsed = 0
    silent: list[str] = []

    @settings(max_examples=60, deadline=None, database=None)
    @given(service_queries(listener.url, escapes=False))
    def run(query: str) -> None:
        nonlocal called, parsed
        before = len(listener.received)
        try:
            store.query(query)
        except SyntaxError:
            return
        except OSError:
            pass  # the listener's answer is no SPARQL result: the call was made
        parsed += 1
        for _ in range(50):
            if len(listener.received) > before:
                called += 1
                return
            threading.Event().wait(0.02)
        silent.append(query)

    run()
    assert parsed >= 30, "most generated queries should be valid SPARQL"
    assert called == parsed, f"{parsed - called} parsed queries did not call out: {silent[:3]}"


def test_service_is_refused_on_both_backends_and_nothing_is_called(server, listener):  # noqa: F811
    with server.client() as api:
        space = api.post("/api/spaces", json={"space_id": f"sandbox-{id(listener) % 10**6}"}).json()[
            "space_id"
        ]
        try:

            @settings(
                max_examples=40,
                deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture],
            )
            @given(service_queries(listener.url))
            def run(query: str) -> None:
                response = api.post(
                    f"/api/graphs/sparql/{space}/query",
                    content=query,
                    headers={"Content-Type": "application/sparql-query"},
                )
                assert response.status_code == 400, (query, response.text)
                assert "SERVICE" in response.json()["detail"]

            run()
            threading.Event().wait(0.3)
            assert listener.received == []
        finally:
            api.delete(f"/api/spaces/{space}")


@pytest.mark.anyio
async def test_a_worker_process_cannot_reach_the_network(tmp_path: Path, listener):
    """Defence in depth: a SERVICE query run in a query worker, the check bypassed, calls nobody."""
    if not _can_leave_network():
        pytest.skip("the kernel refuses network namespaces here (unshare CLONE_NEWNET)")
    store = ox.Store(str(tmp_path / "graph"))
    store.add(ox.Quad(ox.NamedNode("urn:s"), ox.NamedNode("urn:p"), ox.Literal("o"), ox.NamedNode("urn:g")))
    store.backup(str(tmp_path / "snapshot"))
    del store
    processes = QueryProcesses(timeout_seconds=10, nice=0)
    try:
        answer = await processes.run(tmp_path / "snapshot", "ASK { ?s ?p ?o }", ["urn:g"])
        assert answer[1].endswith(b"true}")
        with pytest.raises(VitalGraphError, match="failed"):
            await processes.run(
                tmp_path / "snapshot", f"ASK {{ SERVICE <{listener.url}q> {{ ?s ?p ?o }} }}", []
            )
    finally:
        await processes.close()
    await asyncio.sleep(0.3)
    assert listener.received == []


def _can_leave_network() -> bool:
    """Probe in a child process (unshare changes the caller for good)."""
    import subprocess
    import sys

    code = "from vitalgraph.graph.query_worker import leave_network; raise SystemExit(0 if leave_network() else 1)"
    return subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_listener_sees_a_direct_call(listener):
    """The listener itself works: a plain request reaches it."""
    with pytest.raises(httpx.HTTPError):
        httpx.get(listener.url, timeout=1)
    assert listener.received
    assert callable(leave_network)
