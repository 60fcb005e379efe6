"""Spaces: create, list, get, delete."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from vitalgraph.api.deps import PrincipalDep, ServicesDep
from vitalgraph.services.spaces import Space

router = APIRouter(prefix="/api/spaces", tags=["spaces"])


class SpaceCreate(BaseModel):
    space_id: str = Field(min_length=1, max_length=128)
    space_name: str | None = Field(default=None, max_length=1024)
    space_description: str = Field(default="", max_length=10_000)


class SpaceOut(BaseModel):
    space_id: str
    space_name: str
    space_description: str
    created: datetime

    @classmethod
    def of(cls, space: Space) -> "SpaceOut":
        return cls(**space.__dict__)


class SpaceList(BaseModel):
    spaces: list[SpaceOut]
    total_count: int


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SpaceOut)
async def create_space(body: SpaceCreate, services: ServicesDep, _: PrincipalDep) -> SpaceOut:
    return SpaceOut.of(await services.spaces.create(body.space_id, body.space_name, body.space_description))


@router.get("", response_model=SpaceList)
async def list_spaces(services: ServicesDep, _: PrincipalDep) -> SpaceList:
    spaces = await services.spaces.list()
    return SpaceList(spaces=[SpaceOut.of(s) for s in spaces], total_count=len(spaces))


@router.get("/{space_id}", response_model=SpaceOut)
async def get_space(space_id: str, services: ServicesDep, _: PrincipalDep) -> SpaceOut:
    return SpaceOut.of(await services.spaces.get(space_id))


@router.delete("/{space_id}")
async def delete_space(space_id: str, services: ServicesDep, _: PrincipalDep) -> dict:
    await services.spaces.delete(space_id)
    return {"deleted": space_id}
