"""Direct-to-S3 uploads under /api/files/direct (docs/api.md): the client PUTs parts to presigned URLs,
the server checks them and commits the node. 404 (FeatureDisabledError, naming why) where the store
cannot verify the parts: the client then uploads through the server."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from vitalgraph.api.access import WritableSpace
from vitalgraph.api.deps import FileUri, GraphId, PrincipalDep, ServicesDep
from vitalgraph.api.json_body import BoundedBodyRoute
from vitalgraph.api.routes.files import UploadResponse
from vitalgraph.services.direct_uploads import MAX_PARTS, DirectStart

router = APIRouter(prefix="/api/files/direct", tags=["files"], route_class=BoundedBodyRoute)

UploadId = Annotated[str, Path(min_length=1, max_length=64)]


class DirectStartBody(BaseModel):
    size: int = Field(ge=1, description="the file's bytes")
    part_size: int = Field(ge=1, description="bytes per part, the last may be shorter")
    part_sha256: list[Annotated[str, Field(max_length=64)]] = Field(
        max_length=MAX_PARTS, description="each part's SHA-256, base64 (as x-amz-checksum-sha256)"
    )
    sha256: str | None = Field(default=None, max_length=64, description="the whole file's, hex")
    content_type: str | None = Field(default=None, max_length=255)
    filename: str | None = Field(default=None, max_length=1024)


class DirectPart(BaseModel):
    number: int
    url: str
    headers: dict[str, str]  # to send with the PUT: signed into the URL


class DirectUploadReply(BaseModel):
    upload_id: str
    uri: str
    size: int
    part_size: int
    expires_at: float  # Unix time
    parts: list[DirectPart]
    parts_done: list[int] = []


def _reply(start: DirectStart, done: list[int] | None = None) -> DirectUploadReply:
    upload = start.upload
    return DirectUploadReply(
        upload_id=upload.id,
        uri=upload.file_uri,
        size=upload.size,
        part_size=upload.part_size,
        expires_at=upload.expires,
        parts=[
            DirectPart(number=number, url=url, headers=headers)
            for number, (url, headers) in enumerate(zip(start.part_urls, start.headers, strict=True), 1)
        ],
        parts_done=done or [],
    )


@router.post("", response_model=DirectUploadReply, status_code=201)
async def start_direct_upload(
    body: DirectStartBody,
    services: ServicesDep,
    principal: PrincipalDep,
    space_id: WritableSpace,
    uri: FileUri,
    graph_id: GraphId = None,
) -> DirectUploadReply:
    """Begin a multipart upload straight to S3: one presigned URL per part, each with its SHA-256 signed in."""
    start = await services.direct.start(
        principal.username,
        space_id,
        graph_id,
        uri,
        size=body.size,
        part_size=body.part_size,
        part_sha256s=body.part_sha256,
        sha256=body.sha256,
        content_type=body.content_type,
        filename=body.filename,
    )
    return _reply(start)


@router.get("/{upload_id}", response_model=DirectUploadReply)
async def direct_upload_status(
    upload_id: UploadId, services: ServicesDep, principal: PrincipalDep
) -> DirectUploadReply:
    """The part URLs again and the parts S3 already holds: to resume an upload."""
    start, done = await services.direct.status(principal.username, upload_id)
    return _reply(start, done)


@router.post("/{upload_id}/complete", response_model=UploadResponse)
async def complete_direct_upload(
    upload_id: UploadId, services: ServicesDep, principal: PrincipalDep
) -> UploadResponse:
    """Check the parts, complete the upload, read it back for its SHA-256, then commit the node."""
    result = await services.direct.complete(principal.username, upload_id)
    return UploadResponse.of(result)


@router.delete("/{upload_id}", status_code=204)
async def abort_direct_upload(upload_id: UploadId, services: ServicesDep, principal: PrincipalDep) -> None:
    """Abort the multipart upload: S3 drops the parts sent so far."""
    await services.direct.abort(principal.username, upload_id)
