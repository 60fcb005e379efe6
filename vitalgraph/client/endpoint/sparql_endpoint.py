"""`client.sparql` of the older client: read-only queries, over our `sparql` group.

SELECT and ASK answers keep their SPARQL JSON shape (`head`, `results`, `boolean`). Updates
(`execute_sparql_insert` / `_update` / `_delete` and their `_form` variants) are refused:
VitalGraph's SPARQL is read-only; write through files, kgtypes, kgentities, objects or triples.
"""

from __future__ import annotations

import time

from vitalgraph.client.endpoint.base_endpoint import BaseEndpoint
from vitalgraph.client.errors import InvalidRequestError
from vitalgraph.client.utils.client_utils import validate_required_params
from vitalgraph.model.sparql_model import SPARQLQueryRequest, SPARQLQueryResponse

_READ_ONLY = (
    "VitalGraph's SPARQL endpoint is read-only: write through the files, kgtypes, kgentities, "
    "objects or triples groups instead (docs/migration.md)"
)


class SparqlEndpoint(BaseEndpoint):
    async def execute_sparql_query(self, space_id: str, request: SPARQLQueryRequest) -> SPARQLQueryResponse:
        """A SELECT or ASK over the space's graphs. InvalidRequestError for updates, syntax errors,
        or a `default_graph_uri` / `named_graph_uri` (the dataset is always the space's graphs)."""
        validate_required_params(space_id=space_id, request=request)
        if request.default_graph_uri or request.named_graph_uri:
            raise InvalidRequestError(
                "default_graph_uri / named_graph_uri are not supported: a query always runs over the "
                "space's graphs; use GRAPH <graph_id's graph> or FROM-less patterns",
                status_code=400,
            )
        return await self._query(space_id, request.query)

    async def execute_sparql_query_get(
        self, space_id: str, query: str, format: str = "application/sparql-results+json"
    ) -> SPARQLQueryResponse:
        validate_required_params(space_id=space_id, query=query)
        return await self._query(space_id, query)

    async def _query(self, space_id: str, query: str) -> SPARQLQueryResponse:
        started = time.monotonic()
        answer = await self.api.sparql.query(space_id, query)
        return SPARQLQueryResponse(
            head=answer.head,
            results=answer.results,
            boolean=answer.boolean,
            query_time=time.monotonic() - started,
        )

    async def execute_sparql_insert(self, space_id: str, request: object) -> None:
        raise InvalidRequestError(_READ_ONLY, status_code=400)

    execute_sparql_update = execute_sparql_insert
    execute_sparql_delete = execute_sparql_insert

    async def execute_sparql_insert_form(
        self, space_id: str, update: str, graph_uri: str | None = None
    ) -> None:
        raise InvalidRequestError(_READ_ONLY, status_code=400)

    execute_sparql_delete_form = execute_sparql_insert_form

    async def execute_sparql_update_form(self, space_id: str, update: str) -> None:
        raise InvalidRequestError(_READ_ONLY, status_code=400)
