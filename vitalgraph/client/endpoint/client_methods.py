"""The older VitalGraphClient's client-level methods (`await client.list_spaces()`, ...), each
forwarding to its endpoint group with the older client-level signature.

Two forwarded differently on purpose (they were bugs): `upload_file_content(space_id, uri,
file_path, graph_id=None)` put its arguments in the wrong positions, and the client-level KGType
methods passed `graph_id` where the group expected `page_size` or `uri`. Here they arrive where
their names say.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from vitalgraph.client.endpoint.files_endpoint import FilesEndpoint
from vitalgraph.client.endpoint.graphs_endpoint import GraphsEndpoint
from vitalgraph.client.endpoint.kgentities_endpoint import KGEntitiesEndpoint
from vitalgraph.client.endpoint.objects_endpoint import ObjectsEndpoint
from vitalgraph.client.endpoint.spaces_endpoint import SpacesEndpoint
from vitalgraph.client.endpoint.sparql_endpoint import SparqlEndpoint
from vitalgraph.client.endpoint.triples_endpoint import TriplesEndpoint
from vitalgraph.client.response.client_response import (
    FileUploadResponse,
    KGTypeCreateResponse,
    KGTypeDeleteResponse,
    KGTypeResponse,
    KGTypesListResponse,
    KGTypeUpdateResponse,
)

# client-level name -> (group attribute, group class, method name); same signature as the group's
FORWARDED: dict[str, tuple[str, type, str]] = {
    **{
        name: ("spaces", SpacesEndpoint, name)
        for name in (
            "list_spaces",
            "add_space",
            "create_space",
            "get_space",
            "get_space_info",
            "update_space",
            "delete_space",
            "filter_spaces",
        )
    },
    **{
        name: ("graphs", GraphsEndpoint, name)
        for name in ("list_graphs", "get_graph_info", "create_graph", "drop_graph", "clear_graph")
    },
    **{
        name: ("files", FilesEndpoint, name)
        for name in (
            "list_files",
            "get_file",
            "get_files_by_uris",
            "create_file",
            "update_file",
            "delete_file",
            "delete_files_batch",
            "upload_from_generator",
            "download_file_content",
            "download_to_consumer",
            "pump_file",
            "upload_file_stream_async",
            "upload_file_stream",
            "download_file_stream_async",
            "download_file_stream",
        )
    },
    **{
        name: ("kgentities", KGEntitiesEndpoint, name)
        for name in (
            "list_kgentities",
            "get_kgentity",
            "get_kgentities_by_uris",
            "get_kgentities_by_reference_ids",
            "create_kgentities",
            "update_kgentities",
            "delete_kgentity",
            "delete_kgentities_batch",
        )
    },
    **{
        name: ("objects", ObjectsEndpoint, name)
        for name in (
            "list_objects",
            "get_object",
            "create_objects",
            "update_objects",
            "delete_object",
            "delete_objects_batch",
        )
    },
    **{
        name: ("triples", TriplesEndpoint, name) for name in ("list_triples", "add_triples", "delete_triples")
    },
    **{
        name: ("sparql", SparqlEndpoint, name)
        for name in (
            "execute_sparql_query",
            "execute_sparql_query_get",
            "execute_sparql_insert",
            "execute_sparql_update",
            "execute_sparql_delete",
        )
    },
}


def forwarding(group: str, cls: type, name: str) -> Callable[..., Any]:
    target = getattr(cls, name)

    @functools.wraps(target)
    async def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return await getattr(getattr(self, group), name)(*args, **kwargs)

    return method


class ClientLevelMethods:
    """Mixed into the older VitalGraphClient: the forwarded methods plus the ones below."""

    async def upload_file_content(
        self, space_id: str, uri: str, file_path: Any, graph_id: str | None = None
    ) -> FileUploadResponse:
        return await self.files.upload_file_content(space_id, graph_id, uri, file_path)  # type: ignore[attr-defined]

    async def list_kgtypes(
        self,
        space_id: str,
        graph_id: str | None = None,
        page_size: int = 10,
        offset: int = 0,
        search: str | None = None,
    ) -> KGTypesListResponse:
        return await self.kgtypes.list_kgtypes(space_id, page_size, offset, search, graph_id=graph_id)  # type: ignore[attr-defined]

    async def get_kgtype(self, space_id: str, graph_id: str | None, uri: str) -> KGTypeResponse:
        return await self.kgtypes.get_kgtype(space_id, uri, graph_id=graph_id)  # type: ignore[attr-defined]

    async def create_kgtypes(
        self, space_id: str, graph_id: str | None, objects: list[Any]
    ) -> KGTypeCreateResponse:
        return await self.kgtypes.create_kgtypes(space_id, objects, graph_id=graph_id)  # type: ignore[attr-defined]

    async def update_kgtypes(
        self, space_id: str, graph_id: str | None, objects: list[Any]
    ) -> KGTypeUpdateResponse:
        return await self.kgtypes.update_kgtypes(space_id, objects, graph_id=graph_id)  # type: ignore[attr-defined]

    async def delete_kgtype(self, space_id: str, graph_id: str | None, uri: str) -> KGTypeDeleteResponse:
        return await self.kgtypes.delete_kgtype(space_id, uri, graph_id=graph_id)  # type: ignore[attr-defined]

    async def delete_kgtypes_batch(
        self, space_id: str, graph_id: str | None, uri_list: str
    ) -> KGTypeDeleteResponse:
        return await self.kgtypes.delete_kgtypes_batch(space_id, uri_list, graph_id=graph_id)  # type: ignore[attr-defined]


for _name, (_group, _cls, _method) in FORWARDED.items():
    setattr(ClientLevelMethods, _name, forwarding(_group, _cls, _method))
