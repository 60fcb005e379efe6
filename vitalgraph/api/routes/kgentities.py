"""KGEntities as JSON-LD (with their frames, slots and edges), and files attached to them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import ConfigDict

from vitalgraph.api.access import ReadableSpace, WritableSpace
from vitalgraph.api.deps import (
    FileUri,
    GraphId,
    Offset,
    OptionalUri,
    PageSize,
    PrincipalDep,
    Search,
    Selected,
    ServicesDep,
    UriList,
    split_uri_list,
)
from vitalgraph.api.json_body import BoundedBodyRoute, GraphObjects, read_graph_objects
from vitalgraph.api.object_routes import uris_reply
from vitalgraph.api.wire import objects_reply
from vitalgraph.errors import InvalidInputError, NotFoundError
from vitalgraph.model import GraphObject, KGFrame
from vitalgraph.model.kgentities_model import (
    BatchCountRequest,
    EntityCount,
    EntityFilters,
    EntityQueryRequest,
)
from vitalgraph.services.access import Permission

router = APIRouter(prefix="/api/graphs/kgentities", tags=["kgentities"], route_class=BoundedBodyRoute)

EntityUri = FileUri  # the same limit: MAX_URI_LENGTH


@router.post("", status_code=201)
async def create_kgentities(
    response: Response,
    services: ServicesDep,
    space_id: WritableSpace,
    objects: GraphObjects,
    graph_id: GraphId = None,
    operation_mode: Annotated[Literal["create", "update", "entity_only"], Query()] = "create",
    parent_uri: OptionalUri = None,
) -> dict:
    """Body: JSON-LD (or JSON quads) KGEntity objects, optionally with their KGFrames, KGSlots and
    edges; 409 if any URI exists. The older client updates through this route too:
    `operation_mode=update` does what PUT does; `entity_only` takes KGEntity objects only (400
    otherwise) and replaces their own properties, leaving their frames, slots and edges.
    `parent_uri` (create, update): an existing entity (404 otherwise) each entity sent is linked
    under, by an Edge_hasEntityKGFrame from it, as the older server linked them. The server sets
    each entity's hasObjectCreationTime and hasObjectModificationDateTime."""
    entities = services.kgentities
    if operation_mode == "create":
        return uris_reply(
            "created", await entities.create(space_id, graph_id, objects, parent_uri=parent_uri)
        )
    if operation_mode == "entity_only":
        uris = await entities.update_entities_only(space_id, graph_id, objects)
    else:
        uris = await entities.update(space_id, graph_id, objects, parent_uri=parent_uri)
    response.status_code = 200
    return {**uris_reply("updated", uris), "updated_uri": uris[0]}


@router.put("")
async def update_kgentities(
    services: ServicesDep,
    space_id: WritableSpace,
    objects: GraphObjects,
    graph_id: GraphId = None,
    entity_only: bool = False,
    parent_uri: OptionalUri = None,
) -> dict:
    """Replaces each entity (404 if missing); frames, slots and edges sent along are created or replaced.
    `entity_only=true`: KGEntity objects only (400 otherwise), their frames, slots and edges stay.
    `parent_uri`: as in POST."""
    entities = services.kgentities
    if entity_only:
        uris = await entities.update_entities_only(space_id, graph_id, objects)
    else:
        uris = await entities.update(space_id, graph_id, objects, parent_uri=parent_uri)
    return uris_reply("updated", uris)


class _ListFilters(EntityFilters):
    model_config = ConfigDict(extra="ignore")  # the route's other parameters are read on their own


ReferenceId = Annotated[str | None, Query(min_length=1, max_length=1024)]


@router.get("")
async def get_kgentities(
    request: Request,
    services: ServicesDep,
    space_id: ReadableSpace,
    graph_id: GraphId = None,
    uri: OptionalUri = None,
    uri_list: UriList = None,
    reference_id: ReferenceId = None,
    reference_id_list: UriList = None,
    id: ReferenceId = None,  # noqa: A002  # the older client's names for the two above
    id_list: UriList = None,
    include_attachments: bool = False,
    include_entity_graph: bool = False,
    page_size: PageSize = 100,
    offset: Offset = 0,
    search: Search = None,
    sort_by: OptionalUri = None,
    sort_order: Literal["asc", "desc"] = "asc",
    filters: Annotated[_ListFilters, Query()] = _ListFilters(),
) -> dict:
    """One entity (`uri`, or `reference_id`: its hasReferenceIdentifier), several (`uri_list`,
    `reference_id_list`; comma-separated or repeated), or a page of them.

    With `include_attachments=true` a `uri`/`uri_list` answer is one `@graph`: the entities, then
    the frames, slots and edges that attach files to them, and those FileNodes.
    JSON-LD, or JSON quads when Accept asks (api/wire.py). `include_entity_graph` is the older
    client's name for `include_attachments`, `id` / `id_list` for `reference_id` / `reference_id_list`.
    A page holds the entities matching the filters (`entity_type_uri`, `status`, `exclude_status`,
    `created_after` / `_before`, `modified_after` / `_before`, `action_type`, `provenance_type`:
    docs/api.md) and `search`, by URI, or sorted server-side by the property `sort_by` (an IRI or
    KGEntity attribute name; entities without it first) in `sort_order`.
    """
    include_attachments = include_attachments or include_entity_graph
    uris = ([uri] if uri else []) + split_uri_list(uri_list)
    references = (
        [r for r in (reference_id, id) if r] + split_uri_list(reference_id_list) + split_uri_list(id_list)
    )
    if uris and references:
        raise InvalidInputError(
            "give entity URIs (uri, uri_list) or reference ids (reference_id, ...), not both"
        )
    if references:
        found = await services.kgentities.find_by_reference_ids(space_id, graph_id, references)
        if (reference_id or id) and not found:
            raise NotFoundError(f"no KGEntity has reference id {reference_id or id}")
        if include_attachments and found:
            uris = [o.URI for o in found]
        else:
            return objects_reply(request, found, single=bool(reference_id or id))
    if uris and include_attachments:
        return objects_reply(
            request, await services.kgentities.get_with_attachments(space_id, graph_id, uris)
        )
    if uri:
        return objects_reply(request, [await services.kgentities.get(space_id, graph_id, uri)], single=True)
    if uris:
        return objects_reply(request, await services.kgentities.get_many(space_id, graph_id, uris))
    entities, total = await services.kgentities.list_entities(
        space_id,
        graph_id,
        filters.criteria(search),
        page_size=page_size,
        offset=offset,
        sort_by=sort_by,
        descending=sort_order == "desc",
    )
    return objects_reply(
        request, entities, key="entities", total_count=total, page_size=page_size, offset=offset
    )


@router.delete("")
async def delete_kgentities(
    services: ServicesDep,
    space_id: WritableSpace,
    selected: Selected,
    graph_id: GraphId = None,
    delete_attachments: bool = False,
) -> dict:
    """Removes the entities with their frames, slots and edges; `delete_attachments=true` also deletes
    the attached FileNodes and their bytes (otherwise the files stay)."""
    deletion = await services.kgentities.delete(
        space_id, graph_id, selected.to_delete(), delete_attachments=delete_attachments
    )
    return {
        **uris_reply("deleted", deletion.entity_uris),
        "deleted_related_uris": deletion.structure_uris,
        "deleted_file_uris": deletion.file_uris,
    }


# --- the older client's entity frames, query and counts ----------------------------------------------
@router.get(
    "/kgframes",
    summary="An entity's frames, or the graphs of some of them",
    description="Without `frame_uris`: a page of the KGFrames the entity's Edge_hasEntityKGFrame edges "
    "lead to, by URI (`frames`, `total_count`, JSON-LD or JSON quads). With `frame_uris` (repeated "
    "or comma-separated): `frame_graphs`, each asked frame's graph (the frame, its Edge_hasKGSlot "
    "edges and slots), or `{error, message}` for a frame the entity does not have. 404 if the entity "
    "is missing. `parent_frame_uri`: only the frames under that frame of the entity (an Edge_hasKGFrame "
    "from it, or their parentFrameURI; 404 if the entity has no such frame). `search`: frames with a "
    "literal containing it (case-insensitive). `sort_by`: a KGFrame property (IRI or attribute name, "
    "400 otherwise) to sort the page by, frames without it first, then by URI; `sort_order` asc or desc. "
    "`include_slot_counts=true`: `slot_counts`, each listed frame's number of slots (0 included).",
)
async def get_entity_frames(
    request: Request,
    services: ServicesDep,
    space_id: ReadableSpace,
    entity_uri: EntityUri,
    graph_id: GraphId = None,
    frame_uris: UriList = None,
    parent_frame_uri: OptionalUri = None,
    page_size: PageSize = 10,
    offset: Offset = 0,
    search: Search = None,
    sort_by: OptionalUri = None,
    sort_order: Literal["asc", "desc"] = "asc",
    include_slot_counts: bool = False,
) -> dict:
    asked = split_uri_list(frame_uris)
    if not asked:
        frames, total = await services.kgframes.list_frames(
            space_id,
            graph_id,
            entity_uri,
            page_size=page_size,
            offset=offset,
            parent_frame_uri=parent_frame_uri,
            search=search,
            sort_by=sort_by,
            descending=sort_order == "desc",
        )
        reply = objects_reply(
            request, frames, key="frames", total_count=total, page_size=page_size, offset=offset
        )
        if include_slot_counts:
            reply["slot_counts"] = await services.kgframes.slot_counts(space_id, graph_id, frames)
        return reply
    graphs = await services.kgframes.frame_graphs(space_id, graph_id, entity_uri, asked, parent_frame_uri)
    replies = {
        uri: objects_reply(request, graphs[uri])
        if uri in graphs
        else {"error": "not_found", "message": f"entity {entity_uri} has no frame {uri}"}
        for uri in asked
    }
    return {"entity_uri": entity_uri, "frame_graphs": replies}


@router.post(
    "/kgframes",
    summary="Create or replace frames of an entity",
    description="Body: JSON-LD (or JSON quads) KGFrames with their KGSlots, Edge_hasKGSlot edges and "
    "optionally Edge_hasEntityKGFrame edges (a frame sent without one gets one). `operation_mode`: "
    "`create` (409 if a URI exists), `update` (replaces frames the entity has, with their slot "
    "graphs; 404 for a frame it does not have) or `upsert`. One atomic write: a missing entity "
    "(404), a frame of another entity (409), edges leading elsewhere or an unlinked slot (400) "
    "change nothing. `parent_frame_uri`: the frames sent hang under that frame of the entity (a new one "
    "gets an Edge_hasKGFrame from it; one replaced must be its child; 404 otherwise). `replace`: every "
    "frame of the entity (with `parent_frame_uri`, every frame under it), with its child frames, slots and "
    "edges, is replaced by the frames sent, in the same one write. `if_unmodified_since`: the entity's "
    "hasObjectModificationDateTime as the caller read it; 409 if the entity changed after it. A write "
    "moves the entity's modification time to now. Writers of one entity's frames take turns across "
    "servers (the graph's write turn; 409 if the others keep it busy for 35 s).",
)
async def write_entity_frames(
    request: Request,
    response: Response,
    services: ServicesDep,
    space_id: WritableSpace,
    entity_uri: EntityUri,
    graph_id: GraphId = None,
    operation_mode: Annotated[Literal["create", "update", "upsert", "replace"], Query()] = "create",
    parent_frame_uri: OptionalUri = None,
    if_unmodified_since: datetime | None = None,
) -> dict:
    objects = await read_graph_objects(request)
    uris = await services.kgframes.write_frames(
        space_id, graph_id, entity_uri, objects, operation_mode, parent_frame_uri, if_unmodified_since
    )
    if operation_mode == "create":
        response.status_code = 201
        return {"entity_uri": entity_uri, **uris_reply("created", uris)}
    frames = [o.URI for o in objects if isinstance(o, KGFrame)]
    return {
        "entity_uri": entity_uri,
        **uris_reply("updated", uris),
        "updated_uri": entity_uri,
        "frames_updated": len(frames),
    }


@router.delete(
    "/kgframes",
    summary="Delete frames of an entity",
    description="`frame_uris` (comma-separated or repeated): frames of the entity, deleted with the "
    "edges to and from them and the slots no other frame links to, all or nothing. Their "
    "child frames (Edge_hasKGFrame or parentFrameURI) go too with `recursive=true`, otherwise they fail "
    "the call (409). A frame the entity does not have, or with `parent_frame_uri` one not under that "
    "frame: 404.",
)
async def delete_entity_frames(
    services: ServicesDep,
    space_id: WritableSpace,
    entity_uri: EntityUri,
    frame_uris: UriList = None,
    graph_id: GraphId = None,
    parent_frame_uri: OptionalUri = None,
    recursive: bool = False,
) -> dict:
    deletion = await services.kgframes.delete_frames(
        space_id,
        graph_id,
        entity_uri,
        split_uri_list(frame_uris),
        recursive=recursive,
        parent_frame_uri=parent_frame_uri,
    )
    return {
        "entity_uri": entity_uri,
        **uris_reply("deleted", deletion.frame_uris),
        "deleted_related_uris": deletion.related_uris,
    }


@router.post(
    "/query",
    summary="Entities matching the older client's query criteria",
    description="Body: `{criteria: {search_string, entity_type, frame_type, filters, "
    "entity_property_filters, slot_criteria, sort_criteria}, page_size, offset}`. A page of the "
    "matching KGEntities, by URI or by the sort criteria (`entities`, `total_count`; JSON quads when "
    "Accept asks). Vector and geo criteria are refused (400 naming them); an unknown field is a 422.",
)
async def query_entities(
    request: Request,
    body: EntityQueryRequest,
    services: ServicesDep,
    space_id: ReadableSpace,
    graph_id: GraphId = None,
) -> dict:
    entities, total = await services.kgentities.query(
        space_id, graph_id, body.criteria, page_size=body.page_size, offset=body.offset
    )
    return objects_reply(
        request, entities, key="entities", total_count=total, page_size=body.page_size, offset=body.offset
    )


class _CountParameters(EntityCount):
    model_config = ConfigDict(extra="ignore")  # space_id and graph_id are read as the other routes read them


@router.get(
    "/count",
    summary="How many entities match",
    description="`{count}`: the entities with kGEntityType `entity_type_uri`, a literal containing "
    "`search`, (`sort_by`) that property, and matching the status, date, action and provenance filters "
    "of the list (GET /api/graphs/kgentities).",
)
async def count_entities(
    services: ServicesDep,
    space_id: ReadableSpace,
    graph_id: GraphId = None,
    filters: Annotated[_CountParameters, Query()] = _CountParameters(),
) -> dict:
    return {"count": await services.kgentities.count(space_id, graph_id, filters.count_criteria())}


@router.post(
    "/counts",
    summary="Several entity counts in one call",
    description="Body: `{space_id, graph_id, count_requests: [{label, ...the filters of /count}]}`; "
    "`{counts: [{label, count}]}` in the same order. Needs read on the space named in the body.",
)
async def count_entities_batch(
    body: BatchCountRequest, services: ServicesDep, principal: PrincipalDep
) -> dict:
    await services.access.check_space(principal, body.space_id, Permission.READ)
    criteria = [(request.label, request.count_criteria()) for request in body.count_requests]
    counts = [
        {"label": label, "count": await services.kgentities.count(body.space_id, body.graph_id, c)}
        for label, c in criteria
    ]
    return {"counts": counts}


# --- file attachments -----------------------------------------------------------------------------
@router.post("/files", status_code=201)
async def attach_file(
    services: ServicesDep,
    space_id: WritableSpace,
    entity_uri: EntityUri,
    file_uri: FileUri,
    graph_id: GraphId = None,
) -> dict:
    """Entity -> Edge_hasEntityKGFrame -> KGFrame -> Edge_hasKGSlot -> KGURISlot(value = file URI).

    404 if the entity or FileNode is missing, 409 if the file is already attached."""
    created = await services.kgentities.attach_file(space_id, graph_id, entity_uri, file_uri)
    return {"entity_uri": entity_uri, "file_uri": file_uri, "created_uris": created}


@router.delete("/files")
async def detach_file(
    services: ServicesDep,
    space_id: WritableSpace,
    entity_uri: EntityUri,
    file_uri: FileUri,
    graph_id: GraphId = None,
) -> dict:
    """Removes the slots, frames and edges linking the file to the entity; the file stays."""
    removed = await services.kgentities.detach_file(space_id, graph_id, entity_uri, file_uri)
    return {"entity_uri": entity_uri, "file_uri": file_uri, "deleted_uris": removed}


@router.get("/files")
async def list_attached_files(
    services: ServicesDep, space_id: ReadableSpace, entity_uri: EntityUri, graph_id: GraphId = None
) -> dict:
    """The file nodes attached to an entity through its frames and slots."""
    files = await services.kgentities.attached_files(space_id, graph_id, entity_uri)
    return {
        "entity_uri": entity_uri,
        "file_uris": [f.URI for f in files],
        "files": GraphObject.list_to_jsonld(files),
        "total_count": len(files),
    }
