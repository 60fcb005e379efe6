"""LoginThrottle: a sliding window of failed logins per (username, client) and per client, counted in
the graph store (here the embedded one), so two throttles on one store count the same failures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from vitalgraph.errors import TooManyRequestsError
from vitalgraph.graph.base import GraphStore
from vitalgraph.graph.oxigraph_store import OxigraphGraphStore
from vitalgraph.services.login_throttle import FAILURES_GRAPH, PER_CLIENT_FACTOR, LoginThrottle

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def graph_store() -> AsyncIterator[GraphStore]:
    store = OxigraphGraphStore(None)
    await store.open()
    yield store
    await store.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make(graph_store, clock):
    def make(max_failures: int = 3, window: float = 60) -> LoginThrottle:
        return LoginThrottle(graph_store, max_failures, window, clock=clock)

    return make


async def fail(throttle: LoginThrottle, times: int, username: str = "ann", client: str = "10.0.0.1") -> None:
    for _ in range(times):
        await throttle.check(username, client)
        await throttle.failed(username, client)


async def stored_failures(graph_store: GraphStore) -> int:
    rows = await graph_store.select(
        f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{FAILURES_GRAPH}> {{ ?s ?p ?o }} }}"
    )
    return int(rows[0]["n"].value)


async def test_the_failure_after_the_limit_is_refused_with_the_wait_until_the_oldest_expires(make, clock):
    throttle = make()
    await fail(throttle, 3)
    clock.now += 20
    with pytest.raises(TooManyRequestsError) as refused:
        await throttle.check("ann", "10.0.0.1")
    assert refused.value.retry_after == 40
    assert "too many failed logins as 'ann' from 10.0.0.1" in str(refused.value)
    clock.now += 40  # the first failure leaves the window
    await throttle.check("ann", "10.0.0.1")


async def test_two_throttles_on_one_store_count_together(make):
    """Two replicas: failures through either count toward one limit."""
    first, second = make(), make()
    await fail(first, 2)
    await fail(second, 1)
    for throttle in (first, second):
        with pytest.raises(TooManyRequestsError):
            await throttle.check("ann", "10.0.0.1")


async def test_other_clients_and_other_usernames_are_not_held_back(make):
    throttle = make()
    await fail(throttle, 3)
    await throttle.check("ann", "10.0.0.2")
    await throttle.check("bob", "10.0.0.1")


async def test_a_client_failing_on_many_usernames_is_refused_for_all(make):
    throttle = make()
    for n in range(PER_CLIENT_FACTOR):
        await fail(throttle, 3, username=f"user{n}")
    with pytest.raises(TooManyRequestsError, match="for any user"):
        await throttle.check("someone-new", "10.0.0.1")
    await throttle.check("someone-new", "10.0.0.9")


async def test_a_success_clears_the_count_for_that_username(make):
    throttle = make()
    await fail(throttle, 2)
    await throttle.succeeded("ann", "10.0.0.1")
    await fail(throttle, 2)
    await throttle.check("ann", "10.0.0.1")


async def test_names_with_quotes_and_newlines_are_counted_not_injected(make):
    throttle = make()
    hostile = 'ann" } } ; DROP ALL ; #\n'
    await fail(throttle, 3, username=hostile)
    with pytest.raises(TooManyRequestsError):
        await throttle.check(hostile, "10.0.0.1")
    await throttle.check("ann", "10.0.0.1")


async def test_zero_max_failures_turns_throttling_off(make, graph_store):
    throttle = make(max_failures=0)
    for _ in range(100):
        await throttle.check("ann", "10.0.0.1")
        await throttle.failed("ann", "10.0.0.1")
    assert await stored_failures(graph_store) == 0  # and nothing is kept for it


async def test_failures_that_left_the_window_are_removed_from_the_store(make, clock, graph_store):
    throttle = make()
    await fail(throttle, 3)
    assert await stored_failures(graph_store) == 3 * 2 * 2  # 3 failures x 2 keys x 2 triples
    clock.now += 61
    await fail(throttle, 1, username="bob", client="10.0.0.2")
    assert await stored_failures(graph_store) == 1 * 2 * 2
