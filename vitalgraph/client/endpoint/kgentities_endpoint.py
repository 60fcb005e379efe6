"""`client.kgentities` of the older client, over our `kgentities` group.

Its `include_entity_graph` is our `include_attachments` (the entity with the frames, slots and edges
that attach its files, and those FileNodes); `delete_entity_graph` is accepted (our delete always
removes an entity's frames, slots and edges; `delete_attachments=True` also deletes its files).
Its list filters and sorting, reference ids and `parent_uri` are sent to the server, which applies
them as the older server did. Failures raise VitalGraphClientError, as the older methods did.

The counts, `query_entities`, `update_entity_only` and the frame methods are one request each to
the server's routes for them (`/api/graphs/kgentities/count`, `/counts`, `/query`, `/kgframes`),
where each is one atomic read or write.
"""

from __future__ import annotations

import inspect
from typing import Any

from vitalgraph.client._vitalsigns import as_graph_objects
from vitalgraph.client.endpoint.base_endpoint import BaseEndpoint, failed
from vitalgraph.client.endpoints._graph_objects import split_uris
from vitalgraph.client.errors import InvalidRequestError, NotFoundError, VitalGraphClientError
from vitalgraph.client.response.client_response import (
    CreateEntityResponse,
    DeleteResponse,
    EntityGraph,
    EntityGraphResponse,
    EntityResponse,
    FrameGraph,
    FrameGraphResponse,
    FrameResponse,
    MultiEntityGraphResponse,
    MultiFrameGraphResponse,
    PaginatedGraphObjectResponse,
    QueryResponse,
    UpdateEntityResponse,
)
from vitalgraph.client.utils.client_utils import validate_required_params
from vitalgraph.model import KGFrame


def _update_reply(uris: list[str], message: str) -> UpdateEntityResponse:
    return UpdateEntityResponse(updated_uri=uris[0] if uris else None, updated_uris=uris, message=message)


class KGEntitiesEndpoint(BaseEndpoint):
    async def list_kgentities(
        self,
        space_id: str,
        graph_id: str,
        page_size: int = 10,
        offset: int = 0,
        entity_type_uri: str | None = None,
        search: str | None = None,
        include_entity_graph: bool = False,
        sort_by: str | None = None,
        sort_order: str = "asc",
        status: str | None = None,
        exclude_status: str | None = None,
        created_after: str | None = None,
        created_before: str | None = None,
        modified_after: str | None = None,
        modified_before: str | None = None,
        action_type: str | None = None,
        provenance_type: str | None = None,
    ) -> PaginatedGraphObjectResponse | MultiEntityGraphResponse:
        """A page of entities matching the filters (server-side, as the older server filtered: docs/api.md),
        by URI or sorted by the property `sort_by` in `sort_order`."""
        validate_required_params(space_id=space_id, graph_id=graph_id)
        filters = {name: value for name, value in locals().items() if name in _LIST_FILTERS}
        page = await self.api.kgentities.list_kgentities(
            space_id, graph_id, page_size, offset, search, sort_by, sort_order, **filters
        )
        entities = page.entities
        paging = {
            "total_count": page.total_count,
            "page_size": page.page_size,
            "offset": page.offset,
            "has_more": page.offset + len(page.entities) < page.total_count,
        }
        if include_entity_graph:
            graphs = [await self._entity_graph(space_id, graph_id, e.URI) for e in entities]
            return MultiEntityGraphResponse(graph_list=graphs, space_id=space_id, graph_id=graph_id, **paging)
        return PaginatedGraphObjectResponse(
            objects=entities,
            space_id=space_id,
            graph_id=graph_id,
            entity_type_uri=entity_type_uri,
            search=search,
            message=f"Retrieved {len(entities)} entities",
            **paging,
        )

    async def get_kgentity(
        self,
        space_id: str,
        graph_id: str,
        uri: str | None = None,
        reference_id: str | None = None,
        include_entity_graph: bool = False,
    ) -> EntityResponse | EntityGraphResponse:
        if uri and reference_id:
            raise InvalidRequestError("Cannot specify both uri and reference_id")
        if not uri and not reference_id:
            raise InvalidRequestError("Must specify either uri or reference_id")
        validate_required_params(space_id=space_id, graph_id=graph_id)
        if reference_id:
            found = await self.api.kgentities.get_kgentities_by_reference_ids(
                space_id, graph_id, [reference_id]
            )
            if not found:
                raise NotFoundError(f"no KGEntity has reference id {reference_id}", status_code=404)
            uri = found[0].URI
        if include_entity_graph:
            graph = await self._entity_graph(space_id, graph_id, uri)
            return EntityGraphResponse(objects=graph, space_id=space_id, graph_id=graph_id, requested_uri=uri)
        entity = await self.api.kgentities.get_kgentity(space_id, graph_id, uri)
        return EntityResponse(
            objects=[entity], space_id=space_id, graph_id=graph_id, message="Retrieved entity"
        )

    async def get_kgentities_by_uris(
        self, space_id: str, graph_id: str, uris: list[str], include_entity_graph: bool = False
    ) -> PaginatedGraphObjectResponse | MultiEntityGraphResponse:
        validate_required_params(space_id=space_id, graph_id=graph_id, uris=uris)
        if include_entity_graph:
            graphs = [await self._entity_graph(space_id, graph_id, u) for u in split_uris(uris)]
            return MultiEntityGraphResponse(
                graph_list=graphs,
                total_count=len(graphs),
                page_size=len(graphs),
                space_id=space_id,
                graph_id=graph_id,
            )
        entities = await self.api.kgentities.get_kgentities_by_uris(space_id, graph_id, uris)
        return PaginatedGraphObjectResponse(
            objects=entities,
            total_count=len(entities),
            page_size=len(entities),
            space_id=space_id,
            graph_id=graph_id,
        )

    async def get_kgentities_by_reference_ids(
        self, space_id: str, graph_id: str, reference_ids: list[str], include_entity_graph: bool = False
    ) -> PaginatedGraphObjectResponse | MultiEntityGraphResponse:
        """The entities whose hasReferenceIdentifier is one of `reference_ids` (unknown ids left out)."""
        validate_required_params(space_id=space_id, graph_id=graph_id, reference_ids=reference_ids)
        found = await self.api.kgentities.get_kgentities_by_reference_ids(space_id, graph_id, reference_ids)
        return (
            await self.get_kgentities_by_uris(
                space_id, graph_id, [e.URI for e in found], include_entity_graph
            )
            if found
            else PaginatedGraphObjectResponse(objects=[], space_id=space_id, graph_id=graph_id)
        )

    async def create_kgentities(
        self, space_id: str, graph_id: str, objects: list[Any], parent_uri: str | None = None
    ) -> CreateEntityResponse:
        """Create entities (with any frames, slots and edges sent along); ConflictError if one exists."""
        validate_required_params(space_id=space_id, graph_id=graph_id, objects=objects)
        created = await self.api.kgentities.create_kgentities(
            space_id, graph_id, as_graph_objects(objects), parent_uri
        )
        return CreateEntityResponse(
            created_count=created.created_count,
            created_uris=created.created_uris,
            status_code=201,
            message=f"Created {created.created_count} entities",
        )

    async def update_kgentities(
        self, space_id: str, graph_id: str, objects: list[Any], parent_uri: str | None = None
    ) -> UpdateEntityResponse:
        validate_required_params(space_id=space_id, graph_id=graph_id, objects=objects)
        updated = await self.api.kgentities.update_kgentities(
            space_id, graph_id, as_graph_objects(objects), parent_uri=parent_uri
        )
        return _update_reply(updated.updated_uris, "Updated entities")

    async def delete_kgentity(
        self,
        space_id: str,
        graph_id: str,
        uri: str,
        delete_entity_graph: bool = False,
        delete_attachments: bool = False,
    ) -> DeleteResponse:
        validate_required_params(space_id=space_id, graph_id=graph_id, uri=uri)
        deleted = await self.api.kgentities.delete_kgentity(space_id, graph_id, str(uri), delete_attachments)
        return DeleteResponse(
            deleted_count=deleted.deleted_count,
            deleted_uris=deleted.deleted_uris,
            space_id=space_id,
            graph_id=graph_id,
            requested_uris=[str(uri)],
            metadata={
                "delete_entity_graph": delete_entity_graph,
                "deleted_related_uris": deleted.deleted_related_uris,
                "deleted_file_uris": deleted.deleted_file_uris,
            },
        )

    async def delete_kgentities_batch(
        self, space_id: str, graph_id: str, uri_list: list[str], delete_attachments: bool = False
    ) -> DeleteResponse:
        """All or nothing: if one is missing, none is deleted (NotFoundError)."""
        uris = [str(u) for u in split_uris(uri_list)]
        validate_required_params(space_id=space_id, graph_id=graph_id, uri_list=uris)
        deleted = await self.api.kgentities.delete_kgentities_batch(
            space_id, graph_id, uris, delete_attachments
        )
        return DeleteResponse(
            deleted_count=deleted.deleted_count,
            deleted_uris=deleted.deleted_uris,
            space_id=space_id,
            graph_id=graph_id,
            requested_uris=uris,
        )

    async def update_entity_only(
        self, space_id: str, graph_id: str, objects: list[Any]
    ) -> UpdateEntityResponse:
        """Replace the entities' own properties; their frames, slots and edges stay as they are.
        Only KGEntity objects may be sent (400 otherwise); a missing entity is a 404."""
        validate_required_params(space_id=space_id, graph_id=graph_id, objects=objects)
        updated = await self.api.kgentities.update_kgentities(
            space_id, graph_id, as_graph_objects(objects), entity_only=True
        )
        return _update_reply(updated.updated_uris, "Updated entity (entity_only)")

    async def count_kgentities(
        self,
        space_id: str,
        graph_id: str,
        entity_type_uri: str | None = None,
        search: str | None = None,
        sort_by: str | None = None,
        status: str | None = None,
        exclude_status: str | None = None,
        created_after: str | None = None,
        created_before: str | None = None,
        modified_after: str | None = None,
        modified_before: str | None = None,
    ) -> int:
        """The number of entities matching `entity_type_uri` (kGEntityType), `search` and the status and
        date filters, having the property `sort_by`."""
        validate_required_params(space_id=space_id, graph_id=graph_id)
        filters = {name: value for name, value in locals().items() if name in _count_filters()}
        return await self.api.kgentities.count_kgentities(space_id, graph_id, **filters)

    async def batch_count_kgentities(
        self, space_id: str, graph_id: str, count_requests: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """`[{"label": ..., "count": n}, ...]`, one per request (its filters as in count_kgentities)."""
        validate_required_params(space_id=space_id, graph_id=graph_id)
        return await self.api.kgentities.batch_count_kgentities(space_id, graph_id, count_requests)

    async def query_entities(
        self, space_id: str, graph_id: str, query_criteria: dict[str, Any]
    ) -> QueryResponse:
        """`query_criteria` is the older request: `{"criteria": {...}, "page_size": 10, "offset": 0}`."""
        validate_required_params(space_id=space_id, graph_id=graph_id, query_criteria=query_criteria)
        if not isinstance(query_criteria.get("criteria"), dict):
            raise InvalidRequestError(
                'query_criteria needs "criteria": {...} (docs/migration.md)', status_code=400
            )
        page = await self.api.kgentities.query_kgentities(
            space_id,
            graph_id,
            query_criteria["criteria"],
            query_criteria.get("page_size", 10),
            query_criteria.get("offset", 0),
        )
        return QueryResponse(
            objects=page.entities,
            space_id=space_id,
            graph_id=graph_id,
            query_criteria=query_criteria,
            query_info={"total_results": page.total_count},
            message=f"Query returned {len(page.entities)} results",
        )

    # --- frames ---------------------------------------------------------------------------------
    async def get_kgentity_frames(
        self,
        space_id: str,
        graph_id: str,
        entity_uri: str,
        frame_uris: list[str] | None = None,
        parent_frame_uri: str | None = None,
        page_size: int = 10,
        offset: int = 0,
        search: str | None = None,
        sort_by: str | None = None,
        sort_order: str = "asc",
        include_slot_counts: bool = False,
    ) -> FrameResponse | FrameGraphResponse | MultiFrameGraphResponse:
        """Without `frame_uris`, a page of the entity's frames (FrameResponse). With one, that frame's
        graph (FrameGraphResponse: the frame, its Edge_hasKGSlot edges and slots; status 404 in the
        response if the entity has no such frame); with several, MultiFrameGraphResponse (frames the
        entity does not have are left out). `parent_frame_uri`: only the frames under that frame.
        A page may be narrowed by `search` (a literal containing it) and sorted by the KGFrame
        property `sort_by` (`sort_order` asc or desc); `include_slot_counts` gives each listed frame's
        number of slots in `slot_counts` (0 included)."""
        validate_required_params(space_id=space_id, graph_id=graph_id, entity_uri=entity_uri)
        kg = self.api.kgentities
        if not frame_uris:
            page = await kg.list_entity_frames(
                space_id,
                graph_id,
                entity_uri,
                page_size,
                offset,
                parent_frame_uri,
                search,
                sort_by,
                sort_order,
                include_slot_counts,
            )
            return FrameResponse(
                objects=page.frames,
                space_id=space_id,
                graph_id=graph_id,
                message=f"Retrieved {len(page.frames)} frames",
                metadata={"total_count": page.total_count},
                slot_counts=page.slot_counts,
            )
        requested = [str(u) for u in split_uris(frame_uris)]
        found = await kg.get_entity_frame_graphs(space_id, graph_id, entity_uri, requested, parent_frame_uri)
        graphs = [FrameGraph(frame_uri=uri, objects=objects) for uri, objects in found.items()]
        if len(requested) > 1:
            return MultiFrameGraphResponse(
                frame_graph_list=graphs,
                space_id=space_id,
                graph_id=graph_id,
                entity_uri=entity_uri,
                requested_frame_uris=requested,
                message=f"Retrieved {len(graphs)} frame graphs",
            )
        fields = {"space_id": space_id, "graph_id": graph_id, "entity_uri": entity_uri}
        if not graphs:
            detail = f"entity {entity_uri} has no frame {requested[0]}"
            return FrameGraphResponse(
                error_code=1,
                error_message=detail,
                message=detail,
                status_code=404,
                requested_frame_uri=requested[0],
                **fields,
            )
        return FrameGraphResponse(
            frame_graph=graphs[0],
            requested_frame_uri=requested[0],
            message=f"Retrieved frame graph with {graphs[0].count} objects",
            **fields,
        )

    async def create_entity_frames(
        self,
        space_id: str,
        graph_id: str,
        entity_uri: str,
        objects: list[Any],
        parent_frame_uri: str | None = None,
        operation_mode: str = "create",
        if_unmodified_since: str | None = None,
    ) -> FrameResponse:
        """Frames of the entity with their slots and edges, in one atomic write (`operation_mode`
        create, update, upsert, or replace: all the entity's frames, or those under
        `parent_frame_uri`, give way to the ones sent); a frame sent without an Edge_hasEntityKGFrame
        gets one. `if_unmodified_since`: ConflictError if the entity changed after it."""
        return await self._write_frames(
            space_id,
            graph_id,
            entity_uri,
            objects,
            parent_frame_uri,
            operation_mode,
            "Created",
            if_unmodified_since,
        )

    async def update_entity_frames(
        self,
        space_id: str,
        graph_id: str,
        entity_uri: str,
        objects: list[Any],
        parent_frame_uri: str | None = None,
        if_unmodified_since: str | None = None,
    ) -> FrameResponse:
        """Replace frames the entity has (404 for one it does not), each with its slot graph."""
        return await self._write_frames(
            space_id,
            graph_id,
            entity_uri,
            objects,
            parent_frame_uri,
            "update",
            "Updated",
            if_unmodified_since,
        )

    async def delete_entity_frames(
        self,
        space_id: str,
        graph_id: str,
        entity_uri: str,
        frame_uris: list[str],
        parent_frame_uri: str | None = None,
        recursive: bool = False,
    ) -> DeleteResponse:
        """Delete frames of the entity with their edges and the slots no other frame links to, all or
        nothing (the server's DELETE /api/graphs/kgentities/kgframes). Failures come back in the
        response, as before."""
        requested = [str(u) for u in split_uris(frame_uris)]
        validate_required_params(
            space_id=space_id, graph_id=graph_id, entity_uri=entity_uri, frame_uris=requested
        )
        fields = {"space_id": space_id, "graph_id": graph_id, "requested_uris": requested}
        try:
            deleted = await self.api.kgentities.delete_entity_frames(
                space_id, graph_id, entity_uri, requested, recursive, parent_frame_uri
            )
        except VitalGraphClientError as error:
            return failed(DeleteResponse, error, **fields)
        return DeleteResponse(
            deleted_count=deleted.deleted_count,
            deleted_uris=deleted.deleted_uris,
            message=f"Deleted {deleted.deleted_count} frames",
            metadata={"entity_uri": entity_uri, "deleted_related_uris": deleted.deleted_related_uris},
            **fields,
        )

    async def _write_frames(
        self,
        space_id: str,
        graph_id: str,
        entity_uri: str,
        objects: list[Any],
        parent_frame_uri: str | None,
        operation_mode: str,
        done: str,
        if_unmodified_since: str | None,
    ) -> FrameResponse:
        validate_required_params(space_id=space_id, graph_id=graph_id, entity_uri=entity_uri, objects=objects)
        sent = as_graph_objects(objects)
        written = await self.api.kgentities.write_entity_frames(
            space_id, graph_id, entity_uri, sent, operation_mode, parent_frame_uri, if_unmodified_since
        )
        frames = [o for o in sent if isinstance(o, KGFrame)]
        return FrameResponse(
            objects=sent,
            space_id=space_id,
            graph_id=graph_id,
            message=f"{done} {len(frames)} frames",
            metadata={"entity_uri": entity_uri, "written_uris": written.uris},
        )

    async def _entity_graph(self, space_id: str, graph_id: str, uri: str) -> EntityGraph:
        graph = await self.api.kgentities.get_kgentity(space_id, graph_id, uri, include_attachments=True)
        return EntityGraph(entity_uri=uri, objects=graph.objects)


_LIST_FILTERS = (
    "entity_type_uri",
    "status",
    "exclude_status",
    "created_after",
    "created_before",
    "modified_after",
    "modified_before",
    "action_type",
    "provenance_type",
)


def _count_filters() -> set[str]:
    """The filters a count request may name: count_kgentities' own keyword parameters."""
    parameters = inspect.signature(KGEntitiesEndpoint.count_kgentities).parameters
    return set(parameters) - {"self", "space_id", "graph_id"}
