"""`client.users` (admin: users and per-space grants) and `client.api_tokens` (your API tokens)."""

from __future__ import annotations

from urllib.parse import quote

from vitalgraph.client._requests import Call, model_reply
from vitalgraph.client.endpoints._operation import AsyncEndpointGroup, SyncEndpointGroup
from vitalgraph.client.models import ApiTokenCreated, ApiTokenList, Grant, GrantList, User, UserList


def _user_path(username: str) -> str:
    return f"/api/users/{quote(username, safe='')}"


def _grants_path(space_id: str, username: str | None = None) -> str:
    path = f"/api/spaces/{quote(space_id, safe='')}/grants"
    return f"{path}/{quote(username, safe='')}" if username is not None else path


class UserCalls:
    """The admin routes as requests and reply parsers (no I/O). Non-admins get PermissionDeniedError."""

    @staticmethod
    def create_user(username: str, password: str, role: str) -> Call[User]:
        """`role`: admin, writer or reader. ConflictError if the user exists, InvalidRequestError for a
        weak password."""
        body = {"username": username, "password": password, "role": role}
        return Call("POST", "/api/users", model_reply(User), json=body)

    @staticmethod
    def list_users() -> Call[UserList]:
        return Call("GET", "/api/users", model_reply(UserList))

    @staticmethod
    def get_user(username: str) -> Call[User]:
        return Call("GET", _user_path(username), model_reply(User))

    @staticmethod
    def update_user(username: str, *, role: str | None = None, password: str | None = None) -> Call[User]:
        """A new password ends the user's sessions and revokes their API tokens."""
        body = {k: v for k, v in (("role", role), ("password", password)) if v is not None}
        return Call("PATCH", _user_path(username), model_reply(User), json=body)

    @staticmethod
    def delete_user(username: str) -> Call[None]:
        return Call("DELETE", _user_path(username), lambda _: None)

    @staticmethod
    def grant(space_id: str, username: str, level: str) -> Call[Grant]:
        """`level`: read, write or manage (see docs/security.md)."""
        return Call("PUT", _grants_path(space_id, username), model_reply(Grant), json={"level": level})

    @staticmethod
    def revoke(space_id: str, username: str) -> Call[None]:
        return Call("DELETE", _grants_path(space_id, username), lambda _: None)

    @staticmethod
    def list_grants(space_id: str) -> Call[GrantList]:
        return Call("GET", _grants_path(space_id), model_reply(GrantList))


class ApiTokenCalls:
    @staticmethod
    def create_token(
        name: str, *, expires_in_seconds: int | None = None, username: str | None = None
    ) -> Call[ApiTokenCreated]:
        """A new API token; its secret (`.token`) is in this reply only. `username`: admins only."""
        body = {"name": name, "expires_in_seconds": expires_in_seconds, "username": username}
        body = {k: v for k, v in body.items() if v is not None}
        return Call("POST", "/api/tokens", model_reply(ApiTokenCreated), json=body)

    @staticmethod
    def list_tokens() -> Call[ApiTokenList]:
        """Your tokens (an admin's: everyone's), without their secrets."""
        return Call("GET", "/api/tokens", model_reply(ApiTokenList))

    @staticmethod
    def revoke_token(token_id: str) -> Call[None]:
        return Call("DELETE", f"/api/tokens/{quote(token_id, safe='')}", lambda _: None)


class AsyncUsersEndpoint(AsyncEndpointGroup, calls=UserCalls):
    """The group of AsyncVitalGraphClient: a method for each of UserCalls."""


class UsersEndpoint(SyncEndpointGroup, calls=UserCalls):
    """The group of VitalGraphClient: a method for each of UserCalls."""


class AsyncApiTokensEndpoint(AsyncEndpointGroup, calls=ApiTokenCalls):
    """The group of AsyncVitalGraphClient: a method for each of ApiTokenCalls."""


class ApiTokensEndpoint(SyncEndpointGroup, calls=ApiTokenCalls):
    """The group of VitalGraphClient: a method for each of ApiTokenCalls."""
