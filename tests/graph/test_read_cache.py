"""The embedded store's cache of point-lookup answers: which graphs a text reads and writes, and that a
cached answer is never older than the store, whatever writes run, fail or lose their caller."""

from __future__ import annotations

import asyncio
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vitalgraph.graph.oxigraph_store import OxigraphGraphStore
from vitalgraph.graph.read_cache import EVERY_GRAPH, PointLookupCache, graphs_named, graphs_written

pytestmark = pytest.mark.anyio

A, B = "urn:test:graph:a", "urn:test:graph:b~x/default"


@pytest.mark.parametrize(
    ("query", "graphs"),
    [
        (f"SELECT ?o WHERE {{ GRAPH <{A}> {{ <urn:s> <urn:p> ?o }} }}", {A}),
        (f"SELECT ?o WHERE {{ GRAPH<{A}> {{ ?s ?p ?o }} GRAPH <{B}> {{ ?s ?p ?o }} }}", {A, B}),
        (f'SELECT ?o WHERE {{ GRAPH <{A}> {{ ?s ?p "GRAPH ?g" }} }}', {A}),  # a keyword in a string
        ("SELECT ?o WHERE { GRAPH ?g { ?s ?p ?o } }", None),
        ("SELECT ?o WHERE { graph ex:g { ?s ?p ?o } }", None),
        (f"SELECT ?o FROM <{A}> WHERE {{ ?s ?p ?o }}", None),
        ("SELECT ?o WHERE { ?s ?p ?o }", None),  # the default graph: never kept
        (f"SELECT ?o WHERE {{ GRAPH <{A}> {{ ?s <urn:until> ?o FILTER(?o > NOW()) }} }}", None),  # the clock
        (f"SELECT (STRUUID() AS ?id) WHERE {{ GRAPH <{A}> {{ ?s ?p ?o }} }}", None),
    ],
)
def test_the_graphs_a_query_reads(query, graphs):
    assert graphs_named(query) == (frozenset(graphs) if graphs is not None else None)


@pytest.mark.parametrize(
    ("update", "graphs"),
    [
        (f"DELETE WHERE {{ GRAPH <{A}> {{ <urn:s> ?p ?o }} }}", {A}),
        (f'INSERT DATA {{ GRAPH <{A}> {{ <urn:s> <urn:p> "default, with all" }} }}', {A}),
        (f"DROP SILENT GRAPH <{A}>; DROP SILENT GRAPH <{B}>", {A, B}),
        (f"WITH <{A}> DELETE {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}", {EVERY_GRAPH}),
        (
            f"WITH <{A}> DELETE {{ ?s ?p ?o . GRAPH <{B}> {{ ?s ?p ?o }} }} WHERE {{ ?s ?p ?o }}",
            {EVERY_GRAPH},
        ),
        (f"DELETE {{ GRAPH <{A}> {{ ?s ?p ?o }} }} USING <{B}> WHERE {{ ?s ?p ?o }}", {EVERY_GRAPH}),
        ("DELETE WHERE { GRAPH ?g { ?s <urn:p> ?o } }", {EVERY_GRAPH}),
        ('INSERT DATA { <urn:s> <urn:p> "x" }', {EVERY_GRAPH}),
        ("CLEAR ALL", {EVERY_GRAPH}),
        (f"ADD <{A}> TO <{B}>", {EVERY_GRAPH}),
        (f"MOVE DEFAULT TO GRAPH <{A}>", {EVERY_GRAPH}),
        (f"LOAD <http://example.org/x> INTO GRAPH <{A}>", {EVERY_GRAPH}),
    ],
)
def test_the_graphs_an_update_may_write(update, graphs):
    assert graphs_written(update) == frozenset(graphs)


def lookup(graph: str, subject: str) -> str:
    return f"SELECT ?o WHERE {{ GRAPH <{graph}> {{ <{subject}> <urn:p> ?o }} }}"


def values(rows: list[dict]) -> set[str]:
    return {row["o"].value for row in rows}


async def test_an_answer_is_kept_until_a_write_to_its_graph():
    store = OxigraphGraphStore(None)
    await store.open()
    await store.update(
        f'INSERT DATA {{ GRAPH <{A}> {{ <urn:s> <urn:p> "1" }} GRAPH <{B}> {{ <urn:s> <urn:p> "1" }} }}'
    )
    for graph in (A, B):
        assert values(await store.select(lookup(graph, "urn:s"), point_lookup=True)) == {"1"}
    hits = store.lookups.hits
    assert values(await store.select(lookup(A, "urn:s"), point_lookup=True)) == {"1"}
    assert store.lookups.hits == hits + 1
    await store.update(f'INSERT DATA {{ GRAPH <{B}> {{ <urn:s> <urn:p> "2" }} }}')
    assert values(await store.select(lookup(A, "urn:s"), point_lookup=True)) == {"1"}  # still kept
    assert store.lookups.hits == hits + 2
    assert values(await store.select(lookup(B, "urn:s"), point_lookup=True)) == {"1", "2"}  # read again
    await store.close()


async def test_a_kept_answer_is_a_copy_the_caller_may_change():
    store = OxigraphGraphStore(None)
    await store.open()
    await store.update(f'INSERT DATA {{ GRAPH <{A}> {{ <urn:s> <urn:p> "1" }} }}')
    first = await store.select(lookup(A, "urn:s"), point_lookup=True)
    first[0].clear()
    first.append({})
    assert values(await store.select(lookup(A, "urn:s"), point_lookup=True)) == {"1"}
    await store.close()


class _HeldStore:
    """A pyoxigraph store whose updates wait for `go` (on the graph thread) before they run."""

    def __init__(self, store: object) -> None:
        self._store = store
        self.go = threading.Event()
        self.started = threading.Event()

    def update(self, text: str) -> None:
        self.started.set()
        assert self.go.wait(10)
        self._store.update(text)

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)


async def test_a_write_whose_caller_is_cancelled_still_drops_the_answers_when_it_lands():
    """The write goes on on its thread after its caller is cancelled: the cache must neither serve nor
    keep that graph's answers until the write is in the store, then read it afresh."""
    store = OxigraphGraphStore(None)
    await store.open()
    await store.update(f'INSERT DATA {{ GRAPH <{A}> {{ <urn:s> <urn:p> "old" }} }}')
    assert values(await store.select(lookup(A, "urn:s"), point_lookup=True)) == {"old"}
    held = _HeldStore(store._store)
    store._store = held
    writing = asyncio.ensure_future(
        store.update(
            f'DELETE DATA {{ GRAPH <{A}> {{ <urn:s> <urn:p> "old" }} }}; '
            f'INSERT DATA {{ GRAPH <{A}> {{ <urn:s> <urn:p> "new" }} }}'
        )
    )
    while not held.started.is_set():
        await asyncio.sleep(0.01)
    writing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writing
    # the write has not landed: the store says "old", and that answer must not be kept
    assert values(await store.select(lookup(A, "urn:s"), point_lookup=True)) == {"old"}
    held.go.set()
    for _ in range(200):  # the write lands on its thread, and its end reaches the loop
        if not store.lookups._writing:
            break
        await asyncio.sleep(0.01)
    assert values(await store.select(lookup(A, "urn:s"), point_lookup=True)) == {"new"}
    await store.close()


async def test_a_failed_write_ends_its_hold_on_the_graph():
    store = OxigraphGraphStore(None)
    await store.open()
    with pytest.raises(SyntaxError):
        await store.update(f"INSERT DATA {{ GRAPH <{A}> {{ this is not sparql }} }}")
    await asyncio.sleep(0.05)
    assert not store.lookups._writing
    await store.update(f'INSERT DATA {{ GRAPH <{A}> {{ <urn:s> <urn:p> "1" }} }}')
    await store.select(lookup(A, "urn:s"), point_lookup=True)
    assert len(store.lookups) == 1
    await store.close()


def test_the_cache_holds_at_most_its_size_and_no_large_answers():
    cache = PointLookupCache(max_answers=3)
    for n in range(10):
        cache.read(lookup(A, f"urn:s{n}"), lambda _q: [1], lambda x: x)
    assert len(cache) == 3
    cache.read(lookup(B, "urn:big"), lambda _q: list(range(1000)), lambda x: x)
    assert lookup(B, "urn:big") not in cache._answers
    cache.write_started([A])
    cache.write_ended([A])
    assert len(cache) == 0 and cache._by_graph == {}


GRAPHS = [A, B]
SUBJECTS = ["urn:s1", "urn:s2"]
WRITES = st.one_of(
    st.tuples(st.just("insert"), st.sampled_from(GRAPHS), st.sampled_from(SUBJECTS), st.integers(0, 3)),
    st.tuples(st.just("delete"), st.sampled_from(GRAPHS), st.sampled_from(SUBJECTS), st.just(0)),
    st.tuples(st.just("with"), st.sampled_from(GRAPHS), st.sampled_from(SUBJECTS), st.integers(0, 3)),
    st.tuples(st.just("any-graph"), st.just(""), st.sampled_from(SUBJECTS), st.just(0)),
    st.tuples(st.just("drop"), st.sampled_from(GRAPHS), st.just(""), st.just(0)),
)


def _update(kind: str, graph: str, subject: str, value: int) -> str:
    return {
        "insert": f'INSERT DATA {{ GRAPH <{graph}> {{ <{subject}> <urn:p> "{value}" }} }}',
        "delete": f"DELETE WHERE {{ GRAPH <{graph}> {{ <{subject}> <urn:p> ?o }} }}",
        # WITH names the graph of the template's triples outside GRAPH: here `graph`, beside the other
        "with": f'WITH <{graph}> INSERT {{ <{subject}> <urn:p> "w{value}" . '
        f'GRAPH <{next(g for g in GRAPHS if g != graph)}> {{ <urn:x> <urn:p> "z" }} }} WHERE {{}}',
        "any-graph": f"DELETE WHERE {{ GRAPH ?g {{ <{subject}> <urn:p> ?o }} }}",
        "drop": f"DROP SILENT GRAPH <{graph}>",
    }[kind]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(
        st.one_of(
            WRITES, st.tuples(st.just("read"), st.sampled_from(GRAPHS), st.sampled_from(SUBJECTS), st.just(0))
        ),
        max_size=30,
    )
)
def test_every_point_lookup_answers_what_the_store_holds(steps):
    async def run() -> None:
        store = OxigraphGraphStore(None)
        await store.open()
        for kind, graph, subject, value in steps:
            if kind != "read":
                await store.update(_update(kind, graph, subject, value))
            for g in GRAPHS:
                for s in SUBJECTS:
                    cached = values(await store.select(lookup(g, s), point_lookup=True))
                    assert cached == values(store._select_rows(lookup(g, s))), (kind, g, s)
        await store.close()

    asyncio.run(run())


def test_overlapping_writes_to_one_graph_hold_it_until_the_last_one_ends():
    cache = PointLookupCache()
    calls = []

    def run(query: str) -> list[int]:
        calls.append(query)
        return [len(calls)]

    query = lookup(A, "urn:s")
    cache.write_started([A])
    cache.write_started([A])
    cache.write_ended([A])  # one of the two has landed: the other may still change the answer
    assert cache.read(query, run, int) == [1]
    assert cache.read(query, run, int) == [2]  # neither kept nor served from the cache
    cache.write_ended([A])
    assert cache.read(query, run, int) == [3]
    assert cache.read(query, run, int) == [3]  # kept now
