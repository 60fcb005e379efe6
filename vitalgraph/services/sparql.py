"""Read-only SPARQL 1.1 queries over one space's graphs.

The dataset is fixed by the server: the space's named graphs, as the default graph (their union)
and as the only named graphs. The stores override FROM / FROM NAMED with it, so `GRAPH <...>`
cannot reach another space or the system graph. `SERVICE` would escape any dataset (a federated
call back to the SPARQL server, or to anywhere else), so queries using it are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pyoxigraph as ox

from vitalgraph.errors import InvalidInputError, TooManyRequestsError
from vitalgraph.graph.base import GraphStore, space_graph_prefix
from vitalgraph.graph.query_form import QueryForm, classify_query
from vitalgraph.services.spaces import SpaceService

RESULTS_JSON = "application/sparql-results+json"
N_TRIPLES = "application/n-triples"
JSON_LD = "application/ld+json"
MAX_QUERY_LENGTH = 1024 * 1024
CHECK_ON_LOOP_MAX = 8 * 1024  # characters; longer queries are checked on a thread


@dataclass(frozen=True)
class QueryAnswer:
    media_type: str
    body: bytes


def wants_json_ld(accept: str | None) -> bool:
    """JSON-LD only when asked for ahead of N-Triples; N-Triples is the default for graph results."""
    if not accept:
        return False
    types = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    return JSON_LD in types and (N_TRIPLES not in types or types.index(JSON_LD) < types.index(N_TRIPLES))


class QueryLimits:
    """How many queries may run at once: per user and in all (on this replica). Over either, 429."""

    RETRY_AFTER_SECONDS = 1

    def __init__(self, per_user: int, total: int) -> None:
        self.per_user = per_user
        self.total = total
        self._running: Counter[str] = Counter()

    @contextlib.contextmanager
    def slot(self, user: str) -> Iterator[None]:
        if self._running[user] >= self.per_user:
            raise TooManyRequestsError(
                f"{self.per_user} SPARQL queries of yours are running (SPARQL_MAX_QUERIES_PER_USER); "
                "wait for one to end",
                self.RETRY_AFTER_SECONDS,
            )
        if self._running.total() >= self.total:
            raise TooManyRequestsError(
                f"the server runs {self.total} SPARQL queries already (SPARQL_MAX_QUERIES); retry shortly",
                self.RETRY_AFTER_SECONDS,
            )
        self._running[user] += 1
        try:
            yield
        finally:
            self._running[user] -= 1
            if not self._running[user]:
                del self._running[user]


class SparqlService:
    def __init__(self, graph: GraphStore, spaces: SpaceService, limits: QueryLimits) -> None:
        self.graph = graph
        self.spaces = spaces
        self.limits = limits

    async def query(self, space_id: str, query: str, accept: str | None = None, *, user: str) -> QueryAnswer:
        """SELECT / ASK → SPARQL JSON results; CONSTRUCT / DESCRIBE → N-Triples (JSON-LD if `accept` prefers it).

        Checked before anything runs: the space, the query's length and grammar (no updates, no
        SERVICE), and the user's and the server's number of running queries."""
        space = await self.spaces.require(space_id)
        if not query.strip():
            raise InvalidInputError("empty SPARQL query")
        if len(query) > MAX_QUERY_LENGTH:
            raise InvalidInputError(f"SPARQL query over {MAX_QUERY_LENGTH} characters")
        # Reading a long query takes a while (~1-2 s per MiB on the test machine): not on the event loop.
        form = (
            classify_query(query)
            if len(query) < CHECK_ON_LOOP_MAX
            else await asyncio.to_thread(classify_query, query)
        )
        with self.limits.slot(user):
            return await self._run(space.uid, query, form, accept)

    async def _run(self, space_uid: str, query: str, form: QueryForm, accept: str | None) -> QueryAnswer:
        graphs = await self.graph.graphs_with_prefix(space_graph_prefix(space_uid))
        if form in (QueryForm.SELECT, QueryForm.ASK):
            return QueryAnswer(RESULTS_JSON, await self.graph.query_json(query, graphs))
        triples = await self.graph.query_triples(query, graphs)
        if wants_json_ld(accept):
            return QueryAnswer(JSON_LD, ox.serialize(triples, format=ox.RdfFormat.JSON_LD))
        return QueryAnswer(N_TRIPLES, ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES))
