"""Users (admin only): create, list, get, change role or password, delete."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, ConfigDict, Field

from vitalgraph.api.access import AdminDep
from vitalgraph.api.deps import ServicesDep
from vitalgraph.api.json_body import BoundedBodyRoute
from vitalgraph.services.accounts import MAX_PASSWORD_LENGTH, Role, User

router = APIRouter(prefix="/api/users", tags=["users"], route_class=BoundedBodyRoute)

Username = Annotated[str, Path(min_length=1, max_length=64)]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(max_length=MAX_PASSWORD_LENGTH)
    role: Role


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    password: str | None = Field(default=None, max_length=MAX_PASSWORD_LENGTH)


class UserOut(BaseModel):
    username: str
    role: Role
    created: datetime | None
    configured: bool = Field(description="the admin account set by VITALGRAPH_ADMIN_USERNAME/_PASSWORD")

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            username=user.username, role=user.role, created=user.created, configured=user.created is None
        )


class UserList(BaseModel):
    users: list[UserOut]
    total_count: int


@router.post("", status_code=status.HTTP_201_CREATED, response_model=UserOut)
async def create_user(body: UserCreate, services: ServicesDep, _: AdminDep) -> UserOut:
    """400 for a bad username or weak password, 409 if the user exists."""
    return UserOut.of(await services.auth.create_user(body.username, body.password, body.role))


@router.get("", response_model=UserList)
async def list_users(services: ServicesDep, _: AdminDep) -> UserList:
    """Every user and role (admin only)."""
    users = await services.auth.list_users()
    return UserList(users=[UserOut.of(u) for u in users], total_count=len(users))


@router.get("/{username}", response_model=UserOut)
async def get_user(username: Username, services: ServicesDep, _: AdminDep) -> UserOut:
    """One user and role (admin only)."""
    return UserOut.of(await services.auth.get_user(username))


@router.patch("/{username}", response_model=UserOut)
async def update_user(username: Username, body: UserUpdate, services: ServicesDep, _: AdminDep) -> UserOut:
    """A new role applies from the user's next request; a new password ends all their sessions and API tokens."""
    return UserOut.of(await services.auth.update_user(username, role=body.role, password=body.password))


@router.delete("/{username}")
async def delete_user(username: Username, services: ServicesDep, _: AdminDep) -> dict:
    """Also removes the user's grants, sessions and API tokens."""
    await services.auth.delete_user(username)
    return {"deleted": username}
