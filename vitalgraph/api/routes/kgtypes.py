"""KGTypes as JSON-LD: create, get, list, update, delete."""

from __future__ import annotations

from fastapi import APIRouter, Request

from vitalgraph.api.access import ReadableSpace, WritableSpace
from vitalgraph.api.deps import GraphId, Listed, Selected, ServicesDep
from vitalgraph.api.json_body import BoundedBodyRoute, GraphObjects
from vitalgraph.api.object_routes import read_collection, uris_reply

router = APIRouter(prefix="/api/graphs/kgtypes", tags=["kgtypes"], route_class=BoundedBodyRoute)


@router.post("", status_code=201)
async def create_kgtypes(
    services: ServicesDep, space_id: WritableSpace, objects: GraphObjects, graph_id: GraphId = None
) -> dict:
    """Body: JSON-LD KGType objects (one, a list or `@graph`); 409 if one exists."""
    return uris_reply("created", await services.kgtypes.create(space_id, graph_id, objects))


@router.put("")
async def update_kgtypes(
    services: ServicesDep, space_id: WritableSpace, objects: GraphObjects, graph_id: GraphId = None
) -> dict:
    """Replaces each type's properties; 404 if one is missing."""
    return uris_reply("updated", await services.kgtypes.update(space_id, graph_id, objects))


@router.get("")
async def get_kgtypes(
    request: Request,
    services: ServicesDep,
    space_id: ReadableSpace,
    listing: Listed,
    graph_id: GraphId = None,
) -> dict:
    """One type (`uri`), several (`uri_list`), or a page of them (`search` matches any text value).
    JSON-LD, or JSON quads when Accept asks (api/wire.py)."""
    return await read_collection(request, services.kgtypes, space_id, graph_id, listing, key="types")


@router.delete("")
async def delete_kgtypes(
    services: ServicesDep, space_id: WritableSpace, selected: Selected, graph_id: GraphId = None
) -> dict:
    """Delete KG types named by `uri` or `uri_list`; all or none."""
    return uris_reply("deleted", await services.kgtypes.delete(space_id, graph_id, selected.to_delete()))
