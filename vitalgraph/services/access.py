"""Authorization: what a principal may do with a space. Every route asks here, and only here.

Model (docs/security.md):
- Roles: `admin` may do everything on every space and manages users and grants; `writer` may create
  spaces and holds grants up to `manage`; `reader` holds `read` grants only and creates nothing.
- Grants: per (user, space) a level `read` < `write` < `manage`. `read` reads a space's data and
  files, `write` also changes them, `manage` also deletes the space. Creating a space gives its
  creator a `manage` grant. A grant above the user's role is refused; if a role is lowered later,
  the grants count only up to the new role.
- A space without a grant for the caller answers 403 whether it exists or not: its existence does
  not leak (creating a space with a taken id does answer 409, since ids are global).
"""

from __future__ import annotations

from enum import Enum

from vitalgraph.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from vitalgraph.services.accounts import AccountStore, Role
from vitalgraph.services.auth import AuthService, Principal
from vitalgraph.services.spaces import Space, SpaceService, check_space_id


class Permission(str, Enum):
    READ = "read"
    WRITE = "write"
    MANAGE = "manage"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {Permission.READ: 1, Permission.WRITE: 2, Permission.MANAGE: 3}
ROLE_CEILING = {Role.ADMIN: Permission.MANAGE, Role.WRITER: Permission.MANAGE, Role.READER: Permission.READ}


class AccessService:
    def __init__(self, accounts: AccountStore, auth: AuthService, spaces: SpaceService) -> None:
        self.accounts = accounts
        self.auth = auth
        self.spaces = spaces

    # --- checks -------------------------------------------------------------------------------------
    async def check_space(self, principal: Principal, space_id: str, needed: Permission) -> None:
        """PermissionDeniedError unless `principal` holds `needed` on `space_id` (admins always do)."""
        check_space_id(space_id)  # a malformed id is the same 400 for everyone, before any grant lookup
        if principal.is_admin:
            return
        held = await self.permission_on(principal, space_id)
        if held is None or held.rank < needed.rank:
            have = f"you have '{held.value}'" if held else "you have no grant on it"
            raise PermissionDeniedError(
                f"user {principal.username!r} needs '{needed.value}' permission on space {space_id!r} ({have})"
            )

    async def check_user_may_write(self, username: str, space_id: str) -> None:
        """The check an upload's commit makes again: the user, as they are now (role, grants), may
        still write to the space; PermissionDeniedError naming why not."""
        try:
            user = await self.auth.get_user(username)
        except NotFoundError:
            raise PermissionDeniedError(
                f"user {username!r} no longer exists, so their upload to space {space_id!r} is refused"
            ) from None
        try:
            await self.check_space(Principal(username, user.role), space_id, Permission.WRITE)
        except PermissionDeniedError as exc:
            raise PermissionDeniedError(
                f"{exc}; the grant changed during the upload, so it is refused"
            ) from None

    async def permission_on(self, principal: Principal, space_id: str) -> Permission | None:
        if principal.is_admin:
            return Permission.MANAGE
        grants = await self.accounts.grants(space_id=space_id, username=principal.username)
        if not grants:
            return None
        return _capped(Permission(grants[0][2]), principal.role)

    def require_admin(self, principal: Principal, action: str) -> None:
        if not principal.is_admin:
            raise PermissionDeniedError(
                f"only admins may {action} (user {principal.username!r} is a {principal.role.value})"
            )

    def require_can_create_spaces(self, principal: Principal) -> None:
        if principal.role is Role.READER:
            raise PermissionDeniedError(
                f"user {principal.username!r} is a reader: creating a space needs the role writer or admin"
            )

    # --- spaces seen through grants -------------------------------------------------------------------
    async def visible_spaces(self, principal: Principal) -> list[Space]:
        spaces = await self.spaces.list()
        if principal.is_admin:
            return spaces
        granted = {space for space, _, _ in await self.accounts.grants(username=principal.username)}
        return [s for s in spaces if s.space_id in granted]

    async def create_space(
        self, principal: Principal, space_id: str, name: str | None, description: str
    ) -> Space:
        self.require_can_create_spaces(principal)
        space = await self.spaces.create(space_id, name, description)
        if not principal.is_admin:
            await self.accounts.set_grant(space_id, principal.username, Permission.MANAGE.value)
        return space

    async def delete_space(self, space_id: str) -> None:
        await self.spaces.delete(space_id)
        await self.accounts.delete_grants_on(space_id)

    # --- grants (admin only; the routes check) ---------------------------------------------------------
    async def list_grants(self, space_id: str) -> list[tuple[str, Permission]]:
        await self.spaces.require(space_id)
        return [(user, Permission(level)) for _, user, level in await self.accounts.grants(space_id=space_id)]

    async def grant(self, space_id: str, username: str, level: Permission) -> None:
        await self.spaces.require(space_id)
        user = await self.auth.get_user(username)
        if user.role is Role.ADMIN:
            raise InvalidInputError(f"user {username!r} is an admin: admins reach every space without grants")
        ceiling = ROLE_CEILING[user.role]
        if level.rank > ceiling.rank:
            raise InvalidInputError(
                f"user {username!r} is a {user.role.value}: a {user.role.value} can hold at most "
                f"'{ceiling.value}' grants, not '{level.value}'"
            )
        await self.accounts.set_grant(space_id, username, level.value)

    async def revoke(self, space_id: str, username: str) -> None:
        await self.spaces.require(space_id)
        await self.auth.get_user(username)
        if not await self.accounts.grants(space_id=space_id, username=username):
            raise NotFoundError(f"user {username!r} has no grant on space {space_id!r}")
        await self.accounts.delete_grant(space_id, username)


def _capped(level: Permission, role: Role) -> Permission:
    ceiling = ROLE_CEILING[role]
    return level if level.rank <= ceiling.rank else ceiling
