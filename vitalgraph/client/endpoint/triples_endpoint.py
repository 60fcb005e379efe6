"""`client.triples` of the older client, over our `triples` group (quads both ways)."""

from __future__ import annotations

from typing import Any

from vitalgraph.client.endpoint.base_endpoint import BaseEndpoint
from vitalgraph.client.endpoint.objects_endpoint import objects_of
from vitalgraph.client.errors import VitalGraphClientError
from vitalgraph.client.utils.client_utils import validate_required_params
from vitalgraph.model.quad_model import Quad, QuadRequest, objects_to_quads
from vitalgraph.model.triples_model import TripleListResponse, TripleOperationResponse


class TriplesEndpoint(BaseEndpoint):
    async def list_triples(
        self,
        space_id: str,
        graph_id: str,
        page_size: int = 10,
        offset: int = 0,
        subject: str | None = None,
        predicate: str | None = None,
        object: str | None = None,
        object_filter: str | None = None,
    ) -> TripleListResponse:
        validate_required_params(space_id=space_id, graph_id=graph_id)
        return await self.api.triples.list_triples(
            space_id, graph_id, page_size, offset, subject, predicate, object, object_filter
        )

    async def add_triples(self, space_id: str, graph_id: str, document: Any) -> TripleOperationResponse:
        """`document`: a QuadRequest or list of Quads, a JSON-LD document, or GraphObjects."""
        validate_required_params(space_id=space_id, graph_id=graph_id, document=document)
        if isinstance(document, QuadRequest):
            quads = document.quads
        elif isinstance(document, list) and all(isinstance(q, Quad) for q in document):
            quads = document
        else:
            quads = objects_to_quads(objects_of(document))
        return await self.api.triples.add_triples(space_id, graph_id, quads)

    async def delete_triples(
        self,
        space_id: str,
        graph_id: str,
        subject: str | None = None,
        predicate: str | None = None,
        object: str | None = None,
    ) -> TripleOperationResponse:
        validate_required_params(space_id=space_id, graph_id=graph_id)
        if not (subject or predicate or object):
            raise VitalGraphClientError(
                "At least one pattern filter (subject/predicate/object) must be provided for deletion"
            )
        return await self.api.triples.delete_triples(space_id, graph_id, subject, predicate, object)
