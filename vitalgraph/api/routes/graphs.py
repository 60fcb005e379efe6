"""The older client's route shapes under /api/graphs: named graphs, untyped objects, triples, and
SPARQL with `space_id` as a query parameter. Each is a thin mount of the same services as the
rest of the API (services/graphs.py, services/sparql.py); errors are HTTP errors, as everywhere.
"""

from __future__ import annotations

from typing import Annotated, Any

import pyoxigraph as ox
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from vitalgraph.api.access import ReadableSpace, WritableSpace
from vitalgraph.api.deps import GraphId, Listed, Paged, PrincipalDep, Search, Selected, ServicesDep
from vitalgraph.api.json_body import BoundedBodyRoute, GraphObjects, read_json
from vitalgraph.api.object_routes import read_collection, uris_reply
from vitalgraph.api.routes.sparql import read_query
from vitalgraph.errors import InvalidInputError
from vitalgraph.model import GraphObject
from vitalgraph.model.quad_model import Quad, is_quad_request, parse_quad_triples
from vitalgraph.services.graphs import GraphInfo, TriplePattern
from vitalgraph.services.sparql import RESULTS_JSON

router = APIRouter(prefix="/api/graphs", tags=["graphs (older client)"], route_class=BoundedBodyRoute)

GraphUri = Annotated[str, Query(min_length=1, max_length=256, description="the graph's id")]
Term = Annotated[str | None, Query(max_length=4096)]


class GraphInfoOut(BaseModel):
    graph_uri: str = Field(description="the graph's id, as graph_id elsewhere in the API")
    triple_count: int

    @classmethod
    def of(cls, info: GraphInfo) -> GraphInfoOut:
        return cls(graph_uri=info.graph_id, triple_count=info.triple_count)


class GraphOperation(BaseModel):
    """The older client's POST /api/graphs/graph body; CREATE, CLEAR and DROP are supported."""

    model_config = ConfigDict(extra="ignore")
    operation: str
    target_graph_uri: str | None = Field(default=None, max_length=256)
    silent: bool = False


# --- SPARQL -------------------------------------------------------------------------------------
@router.post(
    "/sparql/query",
    responses={200: {"content": {RESULTS_JSON: {}, "application/n-triples": {}}}},
)
async def sparql_query_post(
    space_id: ReadableSpace, request: Request, services: ServicesDep, principal: PrincipalDep
) -> Response:
    """The older client's `SPARQLQueryRequest` JSON body (`{"query": ...}`), or a form / sparql-query body.
    Read-only, as /api/graphs/sparql/{space_id}/query (docs/sparql.md)."""
    query = await read_query(request)
    answer = await services.sparql.query(
        space_id, query, request.headers.get("accept"), user=principal.username
    )
    return Response(answer.body, media_type=answer.media_type)


@router.get("/sparql/query", responses={200: {"content": {RESULTS_JSON: {}, "application/n-triples": {}}}})
async def sparql_query_get(
    space_id: ReadableSpace,
    request: Request,
    services: ServicesDep,
    principal: PrincipalDep,
    query: Annotated[str, Query(min_length=1, max_length=1024 * 1024)],
) -> Response:
    """The query in the URL (`?query=`), as the SPARQL protocol's GET; read-only, like the POST."""
    answer = await services.sparql.query(
        space_id, query, request.headers.get("accept"), user=principal.username
    )
    return Response(answer.body, media_type=answer.media_type)


# --- named graphs -------------------------------------------------------------------------------
@router.get("/graphs", response_model=list[GraphInfoOut])
async def list_graphs(services: ServicesDep, space_id: ReadableSpace) -> list[GraphInfoOut]:
    """Every named graph of the space with its triple count (a bare list, as the older server sent)."""
    return [GraphInfoOut.of(info) for info in await services.graphs.list(space_id)]


@router.get("/graph", response_model=GraphInfoOut)
async def get_graph(services: ServicesDep, space_id: ReadableSpace, graph_uri: GraphUri) -> GraphInfoOut:
    """One named graph with its triple count; 404 if there is none."""
    return GraphInfoOut.of(await services.graphs.get(space_id, graph_uri))


@router.put("/graph", status_code=201, response_model=GraphInfoOut)
async def create_graph(services: ServicesDep, space_id: WritableSpace, graph_uri: GraphUri) -> GraphInfoOut:
    """An empty graph; 409 if it exists."""
    return GraphInfoOut.of(await services.graphs.create(space_id, graph_uri))


@router.delete("/graph")
async def drop_graph(
    services: ServicesDep, space_id: WritableSpace, graph_uri: GraphUri, silent: bool = False
) -> dict:
    """Drop the graph and everything in it; 404 if there is none, unless `silent`."""
    dropped = await services.graphs.drop(space_id, graph_uri, silent=silent)
    return {
        "graph_uri": graph_uri,
        "deleted": dropped,
        "message": "graph dropped" if dropped else "no such graph",
    }


@router.post("/graph")
async def graph_operation(body: GraphOperation, services: ServicesDep, space_id: WritableSpace) -> dict:
    """`{"operation": "CREATE" | "CLEAR" | "DROP", "target_graph_uri": ..., "silent": ...}`."""
    operation, graph_id = body.operation.upper(), body.target_graph_uri
    if not graph_id:
        raise InvalidInputError("target_graph_uri is required")
    if operation == "CLEAR":
        removed = await services.graphs.clear(space_id, graph_id)
        return {
            "graph_uri": graph_id,
            "cleared": True,
            "triples_removed": removed,
            "message": "graph cleared",
        }
    if operation == "DROP":
        dropped = await services.graphs.drop(space_id, graph_id, silent=body.silent)
        return {"graph_uri": graph_id, "deleted": dropped, "message": "graph dropped"}
    if operation == "CREATE":
        await services.graphs.create(space_id, graph_id)
        return {"graph_uri": graph_id, "created": True, "message": "graph created"}
    raise InvalidInputError(f"unsupported graph operation {body.operation[:40]!r}: use CREATE, CLEAR or DROP")


# --- objects ------------------------------------------------------------------------------------
@router.get("/objects")
async def get_objects(
    request: Request,
    services: ServicesDep,
    space_id: ReadableSpace,
    listing: Listed,
    graph_id: GraphId = None,
) -> dict:
    """Objects of any class: one (`uri`), several (`uri_list`) or a page; JSON-LD, or JSON quads
    when Accept asks (api/wire.py)."""
    return await read_collection(request, services.objects, space_id, graph_id, listing, key="objects")


@router.post("/objects", status_code=201)
async def create_objects(
    services: ServicesDep, space_id: WritableSpace, objects: GraphObjects, graph_id: GraphId = None
) -> dict:
    """Body: JSON-LD or JSON quads; 409 (nothing stored) if a URI exists. FileNodes go to /api/files."""
    return uris_reply("created", await services.objects.create(space_id, graph_id, objects))


@router.put("/objects")
async def update_objects(
    services: ServicesDep, space_id: WritableSpace, objects: GraphObjects, graph_id: GraphId = None
) -> dict:
    """Replace objects that exist (JSON-LD or JSON quads); 404 (nothing changed) if a URI is missing."""
    return uris_reply("updated", await services.objects.update(space_id, graph_id, objects))


@router.delete("/objects")
async def delete_objects(
    services: ServicesDep, space_id: WritableSpace, selected: Selected, graph_id: GraphId = None
) -> dict:
    """Delete objects by `uri` or `uri_list`; all or none."""
    return uris_reply("deleted", await services.objects.delete(space_id, graph_id, selected.to_delete()))


# --- triples ------------------------------------------------------------------------------------
async def triple_pattern(subject: Term = None, predicate: Term = None, object: Term = None) -> TriplePattern:
    """subject / predicate / object: each a URI or an N-Triples term, or absent (any)."""
    return TriplePattern(subject, predicate, object)


Pattern = Annotated[TriplePattern, Depends(triple_pattern)]


@router.get("/triples")
async def list_triples(
    services: ServicesDep,
    space_id: ReadableSpace,
    pattern: Pattern,
    page: Paged,
    graph_id: GraphId = None,
    object_filter: Search = None,
) -> dict:
    """A page of the graph's triples as JSON quads (`results`), filtered by subject / predicate /
    object (a URI or an N-Triples term) and `object_filter` (text the object contains)."""
    triples, total = await services.triples.list(
        space_id,
        graph_id,
        pattern,
        page_size=page.size,
        offset=page.offset,
        object_filter=object_filter,
    )
    quads = [Quad(s=str(t.subject), p=str(t.predicate), o=str(t.object)).model_dump() for t in triples]
    return {
        "success": True,
        "status": "found" if quads else "empty",
        "total_count": total,
        "page_size": page.size,
        "offset": page.offset,
        "has_more": page.offset + len(quads) < total,
        "results": quads,
    }


@router.post("/triples")
async def add_triples(
    request: Request, services: ServicesDep, space_id: WritableSpace, graph_id: GraphId = None
) -> dict:
    """Body: JSON quads (`{"quads": [...]}`; their graph terms are ignored) or JSON-LD objects."""
    triples = _triples_of(await read_json(request))
    added = await services.triples.add(space_id, graph_id, triples)
    return {"success": True, "message": f"added {added} triples", "added_count": added}


@router.delete("/triples")
async def delete_triples(
    services: ServicesDep, space_id: WritableSpace, pattern: Pattern, graph_id: GraphId = None
) -> dict:
    """Delete every triple matching the pattern; at least one of subject, predicate, object."""
    deleted = await services.triples.delete(space_id, graph_id, pattern)
    return {"success": True, "message": f"deleted {deleted} triples", "deleted_count": deleted}


def _triples_of(document: Any) -> list[ox.Triple]:
    if is_quad_request(document):
        return parse_quad_triples(document["quads"])
    if not isinstance(document, (dict, list)):
        raise InvalidInputError('the body must be JSON quads ({"quads": [...]}) or JSON-LD objects')
    return GraphObject.list_to_triples(GraphObject.from_jsonld(document))
