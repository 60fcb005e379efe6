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
from enum import Enum

import pyoxigraph as ox

from vitalgraph.errors import InvalidInputError, TooManyRequestsError
from vitalgraph.graph.base import GraphStore, space_graph_prefix
from vitalgraph.services.spaces import SpaceService
from vitalgraph.services.sparql_lexer import Kind, SparqlLexError, Token, readings

RESULTS_JSON = "application/sparql-results+json"
N_TRIPLES = "application/n-triples"
JSON_LD = "application/ld+json"
MAX_QUERY_LENGTH = 1024 * 1024
CHECK_ON_LOOP_MAX = 8 * 1024  # characters; longer queries are checked on a thread


class QueryForm(str, Enum):
    SELECT = "SELECT"
    ASK = "ASK"
    CONSTRUCT = "CONSTRUCT"
    DESCRIBE = "DESCRIBE"


UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}
)
# Keywords that reach outside the space's graphs. Only SERVICE does in SPARQL 1.1 queries: FROM, FROM
# NAMED and GRAPH <iri> stay inside the dataset the stores fix (see the module's docstring).
OUTSIDE_KEYWORDS = {
    "SERVICE": "SERVICE (federated query) is not allowed: a query sees only the graphs of its space"
}


@dataclass(frozen=True)
class QueryAnswer:
    media_type: str
    body: bytes


def classify_query(query: str) -> QueryForm:
    """The query's form, decided on the grammar's tokens. InvalidInputError for updates, for SERVICE
    however it is written, for undeclared prefixes, and for any text the tokenizer cannot read.

    When SPARQL's own reading of the text (\\u escapes replaced first) differs from oxigraph's, both
    must pass: the check holds whichever reading the engine behind the store uses.
    """
    found = readings(query)
    token_lists = [tokens for tokens in found if not isinstance(tokens, SparqlLexError)]
    for tokens in token_lists:  # first, so SERVICE is named even when another reading fails
        _refuse_outside(tokens)
    for error in found:
        if isinstance(error, SparqlLexError):
            raise InvalidInputError(f"SPARQL syntax error: {error}")
    forms = {_classify_tokens(tokens) for tokens in token_lists}
    if len(forms) != 1:
        raise InvalidInputError(
            "the query reads as a different query form once its \\u escapes are replaced: "
            "write those characters as they are"
        )
    return forms.pop()


def _classify_tokens(tokens: list[Token]) -> QueryForm:
    position, declared = _prologue(tokens)
    form = _form(tokens[position] if position < len(tokens) else None)
    for token in tokens[position:]:
        if token.kind is Kind.PNAME and token.prefix not in declared:
            raise InvalidInputError(
                f"SPARQL syntax error: prefix '{token.prefix}:' of {token.text} is not declared "
                f"(add PREFIX {token.prefix}: <...>)"
            )
    return form


def _refuse_outside(tokens: list[Token]) -> None:
    """Keywords are case-insensitive and need no word boundary in every engine, so a keyword is
    refused anywhere inside a word, a prefix or a language tag (never inside IRIs, strings,
    variables or local names, which engines read whole)."""
    for token in tokens:
        if token.kind is Kind.WORD or token.kind is Kind.LANGTAG:
            text = token.text
        elif token.kind is Kind.PNAME and token.prefix:
            text = token.prefix
        else:
            continue
        upper, lower = text.upper(), text.lower()
        for keyword, message in OUTSIDE_KEYWORDS.items():
            if keyword in upper or keyword.lower() in lower:
                raise InvalidInputError(message)


def _prologue(tokens: list[Token]) -> tuple[int, set[str]]:
    """Where the prologue (BASE and PREFIX declarations) ends, and the prefixes it declares."""
    declared: set[str] = set()
    position = 0
    while position < len(tokens) and tokens[position].kind is Kind.WORD:
        keyword = tokens[position].upper
        if keyword == "BASE" and _kinds(tokens, position + 1, Kind.IRI):
            position += 2
        elif keyword == "PREFIX" and _kinds(tokens, position + 1, Kind.PNAME, Kind.IRI):
            name = tokens[position + 1]
            if name.text != name.prefix + ":":
                raise InvalidInputError(f"SPARQL syntax error: PREFIX {name.text} is not a prefix name")
            declared.add(name.prefix)
            position += 3
        else:
            break
    return position, declared


def _kinds(tokens: list[Token], start: int, *kinds: Kind) -> bool:
    found = [t.kind for t in tokens[start : start + len(kinds)]]
    return found == list(kinds)


def _form(token: Token | None) -> QueryForm:
    word = token.upper if token is not None and token.kind is Kind.WORD else ""
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
