"""`client.objects` of the older client, over our `objects` group. Requests are JSON-LD documents
(`JsonLdObject` / `JsonLdDocument`, as before) or GraphObjects; objects come back as GraphObjects."""

from __future__ import annotations

from typing import Any

from vitalgraph.client._vitalsigns import as_graph_objects
from vitalgraph.client.endpoint.base_endpoint import BaseEndpoint, answered, paging, reported
from vitalgraph.client.errors import InvalidRequestError
from vitalgraph.client.response.client_response import (
    ObjectCreateResponse,
    ObjectDeleteResponse,
    ObjectResponse,
    ObjectsListResponse,
    ObjectUpdateResponse,
)
from vitalgraph.client.utils.client_utils import validate_required_params
from vitalgraph.errors import VitalGraphError
from vitalgraph.model import GraphObject
from vitalgraph.model.jsonld_model import JsonLdDocument, JsonLdObject, jsonld_of


def objects_of(document: Any) -> list[GraphObject]:
    """GraphObjects from a JsonLdObject / JsonLdDocument / JSON-LD dict, or GraphObjects as they are."""
    if isinstance(document, (JsonLdObject, JsonLdDocument, dict)):
        try:
            return GraphObject.from_jsonld(jsonld_of(document))
        except VitalGraphError as exc:
            raise InvalidRequestError(
                f"not a JSON-LD document of graph objects: {exc}", status_code=400
            ) from None
    return as_graph_objects(document)


class ObjectsEndpoint(BaseEndpoint):
    async def list_objects(
        self, space_id: str, graph_id: str, page_size: int = 10, offset: int = 0, search: str | None = None
    ) -> ObjectsListResponse:
        validate_required_params(space_id=space_id, graph_id=graph_id)
        pending = self.api.objects.list_objects(space_id, graph_id, page_size, offset, search)
        return await reported(ObjectsListResponse, pending, _page)

    async def get_object(self, space_id: str, graph_id: str, uri: str) -> ObjectResponse:
        validate_required_params(space_id=space_id, graph_id=graph_id, uri=uri)
        pending = self.api.objects.get_object(space_id, graph_id, uri)
        return await reported(
            ObjectResponse,
            pending,
            lambda obj: ObjectResponse(object=obj, message=f"Retrieved object: {uri}"),
        )

    async def create_objects(self, space_id: str, graph_id: str, document: Any) -> ObjectCreateResponse:
        validate_required_params(space_id=space_id, graph_id=graph_id, document=document)
        pending = self.api.objects.create_objects(space_id, graph_id, objects_of(document))
        return await answered(ObjectCreateResponse, "created", pending, status_code=201)

    async def update_objects(self, space_id: str, graph_id: str, document: Any) -> ObjectUpdateResponse:
        validate_required_params(space_id=space_id, graph_id=graph_id, document=document)
        pending = self.api.objects.update_objects(space_id, graph_id, objects_of(document))
        return await answered(ObjectUpdateResponse, "updated", pending)

    async def delete_object(self, space_id: str, graph_id: str, uri: str) -> ObjectDeleteResponse:
        validate_required_params(space_id=space_id, graph_id=graph_id, uri=uri)
        pending = self.api.objects.delete_object(space_id, graph_id, uri)
        return await answered(ObjectDeleteResponse, "deleted", pending)

    async def delete_objects_batch(self, space_id: str, graph_id: str, uri_list: str) -> ObjectDeleteResponse:
        validate_required_params(space_id=space_id, graph_id=graph_id, uri_list=uri_list)
        pending = self.api.objects.delete_objects_batch(space_id, graph_id, uri_list)
        return await answered(ObjectDeleteResponse, "deleted", pending)


def _page(page: Any) -> ObjectsListResponse:
    return ObjectsListResponse(
        objects=page.objects,
        count=len(page.objects),
        **paging(page, len(page.objects)),
    )
