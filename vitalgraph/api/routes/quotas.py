"""Quotas and usage: per space, and per organization over its spaces. Admins set them; a space's
readers see its usage and the quotas that apply."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from vitalgraph.api.access import AdminDep, ReadableSpaceInPath
from vitalgraph.api.deps import ServicesDep
from vitalgraph.api.json_body import BoundedBodyRoute
from vitalgraph.services.quotas import Limit, Quota, Usage

router = APIRouter(tags=["quotas"], route_class=BoundedBodyRoute)
Organization = Annotated[str, Path(min_length=1, max_length=128)]
SpaceIdPath = Annotated[str, Path(min_length=1, max_length=128)]


class QuotaBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_bytes: int | None = Field(default=None, ge=0, description="null: no limit")
    max_files: int | None = Field(default=None, ge=0, description="null: no limit")


class UsageOut(BaseModel):
    bytes: int
    files: int


class LimitOut(BaseModel):
    scope: str
    max_bytes: int | None
    max_files: int | None
    bytes_left: int | None
    files_left: int | None


class SpaceUsage(BaseModel):
    space_id: str
    organization: str | None
    usage: UsageOut
    quotas: list[LimitOut] = Field(description="every quota that applies: the space's, its organization's")


class OrganizationUsage(BaseModel):
    organization: str
    spaces: list[str]
    usage: UsageOut
    quota: QuotaBody


class OrganizationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    organization: str | None = Field(default=None, min_length=1, max_length=128, description="null: none")


def _usage(usage: Usage) -> UsageOut:
    return UsageOut(bytes=usage.bytes, files=usage.files)


def _limit(limit: Limit) -> LimitOut:
    return LimitOut(
        scope=limit.scope,
        max_bytes=limit.quota.max_bytes,
        max_files=limit.quota.max_files,
        bytes_left=limit.bytes_left(),
        files_left=limit.files_left(),
    )


async def _space_usage(services, space_id: str) -> SpaceUsage:  # type: ignore[no-untyped-def]
    space = await services.spaces.get(space_id)
    return SpaceUsage(
        space_id=space_id,
        organization=await services.quotas.space_organization(space_id),
        usage=_usage(await services.quotas.usage(space)),
        quotas=[_limit(limit) for limit in await services.quotas.limits(space)],
    )


@router.get("/api/spaces/{space_id}/usage", response_model=SpaceUsage, summary="A space's usage and quotas")
async def space_usage(space_id: ReadableSpaceInPath, services: ServicesDep) -> SpaceUsage:
    """Bytes and files stored in the space now, and what each quota that applies leaves."""
    return await _space_usage(services, space_id)


@router.put("/api/spaces/{space_id}/quota", response_model=SpaceUsage, summary="Set a space's quota")
async def set_space_quota(
    space_id: SpaceIdPath, body: QuotaBody, services: ServicesDep, _: AdminDep
) -> SpaceUsage:
    """Admins only. Both limits null removes the quota. Uploads that would cross it are stopped
    mid-stream with 507; a quota below the current usage stops new bytes, it deletes nothing."""
    await services.quotas.set_space_quota(space_id, Quota(body.max_bytes, body.max_files))
    return await _space_usage(services, space_id)


@router.put(
    "/api/spaces/{space_id}/organization", response_model=SpaceUsage, summary="Put a space in an organization"
)
async def set_space_organization(
    space_id: SpaceIdPath, body: OrganizationBody, services: ServicesDep, _: AdminDep
) -> SpaceUsage:
    """Admins only. The organization's quota then covers this space too; null takes it out."""
    await services.quotas.set_space_organization(space_id, body.organization)
    return await _space_usage(services, space_id)


@router.get(
    "/api/organizations/{organization}/usage",
    response_model=OrganizationUsage,
    summary="An organization's usage and quota",
)
async def organization_usage(
    organization: Organization, services: ServicesDep, _: AdminDep
) -> OrganizationUsage:
    """The organization's spaces, the bytes and files they hold together, and its quota (admin only)."""
    quota = await services.quotas.organization_quota(organization)
    return OrganizationUsage(
        organization=organization,
        spaces=await services.quotas.organization_spaces(organization),
        usage=_usage(await services.quotas.organization_usage(organization)),
        quota=QuotaBody(max_bytes=quota.max_bytes, max_files=quota.max_files),
    )


@router.put(
    "/api/organizations/{organization}/quota",
    response_model=OrganizationUsage,
    summary="Set an organization's quota over all its spaces",
)
async def set_organization_quota(
    organization: Organization, body: QuotaBody, services: ServicesDep, admin: AdminDep
) -> OrganizationUsage:
    """Admins only. Both limits null removes the quota."""
    await services.quotas.set_organization_quota(organization, Quota(body.max_bytes, body.max_files))
    return await organization_usage(organization, services, admin)
