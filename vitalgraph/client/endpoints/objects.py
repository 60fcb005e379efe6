"""`client.objects`: graph objects of any class except FileNode (list, get, create, update, delete).

Argument order as in `client.kgtypes`: `(space_id, graph_id, ...)`, graph_id None = the default graph.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from vitalgraph.client._requests import Call, model_reply, query
from vitalgraph.client.endpoints._graph_objects import graph_objects, jsonld_body, split_uris, the_object
from vitalgraph.client.endpoints._operation import AsyncEndpointGroup, SyncEndpointGroup
from vitalgraph.client.models import ObjectList, ObjectsCreated, ObjectsDeleted, ObjectsUpdated
from vitalgraph.model import GraphObject

OBJECTS_PATH = "/api/graphs/objects"


class ObjectCalls:
    @staticmethod
    def list_objects(
        space_id: str,
        graph_id: str | None = None,
        page_size: int = 100,
        offset: int = 0,
        search: str | None = None,
    ) -> Call[ObjectList]:
        """A page of the graph's objects (any class); `search` keeps those with a text value containing it."""
        params = query(
            space_id=space_id, graph_id=graph_id, page_size=page_size, offset=offset, search=search
        )

        def parse(response: httpx.Response) -> ObjectList:
            reply = response.json()
            return ObjectList(
                objects=graph_objects(reply["objects"]),
                total_count=reply["total_count"],
                page_size=reply["page_size"],
                offset=reply["offset"],
            )

        return Call("GET", OBJECTS_PATH, parse, params=params)

    @staticmethod
    def get_object(space_id: str, graph_id: str | None, uri: str) -> Call[GraphObject]:
        params = query(space_id=space_id, graph_id=graph_id, uri=uri)
        return Call("GET", OBJECTS_PATH, the_object(uri, "object"), params=params)

    @staticmethod
    def get_objects_by_uris(
        space_id: str, graph_id: str | None, uri_list: str | Sequence[str]
    ) -> Call[list[GraphObject]]:
        params = query(space_id=space_id, graph_id=graph_id, uri_list=split_uris(uri_list))
        return Call("GET", OBJECTS_PATH, lambda r: graph_objects(r.json()), params=params)

    @staticmethod
    def create_objects(
        space_id: str, graph_id: str | None, objects: GraphObject | Sequence[GraphObject]
    ) -> Call[ObjectsCreated]:
        """Create objects; ConflictError (nothing stored) if one exists; FileNodes are refused."""
        params = query(space_id=space_id, graph_id=graph_id)
        return Call(
            "POST", OBJECTS_PATH, model_reply(ObjectsCreated), params=params, json=jsonld_body(objects)
        )

    @staticmethod
    def update_objects(
        space_id: str, graph_id: str | None, objects: GraphObject | Sequence[GraphObject]
    ) -> Call[ObjectsUpdated]:
        params = query(space_id=space_id, graph_id=graph_id)
        return Call(
            "PUT", OBJECTS_PATH, model_reply(ObjectsUpdated), params=params, json=jsonld_body(objects)
        )

    @staticmethod
    def delete_object(space_id: str, graph_id: str | None, uri: str) -> Call[ObjectsDeleted]:
        params = query(space_id=space_id, graph_id=graph_id, uri=uri)
        return Call("DELETE", OBJECTS_PATH, model_reply(ObjectsDeleted), params=params)

    @staticmethod
    def delete_objects_batch(
        space_id: str, graph_id: str | None, uri_list: str | Sequence[str]
    ) -> Call[ObjectsDeleted]:
        """Delete several objects; if one is missing, none is deleted (NotFoundError)."""
        params = query(space_id=space_id, graph_id=graph_id, uri_list=split_uris(uri_list))
        return Call("DELETE", OBJECTS_PATH, model_reply(ObjectsDeleted), params=params)


class AsyncObjectsEndpoint(AsyncEndpointGroup, calls=ObjectCalls):
    """The group of AsyncVitalGraphClient: a method for each of ObjectCalls."""


class ObjectsEndpoint(SyncEndpointGroup, calls=ObjectCalls):
    """The group of VitalGraphClient: a method for each of ObjectCalls."""
