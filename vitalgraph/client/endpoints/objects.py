"""`client.objects`: graph objects of any class except FileNode (list, get, create, update, delete);
the server refuses FileNodes (they belong to `client.files`).

Argument order as in `client.kgtypes`: `(space_id, graph_id, ...)`, graph_id None = the default graph.
"""

from __future__ import annotations

from vitalgraph.client.endpoints._crud import crud_calls
from vitalgraph.client.endpoints._operation import AsyncEndpointGroup, SyncEndpointGroup
from vitalgraph.client.models import ObjectList

OBJECTS_PATH = "/api/graphs/objects"

ObjectCalls = crud_calls(OBJECTS_PATH, ObjectList, "objects", one="object", many="objects", label="object")


class AsyncObjectsEndpoint(AsyncEndpointGroup, calls=ObjectCalls):
    """The group of AsyncVitalGraphClient: a method for each of ObjectCalls."""


class ObjectsEndpoint(SyncEndpointGroup, calls=ObjectCalls):
    """The group of VitalGraphClient: a method for each of ObjectCalls."""
