"""The one dependency that guards every space-scoped route: (principal, space_id, permission).

A route declares `space_id: WritableSpace` (query parameter) or `space_id: ReadableSpaceInPath`;
the caller is authenticated (401) and checked against the space (403) before the body is read.
"""

from typing import Annotated, Any

from fastapi import Depends, Path, Query

from vitalgraph.api.deps import PrincipalDep, ServicesDep
from vitalgraph.services.access import Permission
from vitalgraph.services.auth import Principal


def space_guard(permission: Permission, location: Any) -> Any:
    """A dependency giving the checked `space_id`, read from the query or the path."""

    # No `from __future__ import annotations` here: `location` must be evaluated, not a string.
    async def guard(
        services: ServicesDep, principal: PrincipalDep, space_id: Annotated[str, location]
    ) -> str:
        await services.access.check_space(principal, space_id, permission)
        return space_id

    guard.__name__ = f"require_{permission.value}_on_space"
    return Depends(guard)


def _query() -> Any:
    return Query(min_length=1, max_length=128)


def _path() -> Any:
    return Path(min_length=1, max_length=128)


ReadableSpace = Annotated[str, space_guard(Permission.READ, _query())]
WritableSpace = Annotated[str, space_guard(Permission.WRITE, _query())]
ReadableSpaceInPath = Annotated[str, space_guard(Permission.READ, _path())]
ManageableSpaceInPath = Annotated[str, space_guard(Permission.MANAGE, _path())]


async def require_admin(services: ServicesDep, principal: PrincipalDep) -> Principal:
    """Admin-only routes (users, grants): 403 for anyone else, before the body is looked at."""
    services.access.require_admin(principal, "manage users and grants")
    return principal


AdminDep = Annotated[Principal, Depends(require_admin)]
