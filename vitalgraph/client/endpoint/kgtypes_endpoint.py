"""`client.kgtypes` of the older client, over our `kgtypes` group. The older group has no graph_id:
KGTypes live in the space's default graph unless the keyword `graph_id=` names another (the older
client-level methods, `client.list_kgtypes(space_id, graph_id, ...)`, pass it)."""

from __future__ import annotations

from typing import Any

from vitalgraph.client._vitalsigns import as_graph_objects
from vitalgraph.client.endpoint.base_endpoint import BaseEndpoint, answered, outcome, paging, reported
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

        def answer(page: Any) -> KGTypesListResponse:
            types = [t for t in page.types if type_uri is None or type_uri in (t.class_uri, *t.types)]
            return KGTypesListResponse(
                types=types,
                count=len(types),
                **paging(page, len(page.types)),
                message=f"Retrieved {len(types)} KGTypes",
            )

        pending = self.api.kgtypes.list_kgtypes(space_id, graph_id, page_size, offset, search)
        return await reported(KGTypesListResponse, pending, answer)

    async def get_kgtype(self, space_id: str, uri: str, *, graph_id: str | None = None) -> KGTypeResponse:
        validate_required_params(space_id=space_id, uri=uri)
        pending = self.api.kgtypes.get_kgtype(space_id, graph_id, uri)
        return await reported(
            KGTypeResponse,
            pending,
            lambda kgtype: KGTypeResponse(type=kgtype, message=f"Retrieved KGType: {uri}"),
        )

    async def get_kgtypes_by_uris(
        self, space_id: str, uri_list: str, *, graph_id: str | None = None
    ) -> KGTypesListResponse:
        validate_required_params(space_id=space_id, uri_list=uri_list)
        pending = self.api.kgtypes.get_kgtypes_by_uris(space_id, graph_id, uri_list)
        return await reported(
            KGTypesListResponse,
            pending,
            lambda types: KGTypesListResponse(types=types, count=len(types), total_count=len(types)),
        )

    async def create_kgtypes(
        self, space_id: str, objects: list[Any], *, graph_id: str | None = None
    ) -> KGTypeCreateResponse:
        validate_required_params(space_id=space_id, objects=objects)
        pending = self.api.kgtypes.create_kgtypes(space_id, graph_id, as_graph_objects(objects))

        def answer(reply: Any) -> KGTypeCreateResponse:
            return outcome(
                KGTypeCreateResponse,
                "created",
                reply,
                status_code=201,
                message=f"Created {reply.created_count} KGTypes",
            )

        return await reported(KGTypeCreateResponse, pending, answer)

    async def update_kgtypes(
        self, space_id: str, objects: list[Any], *, graph_id: str | None = None
    ) -> KGTypeUpdateResponse:
        validate_required_params(space_id=space_id, objects=objects)
        pending = self.api.kgtypes.update_kgtypes(space_id, graph_id, as_graph_objects(objects))
        return await answered(KGTypeUpdateResponse, "updated", pending)

    async def delete_kgtype(
        self, space_id: str, uri: str, *, graph_id: str | None = None
    ) -> KGTypeDeleteResponse:
        validate_required_params(space_id=space_id, uri=uri)
        pending = self.api.kgtypes.delete_kgtype(space_id, graph_id, uri)
        return await answered(KGTypeDeleteResponse, "deleted", pending)

    async def delete_kgtypes_batch(
        self, space_id: str, uri_list: str, *, graph_id: str | None = None
    ) -> KGTypeDeleteResponse:
        """All or nothing: if one is missing, none is deleted (status_code 404)."""
        validate_required_params(space_id=space_id, uri_list=uri_list)
        pending = self.api.kgtypes.delete_kgtypes_batch(space_id, graph_id, uri_list)
        return await answered(KGTypeDeleteResponse, "deleted", pending)
