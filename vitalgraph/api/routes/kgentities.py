"""KGEntities as JSON-LD (with their frames, slots and edges), and files attached to them."""

from __future__ import annotations

from fastapi import APIRouter, Request

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
from vitalgraph.api.json_body import read_graph_objects
from vitalgraph.model import GraphObject

router = APIRouter(prefix="/api/graphs/kgentities", tags=["kgentities"])

EntityUri = FileUri  # the same limit: MAX_URI_LENGTH


@router.post("", status_code=201)
async def create_kgentities(
    request: Request, services: ServicesDep, space_id: WritableSpace, graph_id: GraphId = None
) -> dict:
    """Body: JSON-LD KGEntity objects, optionally with their KGFrames, KGSlots and edges; 409 if any URI exists."""
    uris = await services.kgentities.create(space_id, graph_id, await read_graph_objects(request))
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
    services: ServicesDep,
    space_id: ReadableSpace,
    graph_id: GraphId = None,
    uri: OptionalUri = None,
    uri_list: UriList = None,
    include_attachments: bool = False,
    page_size: PageSize = 100,
    offset: Offset = 0,
    search: Search = None,
) -> dict:
    """One entity (`uri`), several (`uri_list`), or a page of them.

    With `include_attachments=true` a `uri`/`uri_list` answer is one `@graph`: the entities, then
    the frames, slots and edges that attach files to them, and those FileNodes.
    """
    uris = ([uri] if uri else []) + split_uri_list(uri_list)
    if uris and include_attachments:
        return GraphObject.list_to_jsonld(
            await services.kgentities.get_with_attachments(space_id, graph_id, uris)
        )
    if uri:
        return (await services.kgentities.get(space_id, graph_id, uri)).to_jsonld()
    if uris:
        return GraphObject.list_to_jsonld(await services.kgentities.get_many(space_id, graph_id, uris))
    entities, total = await services.kgentities.list(
        space_id, graph_id, page_size=page_size, offset=offset, search=search
    )
    return {
        "entities": GraphObject.list_to_jsonld(entities),
        "total_count": total,
        "page_size": page_size,
        "offset": offset,
    }


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
