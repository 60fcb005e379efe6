"""A graph store on any SPARQL 1.1 server, spoken to over the SPARQL 1.1 Protocol.

Queries are POSTed as `application/sparql-query`, updates as `application/sparql-update`.
Answers are parsed with pyoxigraph, so rows and triples carry the same terms as the
embedded store's. User queries get their dataset through the protocol's `default-graph-uri`
and `named-graph-uri` parameters, which override any FROM / FROM NAMED in the query text.

User queries stop after `query_timeout_seconds` (QueryTimeoutError); the server should have a time
limit of its own no longer than that (`oxigraph serve --timeout-s`, Virtuoso's MaxQueryExecutionTime),
so it stops working too. Their answers pass only when read whole: oxigraph's server, at its time
limit, ends a 200 answer early with a line of text, which must never reach a user as fewer rows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx
import pyoxigraph as ox

from vitalgraph.config import Settings
from vitalgraph.errors import InvalidInputError, QueryTimeoutError, StorageUnavailableError
from vitalgraph.graph.base import GraphStore, Row

RESULTS_JSON = "application/sparql-results+json"
N_TRIPLES = "application/n-triples"
# Stands in for "no graphs": without any default-graph-uri a server would use its whole default dataset.
EMPTY_DATASET_GRAPH = "urn:vitalgraph:empty-dataset"
# Statuses that mean "this request is wrong"; anything else is the server's or our setup's problem.
CLIENT_ERROR_STATUSES = frozenset({400, 406, 413, 414, 415, 422})
DEFAULT_TIMEOUT_SECONDS = 60.0
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
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        query_timeout_seconds: float = DEFAULT_QUERY_TIMEOUT_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.query_url = query_url
        self.update_url = update_url or query_url  # many servers take both on one endpoint
        self._auth = httpx.BasicAuth(username, password or "") if username else None
        self._timeout = httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 10.0))
        self.query_timeout_seconds = query_timeout_seconds
        self._user_timeout = httpx.Timeout(query_timeout_seconds + 5, connect=min(timeout_seconds, 10.0))
        self._transport = transport  # tests substitute one; normally httpx's own
        self._client: httpx.AsyncClient | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SparqlGraphStore:
        if not settings.SPARQL_QUERY_URL:
            raise StorageUnavailableError("GRAPH_BACKEND=sparql needs VITALGRAPH_SPARQL_QUERY_URL")
        return cls(
            settings.SPARQL_QUERY_URL,
            settings.SPARQL_UPDATE_URL,
            username=settings.SPARQL_USERNAME,
            password=settings.SPARQL_PASSWORD,
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
        response = await self._user_query(query, RESULTS_JSON, default_graphs)
        results = _parse_results(response)
        if isinstance(results, ox.QuerySolutions):
            _read_whole(results)  # the parser is lazy: a cut answer fails only at its end
        return response.content

    async def query_triples(self, query: str, default_graphs: Sequence[str]) -> list[ox.Triple]:
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

    # --- HTTP -------------------------------------------------------------------------------
    async def _query(
        self,
        query: str,
        accept: str,
        params: list[tuple[str, str]] | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Response:
        return await self._post(
            self.query_url, query, "application/sparql-query", accept=accept, params=params, timeout=timeout
        )

    async def _post(
        self,
        url: str,
        body: str,
        content_type: str,
        *,
        accept: str,
        params: list[tuple[str, str]] | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Response:
        if self._client is None:
            raise RuntimeError("graph store is not open")
        try:
            response = await self._client.post(
                url,
                content=body.encode(),
                params=params,
                headers={"Content-Type": f"{content_type}; charset=utf-8", "Accept": accept},
                timeout=timeout or self._timeout,
            )
        except httpx.TransportError as exc:
            reason = _one_line(f"{type(exc).__name__}: {exc}")
            raise StorageUnavailableError(f"SPARQL server {url} is unreachable: {reason}") from None
        status = response.status_code
        if status in CLIENT_ERROR_STATUSES:
            raise InvalidInputError(f"SPARQL error: {_one_line(response.text)}")
        if status >= 300:
            hint = " (check SPARQL_USERNAME / SPARQL_PASSWORD)" if status in (401, 403) else ""
            raise StorageUnavailableError(
                f"SPARQL server {url} answered HTTP {status}{hint}: {_one_line(response.text)}"
            )
        return response


def _dataset_params(graphs: Sequence[str]) -> list[tuple[str, str]]:
    names = list(graphs) or [EMPTY_DATASET_GRAPH]
    return [("default-graph-uri", g) for g in names] + [("named-graph-uri", g) for g in names]


def _parse_results(response: httpx.Response) -> ox.QuerySolutions | ox.QueryBoolean:
    try:
        return ox.parse_query_results(response.content, ox.QueryResultsFormat.JSON)
    except (SyntaxError, ValueError) as exc:
        raise StorageUnavailableError(f"SPARQL server sent unreadable results: {_one_line(exc)}") from None


def _read_whole(solutions: ox.QuerySolutions) -> None:
    try:
        for _ in solutions:
            pass
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
