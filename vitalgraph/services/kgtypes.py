"""KGTypes: KGType objects (and subclasses such as KGEntityType) in a space's graphs."""

from __future__ import annotations

from vitalgraph.graph.base import GraphStore
from vitalgraph.model import KGType
from vitalgraph.services.graph_objects import GraphObjectCollection
from vitalgraph.services.spaces import SpaceService


class KGTypeService(GraphObjectCollection):
    """create / update / get / get_many / list / delete, all from `GraphObjectCollection`."""

    def __init__(self, graph: GraphStore, spaces: SpaceService) -> None:
        super().__init__(graph, spaces, KGType)
