"""Read-only SPARQL 1.1 queries over one space's graphs.

The dataset is fixed by the server: the space's named graphs, as the default graph (their union)
and as the only named graphs. The stores override FROM / FROM NAMED with it, so `GRAPH <...>`
cannot reach another space or the system graph. `SERVICE` would escape any dataset (a federated
call back to the SPARQL server, or to anywhere else), so queries using it are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

from vitalgraph.errors import InvalidInputError
from vitalgraph.graph.base import GraphStore, space_graph_prefix
from vitalgraph.graph.query_form import QueryForm, classify_query
from vitalgraph.services.spaces import SpaceService

RESULTS_JSON = "application/sparql-results+json"
N_TRIPLES = "application/n-triples"
JSON_LD = "application/ld+json"
MAX_QUERY_LENGTH = 1024 * 1024


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


class SparqlService:
    def __init__(self, graph: GraphStore, spaces: SpaceService) -> None:
        self.graph = graph
        self.spaces = spaces

    async def query(self, space_id: str, query: str, accept: str | None = None) -> QueryAnswer:
        """SELECT / ASK → SPARQL JSON results; CONSTRUCT / DESCRIBE → N-Triples (JSON-LD if `accept` prefers it)."""
        await self.spaces.require(space_id)
        if not query.strip():
            raise InvalidInputError("empty SPARQL query")
        if len(query) > MAX_QUERY_LENGTH:
            raise InvalidInputError(f"SPARQL query over {MAX_QUERY_LENGTH} characters")
        form = classify_query(query)
        graphs = await self.graph.graphs_with_prefix(space_graph_prefix(space_id))
        if form in (QueryForm.SELECT, QueryForm.ASK):
            return QueryAnswer(RESULTS_JSON, await self.graph.query_json(query, graphs))
        triples = await self.graph.query_triples(query, graphs)
        if wants_json_ld(accept):
            return QueryAnswer(JSON_LD, ox.serialize(triples, format=ox.RdfFormat.JSON_LD))
        return QueryAnswer(N_TRIPLES, ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES))
