"""Backup, restore and verify (admins only), run by the server itself so it keeps serving meanwhile."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from vitalgraph.api.access import AdminDep
from vitalgraph.api.deps import ServicesDep
from vitalgraph.api.json_body import BoundedBodyRoute
from vitalgraph.services import backup as backups
from vitalgraph.services.backup_targets import open_target

router = APIRouter(prefix="/api/admin", tags=["admin"], route_class=BoundedBodyRoute)

Location = Field(
    min_length=1,
    max_length=1024,
    description="a folder inside the server's BACKUP_ROOT, or s3://bucket/prefix (the server's S3 credentials)",
)


class BackupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    destination: str = Location


class RestoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str = Location
    spaces: list[str] | None = Field(
        default=None, description="only these spaces (each must not exist); all when left out"
    )
    snapshot_id: str | None = Field(default=None, max_length=64, description="default: the newest")


@router.post("/backup", summary="Back up the graph store and the blobs it references")
async def run_backup(body: BackupRequest, services: ServicesDep, _: AdminDep) -> dict:
    """A consistent snapshot while the server keeps serving: an upload that commits meanwhile is wholly
    in it or wholly absent. Blobs already at the destination are not copied again."""
    target = open_target(body.destination, services.settings, confine_to=services.settings.BACKUP_ROOT)
    await target.open()
    try:
        return asdict(await backups.backup(services.graph, services.blobs, target))
    finally:
        await target.close()


@router.post("/restore", summary="Restore spaces, or everything, from a backup")
async def run_restore(body: RestoreRequest, services: ServicesDep, _: AdminDep) -> dict:
    """409 if a space to restore exists (or, restoring everything, if any space exists)."""
    source = open_target(body.source, services.settings, confine_to=services.settings.BACKUP_ROOT)
    await source.open()
    try:
        report = await backups.restore(
            services.graph,
            services.blobs,
            source,
            spaces=body.spaces,
            snapshot_id=body.snapshot_id,
            data_dir=services.settings.DATA_DIR,
        )
    finally:
        await source.close()
    return asdict(report)


@router.get("/verify", summary="Check every file node against its blob, and find orphaned blobs")
async def run_verify(
    services: ServicesDep,
    _: AdminDep,
    orphan_min_age_seconds: Annotated[
        float, Query(ge=0, description="younger unreferenced blobs may be uploads still committing")
    ] = 60,
) -> dict:
    """Reads every blob (size and SHA-256) and changes nothing."""
    report = await backups.verify(
        services.graph, services.blobs, orphan_min_age_seconds=orphan_min_age_seconds
    )
    return {**asdict(report), "ok": report.ok}
