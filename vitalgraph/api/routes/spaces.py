"""Spaces: create, list, get, delete; and who may use them (grants, admin only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, ConfigDict, Field

from vitalgraph.api.access import AdminDep, ManageableSpaceInPath, ReadableSpaceInPath
from vitalgraph.api.deps import PrincipalDep, ServicesDep
from vitalgraph.api.json_body import BoundedBodyRoute
from vitalgraph.services.access import Permission
from vitalgraph.services.spaces import Space

router = APIRouter(prefix="/api/spaces", tags=["spaces"], route_class=BoundedBodyRoute)


class SpaceCreate(BaseModel):
    space_id: str = Field(min_length=1, max_length=128)
    space_name: str | None = Field(default=None, max_length=1024)
    space_description: str = Field(default="", max_length=10_000)


class SpaceOut(BaseModel):
    space_id: str
    space_name: str
    space_description: str
    created: datetime
    space_uid: str  # the space's identity, fixed at creation: its graphs are named by it (docs/sparql.md)

    @classmethod
    def of(cls, space: Space) -> SpaceOut:
        return cls(**{**space.__dict__, "space_uid": space.uid})


class SpaceList(BaseModel):
    spaces: list[SpaceOut]
    total_count: int


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SpaceOut)
async def create_space(body: SpaceCreate, services: ServicesDep, principal: PrincipalDep) -> SpaceOut:
    """Admins and writers; a writer gets a 'manage' grant on the space they create."""
    space = await services.access.create_space(
        principal, body.space_id, body.space_name, body.space_description
    )
    return SpaceOut.of(space)


@router.get("", response_model=SpaceList)
async def list_spaces(services: ServicesDep, principal: PrincipalDep) -> SpaceList:
    """Only the spaces the caller holds a grant on (admins: all)."""
    spaces = await services.access.visible_spaces(principal)
    return SpaceList(spaces=[SpaceOut.of(s) for s in spaces], total_count=len(spaces))


@router.get("/{space_id}", response_model=SpaceOut)
async def get_space(space_id: ReadableSpaceInPath, services: ServicesDep) -> SpaceOut:
    return SpaceOut.of(await services.spaces.get(space_id))


@router.delete("/{space_id}")
async def delete_space(space_id: ManageableSpaceInPath, services: ServicesDep) -> dict:
    await services.access.delete_space(space_id)
    return {"deleted": space_id}


# --- grants (admin only) --------------------------------------------------------------------------
Username = Annotated[str, Path(min_length=1, max_length=64)]
SpaceIdPath = Annotated[str, Path(min_length=1, max_length=128)]


class GrantBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: Permission


class GrantOut(BaseModel):
    username: str
    level: Permission


class GrantList(BaseModel):
    space_id: str
    grants: list[GrantOut]


@router.get("/{space_id}/grants", response_model=GrantList)
async def list_grants(space_id: SpaceIdPath, services: ServicesDep, _: AdminDep) -> GrantList:
    grants = await services.access.list_grants(space_id)
    return GrantList(space_id=space_id, grants=[GrantOut(username=u, level=level) for u, level in grants])


@router.put("/{space_id}/grants/{username}", response_model=GrantOut)
async def put_grant(
    space_id: SpaceIdPath, username: Username, body: GrantBody, services: ServicesDep, _: AdminDep
) -> GrantOut:
    """Grant (or change) `level` — read, write or manage — on the space to the user."""
    await services.access.grant(space_id, username, body.level)
    return GrantOut(username=username, level=body.level)


@router.delete("/{space_id}/grants/{username}")
async def revoke_grant(space_id: SpaceIdPath, username: Username, services: ServicesDep, _: AdminDep) -> dict:
    await services.access.revoke(space_id, username)
    return {"space_id": space_id, "revoked": username}
