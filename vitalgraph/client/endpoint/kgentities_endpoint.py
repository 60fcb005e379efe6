"""`client.kgentities` of the older client, over our `kgentities` group.

Its `include_entity_graph` is our `include_attachments` (the entity with the frames, slots and edges
that attach its files, and those FileNodes); `delete_entity_graph` is accepted (our delete always
removes an entity's frames, slots and edges; `delete_attachments=True` also deletes its files).
Filters and sorting our server does not have are refused with InvalidRequestError rather than
silently ignored. Failures raise VitalGraphClientError, as the older methods did.

`count_kgentities` / `batch_count_kgentities` count through the list route (its `total_count`, or
every page when `entity_type_uri` is given); `update_entity_only` is our update with KGEntity
objects alone, which replaces only the entity's own properties. `get_kgentity_frames` reads the
graph the entity already holds: its Edge_hasEntityKGFrame edges (found through the triples route),
the frames they lead to and, per frame, its Edge_hasKGSlot edges and slots; `delete_entity_frames`
deletes such frames (with those edges, and the slots no other frame links to) in one
all-or-nothing objects delete. Creating and updating frames on their own, and `query_entities`,
are refused (InvalidRequestError).
"""

from __future__ import annotations

import inspect
from typing import Any

from vitalgraph.client._vitalsigns import as_graph_objects
from vitalgraph.client.endpoint.base_endpoint import BaseEndpoint, failed
from vitalgraph.client.endpoints._graph_objects import split_uris
from vitalgraph.client.errors import ConflictError, InvalidRequestError, NotFoundError, VitalGraphClientError
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
    UpdateEntityResponse,
)
from vitalgraph.client.utils.client_utils import validate_required_params
from vitalgraph.model import Edge_hasEntityKGFrame, Edge_hasKGSlot, GraphObject, KGEntity, KGFrame
from vitalgraph.model.vocab import VITAL_CORE

_UNSUPPORTED_FILTERS = (
    "sort_by",
    "status",
    "exclude_status",
    "created_after",
    "created_before",
    "modified_after",
    "modified_before",
    "action_type",
    "provenance_type",
)


_COUNT_PAGE = 1000  # the list routes' largest page
_EDGE_SOURCE = VITAL_CORE + "hasEdgeSource"
_EDGE_DESTINATION = VITAL_CORE + "hasEdgeDestination"


def _not_provided(method: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"{method} is not provided by VitalGraph (docs/migration.md, kgentities)", status_code=400
    )


def _update_reply(uris: list[str], message: str) -> UpdateEntityResponse:
    return UpdateEntityResponse(updated_uri=uris[0] if uris else None, updated_uris=uris, message=message)


def _refuse(**given: Any) -> None:
    names = [name for name, value in given.items() if value is not None]
    if names:
        raise InvalidRequestError(
            f"not supported by VitalGraph: {', '.join(names)} (docs/migration.md, kgentities)",
            status_code=400,
        )


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
        """A page of entities; `entity_type_uri` keeps those whose kGEntityType is it (within the page)."""
        validate_required_params(space_id=space_id, graph_id=graph_id)
        _refuse(
            sort_by=sort_by,
            status=status,
            exclude_status=exclude_status,
            created_after=created_after,
            created_before=created_before,
            modified_after=modified_after,
            modified_before=modified_before,
            action_type=action_type,
            provenance_type=provenance_type,
        )
        page = await self.api.kgentities.list_kgentities(space_id, graph_id, page_size, offset, search)
        entities = [e for e in page.entities if entity_type_uri in (None, e.get("kGEntityType"))]
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
        _refuse(reference_id=reference_id)
        if not uri:
            raise InvalidRequestError("Must specify either uri or reference_id")
        validate_required_params(space_id=space_id, graph_id=graph_id)
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
    ) -> None:
        _refuse(reference_ids=reference_ids)

    async def create_kgentities(
        self, space_id: str, graph_id: str, objects: list[Any], parent_uri: str | None = None
    ) -> CreateEntityResponse:
        """Create entities (with any frames, slots and edges sent along); ConflictError if one exists."""
        validate_required_params(space_id=space_id, graph_id=graph_id, objects=objects)
        _refuse(parent_uri=parent_uri)
        created = await self.api.kgentities.create_kgentities(space_id, graph_id, as_graph_objects(objects))
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
        _refuse(parent_uri=parent_uri)
        updated = await self.api.kgentities.update_kgentities(space_id, graph_id, as_graph_objects(objects))
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
        Only KGEntity objects may be sent (InvalidRequestError otherwise); a missing entity is a 404."""
        validate_required_params(space_id=space_id, graph_id=graph_id, objects=objects)
        entities = as_graph_objects(objects)
        others = [o.URI for o in entities if not isinstance(o, KGEntity)]
        if others:
            raise InvalidRequestError(
                f"update_entity_only takes KGEntity objects only, not: {', '.join(others)}", status_code=400
            )
        updated = await self.api.kgentities.update_kgentities(space_id, graph_id, entities)
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
        """The number of entities matching `entity_type_uri` (kGEntityType) and `search`; `sort_by`
        does not change a count and is accepted. The status and date filters are refused."""
        validate_required_params(space_id=space_id, graph_id=graph_id)
        _refuse(
            status=status,
            exclude_status=exclude_status,
            created_after=created_after,
            created_before=created_before,
            modified_after=modified_after,
            modified_before=modified_before,
        )
        if entity_type_uri is None:
            return (await self.api.kgentities.list_kgentities(space_id, graph_id, 1, 0, search)).total_count
        count, offset = 0, 0
        while True:
            page = await self.api.kgentities.list_kgentities(space_id, graph_id, _COUNT_PAGE, offset, search)
            count += sum(1 for e in page.entities if e.get("kGEntityType") == entity_type_uri)
            offset += len(page.entities)
            if not page.entities or offset >= page.total_count:
                return count

    async def batch_count_kgentities(
        self, space_id: str, graph_id: str, count_requests: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """`[{"label": ..., "count": n}, ...]`, one per request (its filters as in count_kgentities)."""
        validate_required_params(space_id=space_id, graph_id=graph_id)
        counts = []
        for request in count_requests:
            filters = {k: v for k, v in request.items() if k != "label"}
            if unknown := sorted(set(filters) - _count_filters()):
                raise InvalidRequestError(f"unknown count filters: {', '.join(unknown)}", status_code=400)
            count = await self.count_kgentities(space_id, graph_id, **filters)
            counts.append({"label": request.get("label"), "count": count})
        return counts

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
    ) -> FrameResponse | FrameGraphResponse | MultiFrameGraphResponse:
        """Without `frame_uris`, a page of the entity's frames (FrameResponse). With one, that frame's
        graph (FrameGraphResponse: the frame, its Edge_hasKGSlot edges and slots; status 404 in the
        response if the entity has no such frame); with several, MultiFrameGraphResponse (frames the
        entity does not have are left out). `parent_frame_uri` and `search` are refused."""
        validate_required_params(space_id=space_id, graph_id=graph_id, entity_uri=entity_uri)
        _refuse(parent_frame_uri=parent_frame_uri, search=search)
        _edges, frames = await self._frames_of(space_id, graph_id, entity_uri)
        if not frame_uris:
            return FrameResponse(
                objects=frames[offset : offset + page_size],
                space_id=space_id,
                graph_id=graph_id,
                message=f"Retrieved {len(frames[offset : offset + page_size])} frames",
                metadata={"total_count": len(frames)},
            )
        owned = {f.URI: f for f in frames}
        requested = [str(u) for u in split_uris(frame_uris)]
        graphs = [await self._frame_graph(space_id, graph_id, owned[u]) for u in requested if u in owned]
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

    async def delete_entity_frames(
        self,
        space_id: str,
        graph_id: str,
        entity_uri: str,
        frame_uris: list[str],
        parent_frame_uri: str | None = None,
        recursive: bool = False,
    ) -> DeleteResponse:
        """Delete frames of the entity with their Edge_hasEntityKGFrame and Edge_hasKGSlot edges and
        the slots no other frame links to; all or nothing. Frames whose `parentFrameURI` is one of
        them go too with `recursive=True`; otherwise their presence fails the call (409). A frame the
        entity does not have: 404. Failures come back in the response, as before."""
        requested = [str(u) for u in split_uris(frame_uris)]
        validate_required_params(
            space_id=space_id, graph_id=graph_id, entity_uri=entity_uri, frame_uris=requested
        )
        _refuse(parent_frame_uri=parent_frame_uri)
        fields = {"space_id": space_id, "graph_id": graph_id, "requested_uris": requested}
        try:
            entity_edges, frames = await self._frames_of(space_id, graph_id, entity_uri)
            owned = {f.URI for f in frames}
            if missing := [u for u in requested if u not in owned]:
                raise NotFoundError(f"entity {entity_uri} has no frame {', '.join(missing)}", status_code=404)
            doomed = set(requested)
            while children := {f.URI for f in frames if f.parentFrameURI in doomed} - doomed:
                if not recursive:
                    raise ConflictError(
                        f"frames have child frames ({', '.join(sorted(children))}); pass recursive=True",
                        status_code=409,
                    )
                doomed |= children
            slot_edges = await self._edges_from(space_id, graph_id, sorted(doomed), Edge_hasKGSlot)
            slots = {e.edgeDestination for e in slot_edges}
            shared = {
                e.edgeDestination
                for e in await self._edges_to(space_id, graph_id, sorted(slots), Edge_hasKGSlot)
                if e.edgeSource not in doomed
            }
            related = sorted(
                {e.URI for e in entity_edges if e.edgeDestination in doomed}
                | {e.URI for e in slot_edges}
                | (slots - shared)
            )
            frames_deleted = sorted(doomed)
            await self.api.objects.delete_objects_batch(space_id, graph_id, [*frames_deleted, *related])
        except VitalGraphClientError as error:
            return failed(DeleteResponse, error, **fields)
        return DeleteResponse(
            deleted_count=len(frames_deleted),
            deleted_uris=frames_deleted,
            message=f"Deleted {len(frames_deleted)} frames",
            metadata={"entity_uri": entity_uri, "deleted_related_uris": related},
            **fields,
        )

    # --- not provided: raised, so code relying on them fails visibly ---------------------------
    async def create_entity_frames(
        self,
        space_id: str,
        graph_id: str,
        entity_uri: str,
        objects: list[Any],
        parent_frame_uri: str | None = None,
        operation_mode: str = "create",
    ) -> None:
        raise _not_provided("create_entity_frames")

    async def update_entity_frames(
        self,
        space_id: str,
        graph_id: str,
        entity_uri: str,
        objects: list[Any],
        parent_frame_uri: str | None = None,
    ) -> None:
        raise _not_provided("update_entity_frames")

    async def query_entities(self, space_id: str, graph_id: str, query_criteria: dict[str, Any]) -> None:
        raise _not_provided("query_entities")

    async def _frames_of(
        self, space_id: str, graph_id: str, entity_uri: str
    ) -> tuple[list[GraphObject], list[GraphObject]]:
        """The entity's Edge_hasEntityKGFrame edges and the frames they lead to (sorted by URI);
        NotFoundError if the entity is missing."""
        await self.api.kgentities.get_kgentity(space_id, graph_id, entity_uri)
        edges = await self._edges_from(space_id, graph_id, [entity_uri], Edge_hasEntityKGFrame)
        destinations = sorted({e.edgeDestination for e in edges})
        frames = [f for f in await self._objects(space_id, graph_id, destinations) if isinstance(f, KGFrame)]
        return edges, sorted(frames, key=lambda f: f.URI)

    async def _frame_graph(self, space_id: str, graph_id: str, frame: GraphObject) -> FrameGraph:
        slot_edges = await self._edges_from(space_id, graph_id, [frame.URI], Edge_hasKGSlot)
        slots = await self._objects(space_id, graph_id, sorted({e.edgeDestination for e in slot_edges}))
        return FrameGraph(frame_uri=frame.URI, objects=[frame, *slot_edges, *slots])

    async def _edges_from(
        self, space_id: str, graph_id: str, sources: list[str], edge_class: type[GraphObject]
    ) -> list[GraphObject]:
        """The edges of `edge_class` whose hasEdgeSource is one of `sources`."""
        return await self._edges(space_id, graph_id, _EDGE_SOURCE, sources, edge_class)

    async def _edges_to(
        self, space_id: str, graph_id: str, destinations: list[str], edge_class: type[GraphObject]
    ) -> list[GraphObject]:
        """The edges of `edge_class` whose hasEdgeDestination is one of `destinations`."""
        return await self._edges(space_id, graph_id, _EDGE_DESTINATION, destinations, edge_class)

    async def _edges(
        self, space_id: str, graph_id: str, end: str, nodes: list[str], edge_class: type[GraphObject]
    ) -> list[GraphObject]:
        edge_uris: list[str] = []
        for node in nodes:
            offset = 0
            while True:
                page = await self.api.triples.list_triples(
                    space_id, graph_id, _COUNT_PAGE, offset, None, end, node
                )
                edge_uris += [quad.s.strip("<>") for quad in page.results]
                offset += len(page.results)
                if not page.results or offset >= page.total_count:
                    break
        edges = await self._objects(space_id, graph_id, sorted(set(edge_uris)))
        return [e for e in edges if isinstance(e, edge_class)]

    async def _objects(self, space_id: str, graph_id: str, uris: list[str]) -> list[GraphObject]:
        found: list[GraphObject] = []
        for start in range(0, len(uris), _COUNT_PAGE):
            chunk = uris[start : start + _COUNT_PAGE]
            found += await self.api.objects.get_objects_by_uris(space_id, graph_id, chunk)
        return found

    async def _entity_graph(self, space_id: str, graph_id: str, uri: str) -> EntityGraph:
        graph = await self.api.kgentities.get_kgentity(space_id, graph_id, uri, include_attachments=True)
        return EntityGraph(entity_uri=uri, objects=graph.objects)


def _count_filters() -> set[str]:
    """The filters a count request may name: count_kgentities' own keyword parameters."""
    parameters = inspect.signature(KGEntitiesEndpoint.count_kgentities).parameters
    return set(parameters) - {"self", "space_id", "graph_id"}
