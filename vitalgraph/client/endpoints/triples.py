"""`client.triples`: a graph's raw triples, as JSON quads (list by pattern, add, delete by pattern).

Terms are N-Triples text (`<uri>`, `"text"`, `"3"^^<datatype>`); patterns take a URI or a term.
File facts the server measures (size, SHA-256, blob key) cannot be written or removed here.
"""

from __future__ import annotations

from collections.abc import Sequence

from vitalgraph.client._requests import Call, model_reply, query
from vitalgraph.client.endpoints._operation import AsyncEndpointGroup, SyncEndpointGroup
from vitalgraph.model.quad_model import Quad
from vitalgraph.model.triples_model import TripleListResponse, TripleOperationResponse

TRIPLES_PATH = "/api/graphs/triples"


class TripleCalls:
    @staticmethod
    def list_triples(
        space_id: str,
        graph_id: str | None = None,
        page_size: int = 100,
        offset: int = 0,
        subject: str | None = None,
        predicate: str | None = None,
        object: str | None = None,
        object_filter: str | None = None,
    ) -> Call[TripleListResponse]:
        params = query(
            space_id=space_id,
            graph_id=graph_id,
            page_size=page_size,
            offset=offset,
            subject=subject,
            predicate=predicate,
            object=object,
            object_filter=object_filter,
        )
        return Call("GET", TRIPLES_PATH, model_reply(TripleListResponse), params=params)

    @staticmethod
    def add_triples(
        space_id: str, graph_id: str | None, quads: Sequence[Quad | dict]
    ) -> Call[TripleOperationResponse]:
        """Add the quads' triples to the graph (their graph terms are ignored)."""
        body = {
            "quads": [
                q.model_dump() if isinstance(q, Quad) else Quad.model_validate(q).model_dump() for q in quads
            ]
        }
        params = query(space_id=space_id, graph_id=graph_id)
        return Call("POST", TRIPLES_PATH, model_reply(TripleOperationResponse), params=params, json=body)

    @staticmethod
    def delete_triples(
        space_id: str,
        graph_id: str | None,
        subject: str | None = None,
        predicate: str | None = None,
        object: str | None = None,
    ) -> Call[TripleOperationResponse]:
        """Delete every triple matching the pattern (at least one part)."""
        params = query(
            space_id=space_id, graph_id=graph_id, subject=subject, predicate=predicate, object=object
        )
        return Call("DELETE", TRIPLES_PATH, model_reply(TripleOperationResponse), params=params)


class AsyncTriplesEndpoint(AsyncEndpointGroup, calls=TripleCalls):
    """The group of AsyncVitalGraphClient: a method for each of TripleCalls."""


class TriplesEndpoint(SyncEndpointGroup, calls=TripleCalls):
    """The group of VitalGraphClient: a method for each of TripleCalls."""
