"""Which JSON a graph-object route speaks: JSON-LD (the default) or the older client's JSON quads.

A request body is read as JSON quads when its Content-Type is the quads media type or when it is a
`{"quads": [...]}` object (the older client sends that as plain application/json). A reply is JSON
quads when the Accept header names the quads media type, or is exactly `application/json`: the
header the older client sends on every call. Anything else (no Accept, `*/*`,
`application/ld+json`) gets JSON-LD.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request

from vitalgraph.model import GraphObject
from vitalgraph.model.quad_model import QUADS_MEDIA_TYPE, quad_reply

LEGACY_ACCEPT = "application/json"


def media_type(header: str | None) -> str:
    return (header or "").split(";")[0].strip().lower()


def wants_quads(request: Request) -> bool:
    accept = (request.headers.get("accept") or "").lower()
    if QUADS_MEDIA_TYPE in accept:
        return True
    return media_type(accept) == LEGACY_ACCEPT and "," not in accept


def objects_reply(
    request: Request,
    objects: Sequence[GraphObject],
    *,
    key: str | None = None,
    total_count: int | None = None,
    page_size: int | None = None,
    offset: int | None = None,
    single: bool = False,
) -> dict[str, Any]:
    """`objects` in the format the caller asked for.

    JSON-LD: one object when `single`, a `{key: @graph, total_count, page_size, offset}` page when
    `key` is given, else an `@graph`. Quads: a QuadResponse when paged, else a QuadResultsResponse.
    """
    if wants_quads(request):
        return quad_reply(objects, total_count=total_count, page_size=page_size, offset=offset)
    if single:
        return objects[0].to_jsonld()
    if key is None:
        return GraphObject.list_to_jsonld(objects)
    return {
        key: GraphObject.list_to_jsonld(objects),
        "total_count": total_count,
        "page_size": page_size,
        "offset": offset,
    }
