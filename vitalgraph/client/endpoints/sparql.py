"""`client.sparql`: read-only SPARQL 1.1 SELECT and ASK queries over one space's graphs."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from vitalgraph.client._requests import Call
from vitalgraph.client.endpoints._operation import AsyncEndpointGroup, SyncEndpointGroup
from vitalgraph.client.errors import VitalGraphClientError
from vitalgraph.client.models import SparqlResults

RESULTS_JSON = "application/sparql-results+json"


def _results(response: httpx.Response) -> SparqlResults:
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    if media_type != RESULTS_JSON:
        raise VitalGraphClientError(
            f"the query answered with {media_type or 'no content type'}, not SPARQL JSON results: "
            "client.sparql.query takes SELECT and ASK queries"
        )
    return SparqlResults.model_validate(response.json())


class SparqlCalls:
    @staticmethod
    def query(space_id: str, query: str) -> Call[SparqlResults]:
        """Run a SELECT or ASK query over the space's graphs (their union is the default graph).
        Updates, SERVICE and syntax errors raise InvalidRequestError with the server's reason."""
        path = f"/api/graphs/sparql/{quote(space_id, safe='')}/query"
        return Call("POST", path, _results, json={"query": query}, headers={"Accept": RESULTS_JSON})


class AsyncSparqlEndpoint(AsyncEndpointGroup, calls=SparqlCalls):
    """The group of AsyncVitalGraphClient: a method for each of SparqlCalls."""


class SparqlEndpoint(SyncEndpointGroup, calls=SparqlCalls):
    """The group of VitalGraphClient: a method for each of SparqlCalls."""
