"""What the routes over a collection of graph objects (objects, KGTypes, KGEntities, files) share:
the answer to a GET, which names objects or asks for a page, and the reply to a write."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request

from vitalgraph.api.deps import Listing
from vitalgraph.api.wire import objects_reply
from vitalgraph.services.graph_objects import GraphObjectCollection


async def read_collection(
    request: Request,
    collection: GraphObjectCollection,
    space_id: str,
    graph_id: str | None,
    listing: Listing,
    *,
    key: str,
) -> dict[str, Any]:
    """One object (`uri`), several (`uri_list`), or a page of them under `key` (`search` matches any
    text value); JSON-LD, or JSON quads when Accept asks (api/wire.py)."""
    selected, page = listing.selected, listing.page
    if selected.uri:
        return objects_reply(request, [await collection.get(space_id, graph_id, selected.uri)], single=True)
    if selected.uri_list:
        return objects_reply(request, await collection.get_many(space_id, graph_id, selected.listed()))
    objects, total = await collection.list(
        space_id, graph_id, page_size=page.size, offset=page.offset, search=listing.search
    )
    return objects_reply(
        request, objects, key=key, total_count=total, page_size=page.size, offset=page.offset
    )


def uris_reply(done: str, uris: Sequence[str]) -> dict[str, Any]:
    """What a write did to which objects: `{"<done>_uris": [...], "<done>_count": n}`."""
    return {f"{done}_uris": list(uris), f"{done}_count": len(uris)}
