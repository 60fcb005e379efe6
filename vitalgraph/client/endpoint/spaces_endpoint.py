"""`client.spaces` of the older client, over our `spaces` group."""

from __future__ import annotations

from vitalgraph.client.endpoint.base_endpoint import BaseEndpoint, failed
from vitalgraph.client.errors import VitalGraphClientError
from vitalgraph.client.models import Space as SpaceReply
from vitalgraph.client.response.client_response import (
    SpaceCreateResponse,
    SpaceDeleteResponse,
    SpaceInfoResponse,
    SpaceResponse,
    SpacesListResponse,
    SpaceUpdateResponse,
)
from vitalgraph.client.utils.client_utils import validate_required_params
from vitalgraph.model.spaces_model import Space


def older_space(space: SpaceReply) -> Space:
    return Space(
        space=space.space_id,
        space_name=space.space_name,
        space_description=space.space_description,
        update_time=space.created.isoformat(),
    )


class SpacesEndpoint(BaseEndpoint):
    async def list_spaces(self, tenant: str | None = None) -> SpacesListResponse:
        """The spaces the caller may see (`tenant` is accepted and ignored: no tenants here)."""
        try:
            reply = await self.api.spaces.list_spaces()
        except VitalGraphClientError as error:
            return failed(SpacesListResponse, error)
        spaces = [older_space(s) for s in reply.spaces]
        return SpacesListResponse(
            spaces=spaces, total=reply.total_count, message="Spaces listed successfully"
        )

    async def create_space(self, space: Space) -> SpaceCreateResponse:
        validate_required_params(space=space)
        try:
            created = await self.api.spaces.create_space(
                space.space, space.space_name, space.space_description or ""
            )
        except VitalGraphClientError as error:
            return failed(SpaceCreateResponse, error)
        return SpaceCreateResponse(
            space=older_space(created), created_count=1, status_code=201, message="Space created successfully"
        )

    async def add_space(self, space: Space) -> SpaceCreateResponse:
        """Deprecated name of create_space."""
        return await self.create_space(space)

    async def get_space(self, space_id: str) -> SpaceResponse:
        validate_required_params(space_id=space_id)
        try:
            space = await self.api.spaces.get_space(space_id)
        except VitalGraphClientError as error:
            return failed(SpaceResponse, error)
        return SpaceResponse(space=older_space(space), message="Space retrieved successfully")

    async def get_space_info(self, space_id: str) -> SpaceInfoResponse:
        """The space and its graphs' triple counts (`statistics`)."""
        validate_required_params(space_id=space_id)
        try:
            space = await self.api.spaces.get_space(space_id)
            graphs = await self.api.graphs.list_graphs(space_id)
        except VitalGraphClientError as error:
            return failed(SpaceInfoResponse, error)
        statistics = {
            "graph_count": len(graphs),
            "triple_count": sum(g.triple_count for g in graphs),
            "graphs": {g.graph_id: g.triple_count for g in graphs},
        }
        return SpaceInfoResponse(
            space=older_space(space), statistics=statistics, message="Space info retrieved"
        )

    async def update_space(self, space_id: str, space: Space) -> SpaceUpdateResponse:
        """Changes the name and description (the id stays `space_id`)."""
        validate_required_params(space_id=space_id, space=space)
        try:
            updated = await self.api.spaces.update_space(space_id, space.space_name, space.space_description)
        except VitalGraphClientError as error:
            return failed(SpaceUpdateResponse, error)
        return SpaceUpdateResponse(
            space=older_space(updated), updated_count=1, message="Space updated successfully"
        )

    async def delete_space(self, space_id: str) -> SpaceDeleteResponse:
        validate_required_params(space_id=space_id)
        try:
            await self.api.spaces.delete_space(space_id)
        except VitalGraphClientError as error:
            return failed(SpaceDeleteResponse, error, space_id=space_id)
        return SpaceDeleteResponse(deleted_count=1, space_id=space_id, message="Space deleted successfully")

    async def filter_spaces(self, name_filter: str, tenant: str | None = None) -> SpacesListResponse:
        """The visible spaces whose id or name contains `name_filter` (case-insensitive)."""
        validate_required_params(name_filter=name_filter)
        listed = await self.list_spaces(tenant)
        if listed.is_error:
            return listed
        needle = name_filter.lower()
        spaces = [s for s in listed.spaces if needle in s.space.lower() or needle in s.space_name.lower()]
        return SpacesListResponse(spaces=spaces, total=len(spaces), message="Spaces filtered successfully")
