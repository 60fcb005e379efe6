"""KGTypes as JSON-LD: create, get, list, update, delete."""

from __future__ import annotations

from fastapi import APIRouter, Request

from vitalgraph.api.access import ReadableSpace, WritableSpace
from vitalgraph.api.deps import (
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

router = APIRouter(prefix="/api/graphs/kgtypes", tags=["kgtypes"], route_class=BoundedBodyRoute)


@router.post("", status_code=201)
async def create_kgtypes(
    request: Request, services: ServicesDep, space_id: WritableSpace, graph_id: GraphId = None
) -> dict:
    """Body: JSON-LD KGType objects (one, a list or `@graph`); 409 if one exists."""
    uris = await services.kgtypes.create(space_id, graph_id, await read_graph_objects(request))
    return {"created_uris": uris, "created_count": len(uris)}


@router.put("")
async def update_kgtypes(
    request: Request, services: ServicesDep, space_id: WritableSpace, graph_id: GraphId = None
) -> dict:
    """Replaces each type's properties; 404 if one is missing."""
    uris = await services.kgtypes.update(space_id, graph_id, await read_graph_objects(request))
    return {"updated_uris": uris, "updated_count": len(uris)}


@router.get("")
async def get_kgtypes(
    request: Request,
    services: ServicesDep,
    space_id: ReadableSpace,
    graph_id: GraphId = None,
    uri: OptionalUri = None,
    uri_list: UriList = None,
    page_size: PageSize = 100,
    offset: Offset = 0,
    search: Search = None,
) -> dict:
    """One type (`uri`), several (`uri_list`), or a page of them (`search` matches any text value).
    JSON-LD, or JSON quads when Accept asks (api/wire.py)."""
    if uri:
        return objects_reply(request, [await services.kgtypes.get(space_id, graph_id, uri)], single=True)
    if uri_list:
        return objects_reply(
            request, await services.kgtypes.get_many(space_id, graph_id, split_uri_list(uri_list))
        )
    types, total = await services.kgtypes.list(
        space_id, graph_id, page_size=page_size, offset=offset, search=search
    )
    return objects_reply(request, types, key="types", total_count=total, page_size=page_size, offset=offset)


@router.delete("")
async def delete_kgtypes(
    services: ServicesDep,
    space_id: WritableSpace,
    graph_id: GraphId = None,
    uri: OptionalUri = None,
    uri_list: UriList = None,
) -> dict:
    """Delete KG types named by `uri` or `uri_list`; all or none."""
    deleted = await services.kgtypes.delete(space_id, graph_id, uris_to_delete(uri, uri_list))
    return {"deleted_uris": deleted, "deleted_count": len(deleted)}
