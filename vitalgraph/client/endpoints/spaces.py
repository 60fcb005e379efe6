"""`client.spaces`: create, list, get and delete spaces."""

from __future__ import annotations

from urllib.parse import quote

from vitalgraph.client._requests import Call, model_reply
from vitalgraph.client.endpoints._operation import (
    AsyncEndpointGroup,
    AsyncOperation,
    SyncEndpointGroup,
    SyncOperation,
)
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


class AsyncSpacesEndpoint(AsyncEndpointGroup):
    create_space = AsyncOperation(SpaceCalls.create_space)
    list_spaces = AsyncOperation(SpaceCalls.list_spaces)
    get_space = AsyncOperation(SpaceCalls.get_space)
    update_space = AsyncOperation(SpaceCalls.update_space)
    delete_space = AsyncOperation(SpaceCalls.delete_space)


class SpacesEndpoint(SyncEndpointGroup):
    create_space = SyncOperation(SpaceCalls.create_space)
    list_spaces = SyncOperation(SpaceCalls.list_spaces)
    get_space = SyncOperation(SpaceCalls.get_space)
    update_space = SyncOperation(SpaceCalls.update_space)
    delete_space = SyncOperation(SpaceCalls.delete_space)
