"""The embedded graph store: pyoxigraph persisted on disk (RocksDB).

The server's own queries and updates run on a few threads of this store. User queries (`query_json`,
`query_triples`) run in worker processes instead (see `query_processes.py`): they can be killed at
their time limit, they run at a lower CPU priority, and they never hold a thread the server's own
work needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from pyoxigraph import (
    NamedNode,
    QueryBoolean,
    QueryResultsFormat,
    QuerySolutions,
    QueryTriples,
    RdfFormat,
    Store,
    Triple,
    parse,
)

from vitalgraph.config import Settings
from vitalgraph.errors import InvalidInputError
from vitalgraph.graph import query_worker
from vitalgraph.graph.base import GraphStore, Row, _Claim, _claim_node, iri
from vitalgraph.graph.query_processes import QueryProcesses
from vitalgraph.graph.read_cache import PointLookupCache, graphs_written
from vitalgraph.graph.snapshots import Snapshots
from vitalgraph.model import GraphObject

T = TypeVar("T")


DEFAULT_QUERY_TIMEOUT_SECONDS = 30.0
DEFAULT_QUERY_NICE = 10


class OxigraphGraphStore(GraphStore):
    # This process alone opens the store (RocksDB locks its directory; query workers read checkpoints),
    # so a claim is shared by nobody else: it lives in memory, and a claim costs no write to the store.
    # A store behind a SPARQL server is shared by replicas and keeps its claims in the graph (base).
    claims_in_store = False
    _SWEEP_CLAIMS_OVER = 10_000

    def __init__(
        self,
        path: Path | None,
        *,
        query_timeout_seconds: float = DEFAULT_QUERY_TIMEOUT_SECONDS,
        query_nice: int = DEFAULT_QUERY_NICE,
    ) -> None:
        self.path = path
        self._store: Store | None = None
        self._claims: dict[tuple[str, str], tuple[str, float]] = {}  # (graph, key) -> (owner, expires)
        # Queries run off the event loop on threads of their own, never queued behind blob I/O.
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="graph")
        # Writes (upload commits, claims' companions, deletes) have threads of their own, so they never
        # queue behind pages of a listing: the commit's update waited there up to ~20 ms under load.
        self._writes = ThreadPoolExecutor(max_workers=2, thread_name_prefix="graph-write")
        # Point lookups' answers, exact because every write passes `update` (see read_cache.py).
        self.lookups = PointLookupCache()
        # User queries run in processes; an in-memory store (tests only) has no files they could open.
        self._processes: QueryProcesses | None = None
        self._snapshots: Snapshots | None = None
        if path is not None:
            self._processes = QueryProcesses(timeout_seconds=query_timeout_seconds, nice=query_nice)
            self._snapshots = Snapshots(path.parent / f"{path.name}-query-snapshots", self._backup)

    @classmethod
    def from_settings(cls, settings: Settings) -> OxigraphGraphStore:
        return cls(
            settings.DATA_DIR / "graph",
            query_timeout_seconds=settings.SPARQL_QUERY_TIMEOUT,
            query_nice=settings.SPARQL_QUERY_NICE,
        )

    async def open(self) -> None:
        if self._store is None:
            if self.path is not None:
                self.path.mkdir(parents=True, exist_ok=True)
                self._store = Store(str(self.path))
                if self._snapshots is not None:
                    await self._run(self._snapshots.clear)  # left by a server that did not stop cleanly
            else:
                self._store = Store()

    async def close(self) -> None:
        if self._processes is not None:
            await self._processes.close()
        if self._snapshots is not None:
            await self._run(self._snapshots.clear)
        if self._store is not None:
            await self._run(self._store.flush)
            self._store = None
        self._executor.shutdown(wait=True)
        self._writes.shutdown(wait=True)

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("graph store is not open")
        return self._store

    def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> asyncio.Future[T]:
        return asyncio.get_running_loop().run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    async def select(self, query: str, *, point_lookup: bool = False) -> list[Row]:
        if point_lookup:
            return self.lookups.read(query, self._select_rows, dict)
        return await self._run(self._select_rows, query)

    async def construct(self, query: str, *, point_lookup: bool = False) -> list[Triple]:
        if point_lookup:
            return self.lookups.read(query, self._construct_triples, _same)
        return await self._run(self._construct_triples, query)

    async def construct_objects(self, query: str, *, point_lookup: bool = False) -> list[GraphObject]:
        if point_lookup:
            return GraphObject.from_triples(self.lookups.read(query, self._construct_triples, _same))
        return await self._run(lambda: GraphObject.from_triples(self._construct_triples(query)))

    def _select_rows(self, query: str) -> list[Row]:
        solutions = self.store.query(query)
        names = [v.value for v in solutions.variables]
        return [{name: sol[name] for name in names if sol[name] is not None} for sol in solutions]

    def _construct_triples(self, query: str) -> list[Triple]:
        return list(self.store.query(query))

    async def update(self, update: str) -> None:
        graphs = graphs_written(update)
        loop = asyncio.get_running_loop()
        self.lookups.write_started(graphs)
        running = self._writes.submit(self.store.update, update)

        def ended(_: object) -> None:  # on the graph thread, once the write is in the store or failed
            with contextlib.suppress(RuntimeError):  # the loop is gone: so are the cache and snapshots
                loop.call_soon_threadsafe(self._write_ended, graphs)

        # Added before the caller's own callback, so the loop learns of the write before the caller
        # resumes; and it runs even when the caller was cancelled while the write went on.
        running.add_done_callback(ended)
        await asyncio.wrap_future(running)

    def _write_ended(self, graphs: frozenset[str]) -> None:
        self.lookups.write_ended(graphs)
        if self._snapshots is not None:
            self._snapshots.changed()  # the next user query reads a snapshot holding this write

    async def _try_claim(self, g: str, node: str, owner: str, ttl_seconds: float) -> _Claim:
        now = time.time()
        held = self._claims.get((g, node))
        if held is not None and held[1] > now and held[0] != owner:
            return _Claim.HELD
        if len(self._claims) > self._SWEEP_CLAIMS_OVER:  # claims that expired and were never released
            self._claims = {k: v for k, v in self._claims.items() if v[1] > now}
        self._claims[(g, node)] = (owner, now + ttl_seconds)
        return _Claim.WON

    async def release(self, graph: str, key: str, owner: str) -> None:
        slot = (iri(graph), _claim_node(key))
        held = self._claims.get(slot)
        if held is not None and held[0] == owner:
            del self._claims[slot]
        self._hand_off(graph, key)

    async def claim_holder(self, graph: str, key: str) -> str | None:
        held = self._claims.get((iri(graph), _claim_node(key)))
        return held[0] if held is not None and held[1] > time.time() else None

    async def query_json(self, query: str, default_graphs: Sequence[str]) -> bytes:
        if self._processes is not None:
            kind, body = await self._in_process(query, default_graphs)
            if kind != query_worker.OK_RESULTS:
                raise InvalidInputError("only SELECT and ASK queries return SPARQL JSON results")
            return body

        def run() -> bytes:
            result = self._query_dataset(query, default_graphs)
            if isinstance(result, (QuerySolutions, QueryBoolean)):
                return result.serialize(format=QueryResultsFormat.JSON)
            del result  # pyoxigraph results must be freed on the thread that made them, not via a traceback
            raise InvalidInputError("only SELECT and ASK queries return SPARQL JSON results")

        return await self._run(run)

    async def query_triples(self, query: str, default_graphs: Sequence[str]) -> list[Triple]:
        if self._processes is not None:
            kind, body = await self._in_process(query, default_graphs)
            if kind != query_worker.OK_TRIPLES:
                raise InvalidInputError("only CONSTRUCT and DESCRIBE queries return triples")
            return await asyncio.to_thread(_parse_n_triples, body)

        def run() -> list[Triple]:
            result = self._query_dataset(query, default_graphs)
            if isinstance(result, QueryTriples):
                return list(result)
            del result
            raise InvalidInputError("only CONSTRUCT and DESCRIBE queries return triples")

        return await self._run(run)

    async def _in_process(self, query: str, graphs: Sequence[str]) -> tuple[bytes, bytes]:
        assert self._processes is not None and self._snapshots is not None
        async with self._snapshots.current() as snapshot:
            return await self._processes.run(snapshot, query, graphs)

    async def _backup(self, target: Path) -> None:
        await self._run(self.store.backup, str(target))

    def _query_dataset(
        self, query: str, graphs: Sequence[str]
    ) -> QuerySolutions | QueryBoolean | QueryTriples:
        # An empty list must stay an empty dataset: None would mean the store's own default graph.
        names = [NamedNode(g) for g in graphs]
        try:
            return self.store.query(query, default_graph=names, named_graphs=names)
        except SyntaxError as exc:
            raise InvalidInputError(f"SPARQL syntax error: {exc}") from None
        except RuntimeError as exc:  # "The custom function <...> is not supported": the query's fault
            if "not supported" not in str(exc):
                raise
            raise InvalidInputError(f"SPARQL error: {exc}") from None


def _same(triple: Triple) -> Triple:
    return triple  # pyoxigraph terms are immutable: a kept answer is shared, only its list is new


def _parse_n_triples(body: bytes) -> list[Triple]:
    return [quad.triple for quad in parse(body, format=RdfFormat.N_TRIPLES)]
