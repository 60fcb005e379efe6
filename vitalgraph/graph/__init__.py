"""Graph stores: where graph objects (file nodes, entities, types) live as triples."""

from __future__ import annotations

from vitalgraph.config import Settings
from vitalgraph.graph.base import GraphStore, graph_uri, space_graph_prefix

__all__ = ["GraphStore", "create_graph_store", "graph_uri", "space_graph_prefix"]


def create_graph_store(settings: Settings) -> GraphStore:
    if settings.GRAPH_BACKEND == "sparql":
        from vitalgraph.graph.sparql_store import SparqlGraphStore

        return SparqlGraphStore.from_settings(settings)
    from vitalgraph.graph.oxigraph_store import OxigraphGraphStore

    return OxigraphGraphStore.from_settings(settings)
