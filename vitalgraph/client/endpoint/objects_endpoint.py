"""`client.objects` of the older client, over our `objects` group. Requests are JSON-LD documents
(`JsonLdObject` / `JsonLdDocument`, as before) or GraphObjects; objects come back as GraphObjects."""

from __future__ import annotations

from typing import Any

from vitalgraph.client._vitalsigns import as_graph_objects
from vitalgraph.client.endpoint.base_endpoint import BaseEndpoint, failed
from vitalgraph.client.errors import InvalidRequestError, VitalGraphClientError
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
        try:
            page = await self.api.objects.list_objects(space_id, graph_id, page_size, offset, search)
        except VitalGraphClientError as error:
            return failed(ObjectsListResponse, error)
        return ObjectsListResponse(
            objects=page.objects,
            count=len(page.objects),
            total_count=page.total_count,
            page_size=page.page_size,
            offset=page.offset,
            has_more=page.offset + len(page.objects) < page.total_count,
        )

    async def get_object(self, space_id: str, graph_id: str, uri: str) -> ObjectResponse:
        validate_required_params(space_id=space_id, graph_id=graph_id, uri=uri)
        try:
            obj = await self.api.objects.get_object(space_id, graph_id, uri)
        except VitalGraphClientError as error:
            return failed(ObjectResponse, error)
        return ObjectResponse(object=obj, message=f"Retrieved object: {uri}")

    async def create_objects(self, space_id: str, graph_id: str, document: Any) -> ObjectCreateResponse:
        validate_required_params(space_id=space_id, graph_id=graph_id, document=document)
        try:
            created = await self.api.objects.create_objects(space_id, graph_id, objects_of(document))
        except VitalGraphClientError as error:
            return failed(ObjectCreateResponse, error)
        return ObjectCreateResponse(
            created=True,
            created_count=created.created_count,
            created_uris=created.created_uris,
            status_code=201,
        )

    async def update_objects(self, space_id: str, graph_id: str, document: Any) -> ObjectUpdateResponse:
        validate_required_params(space_id=space_id, graph_id=graph_id, document=document)
        try:
            updated = await self.api.objects.update_objects(space_id, graph_id, objects_of(document))
        except VitalGraphClientError as error:
            return failed(ObjectUpdateResponse, error)
        return ObjectUpdateResponse(
            updated=True, updated_count=updated.updated_count, updated_uris=updated.updated_uris
        )

    async def delete_object(self, space_id: str, graph_id: str, uri: str) -> ObjectDeleteResponse:
        validate_required_params(space_id=space_id, graph_id=graph_id, uri=uri)
        try:
            deleted = await self.api.objects.delete_object(space_id, graph_id, uri)
        except VitalGraphClientError as error:
            return failed(ObjectDeleteResponse, error)
        return ObjectDeleteResponse(
            deleted=True, deleted_count=deleted.deleted_count, deleted_uris=deleted.deleted_uris
        )

    async def delete_objects_batch(self, space_id: str, graph_id: str, uri_list: str) -> ObjectDeleteResponse:
        validate_required_params(space_id=space_id, graph_id=graph_id, uri_list=uri_list)
        try:
            deleted = await self.api.objects.delete_objects_batch(space_id, graph_id, uri_list)
        except VitalGraphClientError as error:
            return failed(ObjectDeleteResponse, error)
        return ObjectDeleteResponse(
            deleted=True, deleted_count=deleted.deleted_count, deleted_uris=deleted.deleted_uris
        )
