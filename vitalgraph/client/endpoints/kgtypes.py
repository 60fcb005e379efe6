"""`client.kgtypes`: KGTypes as GraphObjects (list, get, create, update, delete).

Argument order follows the existing VitalGraph client: `(space_id, graph_id, ...)`, with `graph_id`
None for the space's default graph. Objects go in and come out as GraphObjects, never JSON-LD dicts.
"""

from __future__ import annotations

from vitalgraph.client.endpoints._crud import crud_calls
from vitalgraph.client.endpoints._operation import AsyncEndpointGroup, SyncEndpointGroup
from vitalgraph.client.models import KGTypeList

KGTYPES_PATH = "/api/graphs/kgtypes"

KGTypeCalls = crud_calls(KGTYPES_PATH, KGTypeList, "types", one="kgtype", many="kgtypes", label="KGType")


class AsyncKGTypesEndpoint(AsyncEndpointGroup, calls=KGTypeCalls):
    """The group of AsyncVitalGraphClient: a method for each of KGTypeCalls."""


class KGTypesEndpoint(SyncEndpointGroup, calls=KGTypeCalls):
    """The group of VitalGraphClient: a method for each of KGTypeCalls."""
