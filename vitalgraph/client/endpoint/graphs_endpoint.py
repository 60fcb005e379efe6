"""`client.graphs` of the older client, over our `graphs` group. A graph's `graph_uri` here is its
graph_id everywhere else."""

from __future__ import annotations

from vitalgraph.client.endpoint.base_endpoint import BaseEndpoint, failed
from vitalgraph.client.errors import VitalGraphClientError
from vitalgraph.client.response.client_response import (
    GraphClearResponse,
    GraphCreateResponse,
    GraphDeleteResponse,
    GraphResponse,
    GraphsListResponse,
)
from vitalgraph.client.utils.client_utils import validate_required_params
from vitalgraph.model.sparql_model import GraphInfo


class GraphsEndpoint(BaseEndpoint):
    async def list_graphs(self, space_id: str) -> GraphsListResponse:
        validate_required_params(space_id=space_id)
        try:
            graphs = await self.api.graphs.list_graphs(space_id)
        except VitalGraphClientError as error:
            return failed(GraphsListResponse, error)
        infos = [GraphInfo(graph_uri=g.graph_id, triple_count=g.triple_count) for g in graphs]
        return GraphsListResponse(graphs=infos, total=len(infos), message="Graphs listed successfully")

    async def get_graph_info(self, space_id: str, graph_uri: str) -> GraphResponse:
        """The graph's info; a missing graph is `graph=None` with status_code 404, as before."""
        validate_required_params(space_id=space_id, graph_uri=graph_uri)
        try:
            graph = await self.api.graphs.get_graph(space_id, graph_uri)
        except VitalGraphClientError as error:
            return failed(GraphResponse, error)
        info = GraphInfo(graph_uri=graph.graph_id, triple_count=graph.triple_count)
        return GraphResponse(graph=info, message="Graph info retrieved successfully")

    async def create_graph(self, space_id: str, graph_uri: str) -> GraphCreateResponse:
        validate_required_params(space_id=space_id, graph_uri=graph_uri)
        try:
            await self.api.graphs.create_graph(space_id, graph_uri)
        except VitalGraphClientError as error:
            return failed(GraphCreateResponse, error, graph_uri=graph_uri)
        return GraphCreateResponse(
            graph_uri=graph_uri, created=True, status_code=201, message="Graph created"
        )

    async def drop_graph(self, space_id: str, graph_uri: str, silent: bool = False) -> GraphDeleteResponse:
        validate_required_params(space_id=space_id, graph_uri=graph_uri)
        try:
            dropped = await self.api.graphs.drop_graph(space_id, graph_uri, silent)
        except VitalGraphClientError as error:
            return failed(GraphDeleteResponse, error, graph_uri=graph_uri)
        return GraphDeleteResponse(
            graph_uri=graph_uri,
            deleted=dropped or silent,
            message="Graph deleted" if dropped else "No such graph",
        )

    async def clear_graph(self, space_id: str, graph_uri: str) -> GraphClearResponse:
        validate_required_params(space_id=space_id, graph_uri=graph_uri)
        try:
            removed = await self.api.graphs.clear_graph(space_id, graph_uri)
        except VitalGraphClientError as error:
            return failed(GraphClearResponse, error, graph_uri=graph_uri)
        return GraphClearResponse(
            graph_uri=graph_uri, cleared=True, triples_removed=removed, message="Graph cleared"
        )
