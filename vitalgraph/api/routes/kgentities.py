"""KGEntities as JSON-LD (with their frames, slots and edges), and files attached to them."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from vitalgraph.api.access import ReadableSpace, WritableSpace
from vitalgraph.api.deps import (
    FileUri,
    GraphId,
    Offset,
    OptionalUri,
    PageSize,
    Search,
    ServicesDep,
    UriList,
    split_uri_list,
    uris_to_delete,
)
from vitalgraph.api.json_body import BoundedBodyRoute, read_graph_objects
from vitalgraph.api.wire import objects_reply
from vitalgraph.model import GraphObject

router = APIRouter(prefix="/api/graphs/kgentities", tags=["kgentities"], route_class=BoundedBodyRoute)

EntityUri = FileUri  # the same limit: MAX_URI_LENGTH


@router.post("", status_code=201)
async def create_kgentities(
    request: Request,
    response: Response,
    services: ServicesDep,
    space_id: WritableSpace,
    graph_id: GraphId = None,
    operation_mode: Annotated[Literal["create", "update", "entity_only"], Query()] = "create",
) -> dict:
    """Body: JSON-LD (or JSON quads) KGEntity objects, optionally with their KGFrames, KGSlots and
    edges; 409 if any URI exists. The older client updates through this route too:
    `operation_mode=update` (or `entity_only`) does what PUT does."""
    objects = await read_graph_objects(request)
    if operation_mode != "create":
        uris = await services.kgentities.update(space_id, graph_id, objects)
        response.status_code = 200
        return {"updated_uris": uris, "updated_count": len(uris), "updated_uri": uris[0]}
    uris = await services.kgentities.create(space_id, graph_id, objects)
    return {"created_uris": uris, "created_count": len(uris)}


@router.put("")
async def update_kgentities(
    request: Request, services: ServicesDep, space_id: WritableSpace, graph_id: GraphId = None
) -> dict:
    """Replaces each entity (404 if missing); frames, slots and edges sent along are created or replaced."""
    uris = await services.kgentities.update(space_id, graph_id, await read_graph_objects(request))
    return {"updated_uris": uris, "updated_count": len(uris)}


@router.get("")
async def get_kgentities(
    request: Request,
    services: ServicesDep,
    space_id: ReadableSpace,
    graph_id: GraphId = None,
    uri: OptionalUri = None,
    uri_list: UriList = None,
    include_attachments: bool = False,
    include_entity_graph: bool = False,
    page_size: PageSize = 100,
    offset: Offset = 0,
    search: Search = None,
) -> dict:
    """One entity (`uri`), several (`uri_list`), or a page of them.

    With `include_attachments=true` a `uri`/`uri_list` answer is one `@graph`: the entities, then
    the frames, slots and edges that attach files to them, and those FileNodes.
    JSON-LD, or JSON quads when Accept asks (api/wire.py). `include_entity_graph` is the older
    client's name for `include_attachments`.
    """
    include_attachments = include_attachments or include_entity_graph
    uris = ([uri] if uri else []) + split_uri_list(uri_list)
    if uris and include_attachments:
        return objects_reply(
            request, await services.kgentities.get_with_attachments(space_id, graph_id, uris)
        )
    if uri:
        return objects_reply(request, [await services.kgentities.get(space_id, graph_id, uri)], single=True)
    if uris:
        return objects_reply(request, await services.kgentities.get_many(space_id, graph_id, uris))
    entities, total = await services.kgentities.list(
        space_id, graph_id, page_size=page_size, offset=offset, search=search
    )
    return objects_reply(
        request, entities, key="entities", total_count=total, page_size=page_size, offset=offset
    )


@router.delete("")
async def delete_kgentities(
    services: ServicesDep,
    space_id: WritableSpace,
    graph_id: GraphId = None,
    uri: OptionalUri = None,
    uri_list: UriList = None,
    delete_attachments: bool = False,
) -> dict:
    """Removes the entities with their frames, slots and edges; `delete_attachments=true` also deletes
    the attached FileNodes and their bytes (otherwise the files stay)."""
    deletion = await services.kgentities.delete(
        space_id, graph_id, uris_to_delete(uri, uri_list), delete_attachments=delete_attachments
    )
    return {
        "deleted_uris": deletion.entity_uris,
        "deleted_count": len(deletion.entity_uris),
        "deleted_related_uris": deletion.structure_uris,
        "deleted_file_uris": deletion.file_uris,
    }


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
