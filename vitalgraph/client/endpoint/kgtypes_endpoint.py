"""`client.kgtypes` of the older client, over our `kgtypes` group. The older group has no graph_id:
KGTypes live in the space's default graph unless the keyword `graph_id=` names another (the older
client-level methods, `client.list_kgtypes(space_id, graph_id, ...)`, pass it)."""

from __future__ import annotations

from typing import Any

from vitalgraph.client._vitalsigns import as_graph_objects
from vitalgraph.client.endpoint.base_endpoint import BaseEndpoint, failed
from vitalgraph.client.errors import VitalGraphClientError
from vitalgraph.client.response.client_response import (
    KGTypeCreateResponse,
    KGTypeDeleteResponse,
    KGTypeResponse,
    KGTypesListResponse,
    KGTypeUpdateResponse,
)
from vitalgraph.client.utils.client_utils import validate_required_params


class KGTypesEndpoint(BaseEndpoint):
    async def list_kgtypes(
        self,
        space_id: str,
        page_size: int = 10,
        offset: int = 0,
        search: str | None = None,
        type_uri: str | None = None,
        *,
        graph_id: str | None = None,
    ) -> KGTypesListResponse:
        """A page of KGTypes; `type_uri` keeps those of that class (or a subclass)."""
        validate_required_params(space_id=space_id)
        try:
            page = await self.api.kgtypes.list_kgtypes(space_id, graph_id, page_size, offset, search)
        except VitalGraphClientError as error:
            return failed(KGTypesListResponse, error)
        types = [t for t in page.types if type_uri is None or type_uri in (t.class_uri, *t.types)]
        return KGTypesListResponse(
            types=types,
            count=len(types),
            total_count=page.total_count,
            page_size=page.page_size,
            offset=page.offset,
            has_more=page.offset + len(page.types) < page.total_count,
            message=f"Retrieved {len(types)} KGTypes",
        )

    async def get_kgtype(self, space_id: str, uri: str, *, graph_id: str | None = None) -> KGTypeResponse:
        validate_required_params(space_id=space_id, uri=uri)
        try:
            kgtype = await self.api.kgtypes.get_kgtype(space_id, graph_id, uri)
        except VitalGraphClientError as error:
            return failed(KGTypeResponse, error)
        return KGTypeResponse(type=kgtype, message=f"Retrieved KGType: {uri}")

    async def get_kgtypes_by_uris(
        self, space_id: str, uri_list: str, *, graph_id: str | None = None
    ) -> KGTypesListResponse:
        validate_required_params(space_id=space_id, uri_list=uri_list)
        try:
            types = await self.api.kgtypes.get_kgtypes_by_uris(space_id, graph_id, uri_list)
        except VitalGraphClientError as error:
            return failed(KGTypesListResponse, error)
        return KGTypesListResponse(types=types, count=len(types), total_count=len(types))

    async def create_kgtypes(
        self, space_id: str, objects: list[Any], *, graph_id: str | None = None
    ) -> KGTypeCreateResponse:
        validate_required_params(space_id=space_id, objects=objects)
        try:
            created = await self.api.kgtypes.create_kgtypes(space_id, graph_id, as_graph_objects(objects))
        except VitalGraphClientError as error:
            return failed(KGTypeCreateResponse, error)
        return KGTypeCreateResponse(
            created=True,
            created_count=created.created_count,
            created_uris=created.created_uris,
            status_code=201,
            message=f"Created {created.created_count} KGTypes",
        )

    async def update_kgtypes(
        self, space_id: str, objects: list[Any], *, graph_id: str | None = None
    ) -> KGTypeUpdateResponse:
        validate_required_params(space_id=space_id, objects=objects)
        try:
            updated = await self.api.kgtypes.update_kgtypes(space_id, graph_id, as_graph_objects(objects))
        except VitalGraphClientError as error:
            return failed(KGTypeUpdateResponse, error)
        return KGTypeUpdateResponse(
            updated=True, updated_count=updated.updated_count, updated_uris=updated.updated_uris
        )

    async def delete_kgtype(
        self, space_id: str, uri: str, *, graph_id: str | None = None
    ) -> KGTypeDeleteResponse:
        validate_required_params(space_id=space_id, uri=uri)
        try:
            deleted = await self.api.kgtypes.delete_kgtype(space_id, graph_id, uri)
        except VitalGraphClientError as error:
            return failed(KGTypeDeleteResponse, error)
        return KGTypeDeleteResponse(
            deleted=True, deleted_count=deleted.deleted_count, deleted_uris=deleted.deleted_uris
        )

    async def delete_kgtypes_batch(
        self, space_id: str, uri_list: str, *, graph_id: str | None = None
    ) -> KGTypeDeleteResponse:
        """All or nothing: if one is missing, none is deleted (status_code 404)."""
        validate_required_params(space_id=space_id, uri_list=uri_list)
        try:
            deleted = await self.api.kgtypes.delete_kgtypes_batch(space_id, graph_id, uri_list)
        except VitalGraphClientError as error:
            return failed(KGTypeDeleteResponse, error)
        return KGTypeDeleteResponse(
            deleted=True, deleted_count=deleted.deleted_count, deleted_uris=deleted.deleted_uris
        )
