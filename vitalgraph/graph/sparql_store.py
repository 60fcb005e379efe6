"""A graph store on any SPARQL 1.1 server, spoken to over the SPARQL 1.1 Protocol.

Tried with the oxigraph server and OpenLink Virtuoso 7 (docs/deployment.md says where they differ).
Queries are POSTed as an HTML form (`query=...`), the one way every server answers: Virtuoso never
answers a POST of `application/sparql-query`. Updates are POSTed as `application/sparql-update`.
Answers are parsed with pyoxigraph, so rows and triples carry the same terms as the embedded
store's, and user queries' JSON results are re-serialized by it, so clients see the same SPARQL
JSON whatever the server (Virtuoso writes `typed-literal` and an empty `link` list). User queries
get their dataset through the protocol's `default-graph-uri` and `named-graph-uri` parameters,
which override any FROM / FROM NAMED in the query text.

User queries stop after `query_timeout_seconds` (QueryTimeoutError); the server should have a time
limit of its own no longer than that (`oxigraph serve --timeout-s`, Virtuoso's MaxQueryExecutionTime),
so it stops working too. Their answers pass only when read whole: oxigraph's server, at its time
limit, ends a 200 answer early with a line of text, which must never reach a user as fewer rows.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Sequence
from typing import Literal
from urllib.parse import urlencode

import httpx
import pyoxigraph as ox

from vitalgraph.config import Settings
from vitalgraph.errors import InvalidInputError, QueryTimeoutError, StorageUnavailableError
from vitalgraph.graph.base import GraphStore, Row, literal
from vitalgraph.graph.query_form import QueryForm, classify_query, confined_to_dataset

RESULTS_JSON = "application/sparql-results+json"
FORM = "application/x-www-form-urlencoded"
N_TRIPLES = "application/n-triples"
# Stands in for "no graphs": without any default-graph-uri a server would use its whole default dataset.
EMPTY_DATASET_GRAPH = "urn:vitalgraph:empty-dataset"
# Statuses that mean "this request is wrong"; anything else is the server's or our setup's problem.
CLIENT_ERROR_STATUSES = frozenset({400, 406, 413, 414, 415, 422})
DEFAULT_TIMEOUT_SECONDS = 60.0
# Virtuoso sets it (with X-SQL-Message) when it cut a query short and answered what it had.
INCOMPLETE_RESULTS_HEADER = "X-SQL-State"
DEADLOCK_STATE = "40001"  # Virtuoso's SR172, "Transaction deadlocked"
DEADLOCK_ATTEMPTS = 8
DEFAULT_QUERY_TIMEOUT_SECONDS = 30.0
# What `oxigraph serve --timeout-s` appends to a 200 answer when it stops a query half way.
SERVER_CANCELLED_MARK = b"The SPARQL operation has been cancelled"


class SparqlGraphStore(GraphStore):
    def __init__(
        self,
        query_url: str,
        update_url: str | None = None,
        *,
        username: str | None = None,
        password: str | None = None,
        auth: Literal["basic", "digest"] = "basic",
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        query_timeout_seconds: float = DEFAULT_QUERY_TIMEOUT_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.query_url = query_url
        self.update_url = update_url or query_url  # many servers take both on one endpoint
        scheme = httpx.DigestAuth if auth == "digest" else httpx.BasicAuth
        self._auth = scheme(username, password or "") if username else None
        self._timeout = httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 10.0))
        self.query_timeout_seconds = query_timeout_seconds
        self._user_timeout = httpx.Timeout(query_timeout_seconds + 5, connect=min(timeout_seconds, 10.0))
        self._transport = transport  # tests substitute one; normally httpx's own
        self._client: httpx.AsyncClient | None = None
        # Whether `GRAPH ?g { }` lists the named graphs, as SPARQL 1.1 says; Virtuoso's binds no ?g.
        # None until a server holding a named graph has shown which (see _lists_graphs_by_empty_pattern).
        self._empty_graph_pattern_lists_graphs: bool | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SparqlGraphStore:
        if not settings.SPARQL_QUERY_URL:
            raise StorageUnavailableError("GRAPH_BACKEND=sparql needs VITALGRAPH_SPARQL_QUERY_URL")
        return cls(
            settings.SPARQL_QUERY_URL,
            settings.SPARQL_UPDATE_URL,
            username=settings.SPARQL_USERNAME,
            password=settings.SPARQL_PASSWORD,
            auth=settings.SPARQL_AUTH,
            query_timeout_seconds=settings.SPARQL_QUERY_TIMEOUT,
        )

    async def open(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(
                auth=self._auth, timeout=self._timeout, transport=self._transport
            )
        try:
            await self._query("ASK {}", RESULTS_JSON)
        except InvalidInputError as exc:
            await self.close()
            raise StorageUnavailableError(
                f"SPARQL server {self.query_url} refused a trivial ASK: {exc}"
            ) from None
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # --- the four operations ----------------------------------------------------------------
    async def select(self, query: str, *, point_lookup: bool = False) -> list[Row]:
        return _rows(await self._query(query, RESULTS_JSON))

    async def construct(self, query: str, *, point_lookup: bool = False) -> list[ox.Triple]:
        return _triples(await self._query(query, N_TRIPLES))

    async def update(self, update: str) -> None:
        await self._post(self.update_url, update, "application/sparql-update", accept="*/*")

    async def query_json(self, query: str, default_graphs: Sequence[str]) -> bytes:
        query = confined_to_dataset(query)  # first: it names a Virtuoso pragma as such
        _require_form(query, QueryForm.SELECT, QueryForm.ASK)
        response = await self._user_query(query, RESULTS_JSON, default_graphs)
        # Only well-formed, standard SPARQL JSON leaves this store, the same whichever server wrote it;
        # serializing reads the (lazily parsed) answer whole, so a cut answer fails here.
        results = _parse_results(response)
        try:
            return results.serialize(format=ox.QueryResultsFormat.JSON)  # type: ignore[return-value]
        except (SyntaxError, ValueError) as exc:
            raise StorageUnavailableError(
                f"SPARQL server sent unreadable results: {_one_line(exc)}"
            ) from None

    async def query_triples(self, query: str, default_graphs: Sequence[str]) -> list[ox.Triple]:
        query = confined_to_dataset(query)  # first: it names a Virtuoso pragma as such
        _require_form(query, QueryForm.CONSTRUCT, QueryForm.DESCRIBE)
        return _triples(await self._user_query(query, N_TRIPLES, default_graphs))

    async def _user_query(self, query: str, accept: str, graphs: Sequence[str]) -> httpx.Response:
        try:
            async with asyncio.timeout(self.query_timeout_seconds):
                # A quiet connection while the server computes is no reason to give up before the limit.
                response = await self._query(query, accept, _dataset_params(graphs), self._user_timeout)
        except TimeoutError:
            raise QueryTimeoutError(
                f"the query ran longer than SPARQL_QUERY_TIMEOUT ({self.query_timeout_seconds:g} s) and was stopped"
            ) from None
        except StorageUnavailableError as exc:  # an error status whose text says the server stopped it
            if SERVER_CANCELLED_MARK.decode() in str(exc):
                raise self._stopped_by_server() from None
            raise
        if response.content.rstrip().endswith(SERVER_CANCELLED_MARK):
            raise self._stopped_by_server()
        return response

    def _stopped_by_server(self) -> QueryTimeoutError:
        return QueryTimeoutError(
            f"the SPARQL server {self.query_url} stopped the query at its own time limit "
            f"(SPARQL_QUERY_TIMEOUT is {self.query_timeout_seconds:g} s); no partial answer is sent"
        )

    async def graphs_with_prefix(self, prefix: str) -> list[str]:
        if await self._lists_graphs_by_empty_pattern():
            return await super().graphs_with_prefix(prefix)
        # Every server answers this one; it reads the graphs' triples, not only their names.
        rows = await self.select(
            "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } "
            f"FILTER(STRSTARTS(STR(?g), {literal(prefix)})) }}"
        )
        return sorted({row["g"].value for row in rows})

    async def _lists_graphs_by_empty_pattern(self) -> bool:
        """Ask the server once it holds a named graph: does `GRAPH ?g { }` find one too?

        Until then (a store with no named graph) the answer is unknown, and both queries agree.
        """
        if self._empty_graph_pattern_lists_graphs is None:
            some_graph = await self.select("SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 1")
            if some_graph:
                listed = await self.select("SELECT ?g WHERE { GRAPH ?g { } } LIMIT 1")
                # Virtuoso answers one row with ?g unbound
                self._empty_graph_pattern_lists_graphs = any("g" in row for row in listed)
            else:
                return True
        return self._empty_graph_pattern_lists_graphs

    # --- HTTP -------------------------------------------------------------------------------
    async def _query(
        self,
        query: str,
        accept: str,
        dataset: list[tuple[str, str]] | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Response:
        form = urlencode([("query", query), *(dataset or [])])
        return await self._post(self.query_url, form, FORM, accept=accept, timeout=timeout)

    async def _post(
        self, url: str, body: str, content_type: str, *, accept: str, timeout: httpx.Timeout | None = None
    ) -> httpx.Response:
        """POST once; again, after a short random pause, when the server reports a deadlock (Virtuoso
        rolls the loser of two conflicting transactions back, so running it again is safe)."""
        for attempt in itertools.count(1):
            response = await self._post_once(url, body, content_type, accept=accept, timeout=timeout)
            if not _deadlocked(response) or attempt >= DEADLOCK_ATTEMPTS:
                return _checked(url, response)
            await asyncio.sleep(random.uniform(0.005, 0.03) * 2 ** min(attempt, 5))
        raise AssertionError("unreachable")

    async def _post_once(
        self, url: str, body: str, content_type: str, *, accept: str, timeout: httpx.Timeout | None
    ) -> httpx.Response:
        if self._client is None:
            raise RuntimeError("graph store is not open")
        try:
            return await self._client.post(
                url,
                content=body.encode(),
                headers={"Content-Type": f"{content_type}; charset=utf-8", "Accept": accept},
                timeout=timeout or self._timeout,
            )
        except httpx.TransportError as exc:
            reason = _one_line(f"{type(exc).__name__}: {exc}")
            raise StorageUnavailableError(f"SPARQL server {url} is unreachable: {reason}") from None


def _deadlocked(response: httpx.Response) -> bool:
    """Virtuoso: a query answers 200 with X-SQL-State 40001 (SR172); an update answers 500 naming it."""
    if INCOMPLETE_RESULTS_HEADER in response.headers:
        state = response.headers[INCOMPLETE_RESULTS_HEADER]
        return state == DEADLOCK_STATE or "SR172" in response.headers.get("X-SQL-Message", "")
    return response.status_code == 500 and "SR172" in response.text[:500]


def _checked(url: str, response: httpx.Response) -> httpx.Response:
    status = response.status_code
    if status in CLIENT_ERROR_STATUSES:
        raise InvalidInputError(f"SPARQL error: {_one_line(response.text)}")
    if status >= 300:
        hint = _hint(status, response.text)
        raise StorageUnavailableError(
            f"SPARQL server {url} answered HTTP {status}{hint}: {_one_line(response.text)}"
        )
    state = response.headers.get(INCOMPLETE_RESULTS_HEADER)
    if state is not None:
        # Virtuoso's answer when it cut a query short (a time limit, a deadlock): part of the rows, with a 200
        message = _one_line(response.headers.get("X-SQL-Message", ""), 120)
        hint = (
            ": raise its [SPARQL] MaxQueryExecutionTime (see docs/deployment.md)" if state == "S1TAT" else ""
        )
        raise StorageUnavailableError(
            f"SPARQL server {url} answered with incomplete results ({state} {message}){hint}"
        )
    return response


def _hint(status: int, body: str) -> str:
    if status in (401, 403):
        return " (check SPARQL_USERNAME / SPARQL_PASSWORD / SPARQL_AUTH)"
    if "SECURITY" in body or "permission" in body.lower():  # Virtuoso: a 500 naming the procedure
        return " (the SPARQL account may not update: see docs/deployment.md on Virtuoso's grants)"
    return ""


def _require_form(query: str, *forms: QueryForm) -> QueryForm:
    """Refuse a query of another form before sending it: a server may answer it anyway (Virtuoso
    sends a CONSTRUCT asked for JSON results as a table, and a SELECT asked for N-Triples as RDF)."""
    form = classify_query(query)
    if form not in forms:
        wanted = " or ".join(f.value for f in forms)
        raise InvalidInputError(f"expected a {wanted} query, got a {form.value}")
    return form


def _dataset_params(graphs: Sequence[str]) -> list[tuple[str, str]]:
    names = list(graphs) or [EMPTY_DATASET_GRAPH]
    return [("default-graph-uri", g) for g in names] + [("named-graph-uri", g) for g in names]


def _parse_results(response: httpx.Response) -> ox.QuerySolutions | ox.QueryBoolean:
    try:
        return ox.parse_query_results(response.content, ox.QueryResultsFormat.JSON)
    except (SyntaxError, ValueError) as exc:
        raise StorageUnavailableError(f"SPARQL server sent unreadable results: {_one_line(exc)}") from None


def _rows(response: httpx.Response) -> list[Row]:
    solutions = _parse_results(response)
    if not isinstance(solutions, ox.QuerySolutions):
        raise InvalidInputError("expected a SELECT query, got an ASK")
    names = [v.value for v in solutions.variables]
    return [{name: sol[name] for name in names if sol[name] is not None} for sol in solutions]


def _triples(response: httpx.Response) -> list[ox.Triple]:
    media_type = response.headers.get("content-type", N_TRIPLES).split(";")[0].strip()
    rdf_format = ox.RdfFormat.from_media_type(media_type) or ox.RdfFormat.N_TRIPLES
    try:
        return [quad.triple for quad in ox.parse(response.content, format=rdf_format)]
    except (SyntaxError, ValueError) as exc:
        raise StorageUnavailableError(
            f"SPARQL server sent unreadable {media_type}: {_one_line(exc)}"
        ) from None


def _one_line(value: object, limit: int = 300) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
