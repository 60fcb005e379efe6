"""`client.spaces`: create, list, get and delete spaces."""

from __future__ import annotations

from urllib.parse import quote

from vitalgraph.client._requests import Call, model_reply
from vitalgraph.client.endpoints._operation import AsyncEndpointGroup, SyncEndpointGroup
from vitalgraph.client.models import Space, SpaceDeleted, SpaceList


class SpaceCalls:
    """The spaces API as requests and reply parsers (no I/O)."""

    @staticmethod
    def create_space(
        space_id: str, space_name: str | None = None, space_description: str = ""
    ) -> Call[Space]:
        """Create a space; ConflictError if it exists. `space_name` defaults to the id."""
        body = {"space_id": space_id, "space_name": space_name, "space_description": space_description}
        return Call("POST", "/api/spaces", model_reply(Space), json=body)

    @staticmethod
    def list_spaces() -> Call[SpaceList]:
        """Every space, ordered by id."""
        return Call("GET", "/api/spaces", model_reply(SpaceList))

    @staticmethod
    def get_space(space_id: str) -> Call[Space]:
        """One space; NotFoundError if unknown."""
        return Call("GET", f"/api/spaces/{quote(space_id, safe='')}", model_reply(Space))

    @staticmethod
    def update_space(
        space_id: str, space_name: str | None = None, space_description: str | None = None
    ) -> Call[Space]:
        """Change a space's name and/or description (needs 'manage' on it)."""
        body = {"space_name": space_name, "space_description": space_description}
        return Call("PUT", f"/api/spaces/{quote(space_id, safe='')}", model_reply(Space), json=body)

    @staticmethod
    def delete_space(space_id: str) -> Call[SpaceDeleted]:
        """Delete a space with its graphs and every file's bytes."""
        return Call(
            "DELETE",
            f"/api/spaces/{quote(space_id, safe='')}",
            lambda response: SpaceDeleted(space_id=response.json()["deleted"]),
        )


class AsyncSpacesEndpoint(AsyncEndpointGroup, calls=SpaceCalls):
    """The group of AsyncVitalGraphClient: a method for each of SpaceCalls."""


class SpacesEndpoint(SyncEndpointGroup, calls=SpaceCalls):
    """The group of VitalGraphClient: a method for each of SpaceCalls."""
