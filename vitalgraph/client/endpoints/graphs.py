"""`client.graphs`: the named graphs of a space (list, get, create, clear, drop)."""

from __future__ import annotations

from vitalgraph.client._requests import Call, query
from vitalgraph.client.endpoints._operation import AsyncEndpointGroup, SyncEndpointGroup
from vitalgraph.client.models import GraphInfo

GRAPHS_PATH = "/api/graphs/graphs"
GRAPH_PATH = "/api/graphs/graph"


def _info(reply: dict) -> GraphInfo:
    return GraphInfo(graph_id=reply["graph_uri"], triple_count=reply["triple_count"])


class GraphCalls:
    @staticmethod
    def list_graphs(space_id: str) -> Call[list[GraphInfo]]:
        """Every named graph of the space, with its triple count."""
        return Call(
            "GET", GRAPHS_PATH, lambda r: [_info(item) for item in r.json()], params=query(space_id=space_id)
        )

    @staticmethod
    def get_graph(space_id: str, graph_id: str) -> Call[GraphInfo]:
        """One graph; NotFoundError if the space has no such graph."""
        params = query(space_id=space_id, graph_uri=graph_id)
        return Call("GET", GRAPH_PATH, lambda r: _info(r.json()), params=params)

    @staticmethod
    def create_graph(space_id: str, graph_id: str) -> Call[GraphInfo]:
        """An empty graph; ConflictError if it exists. (Writing objects to a graph_id also creates it.)"""
        params = query(space_id=space_id, graph_uri=graph_id)
        return Call("PUT", GRAPH_PATH, lambda r: _info(r.json()), params=params)

    @staticmethod
    def clear_graph(space_id: str, graph_id: str) -> Call[int]:
        """Remove every triple of the graph and keep it; returns how many triples went."""
        body = {"operation": "CLEAR", "target_graph_uri": graph_id}
        return Call(
            "POST",
            GRAPH_PATH,
            lambda r: int(r.json()["triples_removed"]),
            params=query(space_id=space_id),
            json=body,
        )

    @staticmethod
    def drop_graph(space_id: str, graph_id: str, silent: bool = False) -> Call[bool]:
        """Remove the graph; NotFoundError unless `silent` when there is none (then False)."""
        params = query(space_id=space_id, graph_uri=graph_id, silent=str(silent).lower())
        return Call("DELETE", GRAPH_PATH, lambda r: bool(r.json()["deleted"]), params=params)


class AsyncGraphsEndpoint(AsyncEndpointGroup, calls=GraphCalls):
    """The group of AsyncVitalGraphClient: a method for each of GraphCalls."""


class GraphsEndpoint(SyncEndpointGroup, calls=GraphCalls):
    """The group of VitalGraphClient: a method for each of GraphCalls."""
