"""What every graph-object endpoint group shares: JSON-LD request bodies from GraphObjects, replies
parsed back into GraphObjects, and the URI-list conventions of the existing VitalGraph client."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import httpx

from vitalgraph.client.errors import NotFoundError, VitalGraphClientError
from vitalgraph.errors import VitalGraphError
from vitalgraph.model import GraphObject

G = TypeVar("G", bound=GraphObject)


def graph_objects(document: Any) -> list[GraphObject]:
    """The GraphObjects of a JSON-LD reply (one object, a list, or an `@graph`)."""
    try:
        return GraphObject.from_jsonld(document)
    except VitalGraphError as exc:  # the model's own parse error: to callers, a bad reply
        raise VitalGraphClientError(f"the server's reply is not the JSON-LD expected: {exc}") from None


def objects_of(kind: type[G], document: Any) -> list[G]:
    return [obj for obj in graph_objects(document) if isinstance(obj, kind)]


def split_uris(uris: str | Sequence[str]) -> list[str]:
    """The existing client takes a comma-separated string; a list works too."""
    items = uris.split(",") if isinstance(uris, str) else list(uris)
    return [uri.strip() for uri in items if uri.strip()]


def as_list(objects: GraphObject | Sequence[GraphObject]) -> list[GraphObject]:
    return [objects] if isinstance(objects, GraphObject) else list(objects)


def jsonld_body(objects: GraphObject | Sequence[GraphObject]) -> dict[str, Any]:
    """A JSON-LD `@graph` document of the objects; GraphObjects only, so callers never build JSON-LD."""
    items = as_list(objects)
    for item in items:
        if not isinstance(item, GraphObject):
            raise TypeError(f"expected GraphObjects, got {type(item).__name__}")
    return GraphObject.list_to_jsonld(items)


def the_object(uri: str, label: str) -> Callable[[httpx.Response], GraphObject]:
    """Parser of a one-object reply: the object with `uri` (NotFoundError if the reply lacks it)."""

    def parse(response: httpx.Response) -> GraphObject:
        for obj in graph_objects(response.json()):
            if obj.URI == uri:
                return obj
        raise NotFoundError(f"{label} not found: {uri}", status_code=404)

    return parse
