"""Read-only SPARQL 1.1 queries over one space's graphs.

The dataset is fixed by the server: the space's named graphs, as the default graph (their union)
and as the only named graphs. The stores override FROM / FROM NAMED with it, so `GRAPH <...>`
cannot reach another space or the system graph. `SERVICE` would escape any dataset (a federated
call back to the SPARQL server, or to anywhere else), so queries using it are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

import pyoxigraph as ox

from vitalgraph.errors import InvalidInputError
from vitalgraph.graph.base import GraphStore, space_graph_prefix
from vitalgraph.services.spaces import SpaceService

RESULTS_JSON = "application/sparql-results+json"
N_TRIPLES = "application/n-triples"
JSON_LD = "application/ld+json"
MAX_QUERY_LENGTH = 1024 * 1024


class QueryForm(str, Enum):
    SELECT = "SELECT"
    ASK = "ASK"
    CONSTRUCT = "CONSTRUCT"
    DESCRIBE = "DESCRIBE"


UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}
)

# Text that holds no keywords, in SPARQL's own tokenisation: escapes outside strings (`ex:a\#`),
# IRIs (which may contain \u escapes), long and short strings, and comments. One left-to-right
# pass, so a '#' or quote inside an IRI or string is never mistaken for a comment or string start.
_NON_KEYWORD_TEXT = re.compile(
    r"""
      <(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>
    | \"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
    | '''(?:[^'\\]|\\.|'(?!''))*'''
    | "(?:[^"\\\n\r]|\\.)*"
    | '(?:[^'\\\n\r]|\\.)*'
    | \\.
    | \#[^\n\r]*
    """,
    re.VERBOSE | re.DOTALL,
)
# A bare word: not part of a variable, prefixed name, language tag or blank node label.
_BARE_WORD = re.compile(r"(?<![\w?$:@])[A-Za-z]+(?![\w:])")


@dataclass(frozen=True)
class QueryAnswer:
    media_type: str
    body: bytes


def query_keywords(query: str) -> list[str]:
    """The bare words of a query outside IRIs, strings and comments, upper-cased, in order."""
    return [w.upper() for w in _BARE_WORD.findall(_NON_KEYWORD_TEXT.sub(" ", query))]


def classify_query(query: str) -> QueryForm:
    """The query's form; InvalidInputError for updates, SERVICE, or text that is no query at all."""
    words = query_keywords(query)
    if "SERVICE" in words:
        raise InvalidInputError(
            "SERVICE (federated query) is not allowed: a query sees only the graphs of its space"
        )
    for word in words:
        if word in QueryForm.__members__:
            return QueryForm(word)
        if word in UPDATE_KEYWORDS:
            raise InvalidInputError(
                f"SPARQL updates ({word}) are not accepted: this endpoint only runs queries "
                "(SELECT, ASK, CONSTRUCT, DESCRIBE); change data through the graph object routes"
            )
    raise InvalidInputError("SPARQL syntax error: expected a SELECT, ASK, CONSTRUCT or DESCRIBE query")


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
        space = await self.spaces.require(space_id)
        if not query.strip():
            raise InvalidInputError("empty SPARQL query")
        if len(query) > MAX_QUERY_LENGTH:
            raise InvalidInputError(f"SPARQL query over {MAX_QUERY_LENGTH} characters")
        form = classify_query(query)
        graphs = await self.graph.graphs_with_prefix(space_graph_prefix(space.uid))
        if form in (QueryForm.SELECT, QueryForm.ASK):
            return QueryAnswer(RESULTS_JSON, await self.graph.query_json(query, graphs))
        triples = await self.graph.query_triples(query, graphs)
        if wants_json_ld(accept):
            return QueryAnswer(JSON_LD, ox.serialize(triples, format=ox.RdfFormat.JSON_LD))
        return QueryAnswer(N_TRIPLES, ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES))
