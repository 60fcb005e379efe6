"""The calls of a route that lists, reads, creates, updates and deletes graph objects (KGTypes, any
graph object): written once, parametrized by the route, the page's model and the objects' names."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import httpx
from pydantic import BaseModel

from vitalgraph.client._requests import Call, model_reply, query
from vitalgraph.client.endpoints._graph_objects import graph_objects, jsonld_body, split_uris, the_object
from vitalgraph.client.models import ObjectsCreated, ObjectsDeleted, ObjectsUpdated
from vitalgraph.model import GraphObject


def crud_calls(path: str, page: type[BaseModel], key: str, one: str, many: str, label: str) -> type:
    """A calls class (see `_operation.py`) for the graph objects at `path`: `list_<many>` (a `page`
    whose objects are in `key`), `get_<one>`, `get_<many>_by_uris`, `create_<many>`,
    `update_<many>`, `delete_<one>`, `delete_<many>_batch`; `label` names an object in messages."""
    calls: dict[str, Callable[..., Call[Any]]] = {}

    def operation(name: str, reply: str, doc: str) -> Callable[[Callable[..., Call[Any]]], None]:
        def define(build: Callable[..., Call[Any]]) -> None:
            build.__name__ = build.__qualname__ = name
            build.__doc__ = doc
            build.__annotations__["return"] = f"Call[{reply}]"
            calls[name] = staticmethod(build)  # type: ignore[assignment]

        return define

    @operation(
        f"list_{many}",
        page.__name__,
        f"A page of {label}s; `search` keeps those with a text value containing it (case-insensitive).",
    )
    def _(
        space_id: str,
        graph_id: str | None = None,
        page_size: int = 100,
        offset: int = 0,
        search: str | None = None,
    ):
        params = query(
            space_id=space_id, graph_id=graph_id, page_size=page_size, offset=offset, search=search
        )

        def parse(response: httpx.Response) -> BaseModel:
            reply = response.json()
            paging = {name: reply[name] for name in ("total_count", "page_size", "offset")}
            return page(**{key: graph_objects(reply[key])}, **paging)

        return Call("GET", path, parse, params=params)

    @operation(f"get_{one}", "GraphObject", f"One {label}; NotFoundError if unknown.")
    def _(space_id: str, graph_id: str | None, uri: str):
        return Call(
            "GET", path, the_object(uri, label), params=query(space_id=space_id, graph_id=graph_id, uri=uri)
        )

    @operation(
        f"get_{many}_by_uris",
        "list[GraphObject]",
        f"The {label}s among `uri_list` (a list, or one comma-separated string) that exist.",
    )
    def _(space_id: str, graph_id: str | None, uri_list: str | Sequence[str]):
        params = query(space_id=space_id, graph_id=graph_id, uri_list=split_uris(uri_list))
        return Call("GET", path, lambda response: graph_objects(response.json()), params=params)

    def write(method: str, reply: type[BaseModel]) -> Callable[..., Call[Any]]:
        def build(space_id: str, graph_id: str | None, objects: GraphObject | Sequence[GraphObject]):
            params = query(space_id=space_id, graph_id=graph_id)
            return Call(method, path, model_reply(reply), params=params, json=jsonld_body(objects))

        return build

    def delete(params: dict[str, Any]) -> Call[ObjectsDeleted]:
        return Call("DELETE", path, model_reply(ObjectsDeleted), params=params)

    created = f"Create {label}s; ConflictError (and nothing stored) if one exists."
    updated = f"Replace {label}s' properties; NotFoundError (and nothing changed) if one is missing."
    operation(f"create_{many}", "ObjectsCreated", created)(write("POST", ObjectsCreated))
    operation(f"update_{many}", "ObjectsUpdated", updated)(write("PUT", ObjectsUpdated))

    @operation(f"delete_{one}", "ObjectsDeleted", f"Delete one {label}; NotFoundError if unknown.")
    def _(space_id: str, graph_id: str | None, uri: str):
        return delete(query(space_id=space_id, graph_id=graph_id, uri=uri))

    batch = f"Delete several {label}s; if one is missing, none is deleted (NotFoundError)."

    @operation(f"delete_{many}_batch", "ObjectsDeleted", batch)
    def _(space_id: str, graph_id: str | None, uri_list: str | Sequence[str]):
        return delete(query(space_id=space_id, graph_id=graph_id, uri_list=split_uris(uri_list)))

    return type(f"{label.title().replace(' ', '')}Calls", (), calls)
