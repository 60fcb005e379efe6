"""`client.kgtypes`: KGTypes as GraphObjects (list, get, create, update, delete).

Argument order follows the existing VitalGraph client: `(space_id, graph_id, ...)`, with `graph_id`
None for the space's default graph. Objects go in and come out as GraphObjects, never JSON-LD dicts.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from vitalgraph.client._requests import Call, model_reply, query
from vitalgraph.client.endpoints._graph_objects import graph_objects, jsonld_body, split_uris, the_object
from vitalgraph.client.endpoints._operation import AsyncEndpointGroup, SyncEndpointGroup
from vitalgraph.client.models import KGTypeList, ObjectsCreated, ObjectsDeleted, ObjectsUpdated
from vitalgraph.model import GraphObject

KGTYPES_PATH = "/api/graphs/kgtypes"


class KGTypeCalls:
    """The KGTypes API as requests and reply parsers (no I/O)."""

    @staticmethod
    def list_kgtypes(
        space_id: str,
        graph_id: str | None = None,
        page_size: int = 100,
        offset: int = 0,
        search: str | None = None,
    ) -> Call[KGTypeList]:
        """A page of KGTypes; `search` keeps those with a text value containing it (case-insensitive)."""
        params = query(
            space_id=space_id, graph_id=graph_id, page_size=page_size, offset=offset, search=search
        )

        def parse(response: httpx.Response) -> KGTypeList:
            reply = response.json()
            return KGTypeList(
                types=graph_objects(reply["types"]),
                total_count=reply["total_count"],
                page_size=reply["page_size"],
                offset=reply["offset"],
            )

        return Call("GET", KGTYPES_PATH, parse, params=params)

    @staticmethod
    def get_kgtype(space_id: str, graph_id: str | None, uri: str) -> Call[GraphObject]:
        """One KGType; NotFoundError if unknown."""
        params = query(space_id=space_id, graph_id=graph_id, uri=uri)
        return Call("GET", KGTYPES_PATH, the_object(uri, "KGType"), params=params)

    @staticmethod
    def get_kgtypes_by_uris(
        space_id: str, graph_id: str | None, uri_list: str | Sequence[str]
    ) -> Call[list[GraphObject]]:
        """The KGTypes among `uri_list` (a list, or one comma-separated string) that exist."""
        params = query(space_id=space_id, graph_id=graph_id, uri_list=split_uris(uri_list))
        return Call("GET", KGTYPES_PATH, lambda response: graph_objects(response.json()), params=params)

    @staticmethod
    def create_kgtypes(
        space_id: str, graph_id: str | None, objects: GraphObject | Sequence[GraphObject]
    ) -> Call[ObjectsCreated]:
        """Create KGTypes; ConflictError (and nothing stored) if one exists."""
        return Call(
            "POST",
            KGTYPES_PATH,
            model_reply(ObjectsCreated),
            params=query(space_id=space_id, graph_id=graph_id),
            json=jsonld_body(objects),
        )

    @staticmethod
    def update_kgtypes(
        space_id: str, graph_id: str | None, objects: GraphObject | Sequence[GraphObject]
    ) -> Call[ObjectsUpdated]:
        """Replace KGTypes' properties; NotFoundError (and nothing changed) if one is missing."""
        return Call(
            "PUT",
            KGTYPES_PATH,
            model_reply(ObjectsUpdated),
            params=query(space_id=space_id, graph_id=graph_id),
            json=jsonld_body(objects),
        )

    @staticmethod
    def delete_kgtype(space_id: str, graph_id: str | None, uri: str) -> Call[ObjectsDeleted]:
        """Delete one KGType; NotFoundError if unknown."""
        params = query(space_id=space_id, graph_id=graph_id, uri=uri)
        return Call("DELETE", KGTYPES_PATH, model_reply(ObjectsDeleted), params=params)

    @staticmethod
    def delete_kgtypes_batch(
        space_id: str, graph_id: str | None, uri_list: str | Sequence[str]
    ) -> Call[ObjectsDeleted]:
        """Delete several KGTypes; if one is missing, none is deleted (NotFoundError)."""
        params = query(space_id=space_id, graph_id=graph_id, uri_list=split_uris(uri_list))
        return Call("DELETE", KGTYPES_PATH, model_reply(ObjectsDeleted), params=params)


class AsyncKGTypesEndpoint(AsyncEndpointGroup, calls=KGTypeCalls):
    """The group of AsyncVitalGraphClient: a method for each of KGTypeCalls."""


class KGTypesEndpoint(SyncEndpointGroup, calls=KGTypeCalls):
    """The group of VitalGraphClient: a method for each of KGTypeCalls."""
