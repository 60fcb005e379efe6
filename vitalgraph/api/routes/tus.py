"""tus 1.0.0 resumable uploads under /api/files/tus/ (see docs/tus.md).

Extensions: creation, creation-with-upload, creation-defer-length, termination, checksum (sha1,
sha256), expiration. Every route needs the bearer token. Errors are the services' typed errors,
mapped in vitalgraph.api.errors; this router only adds the tus headers every response must carry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from email.utils import formatdate
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from vitalgraph.api.deps import PrincipalDep, ServicesDep, current_principal, header_integer, request_body
from vitalgraph.api.errors import error_response
from vitalgraph.api.urls import absolute_url
from vitalgraph.blobs.resumable import CHECKSUM_ALGORITHMS, ChunkCheck
from vitalgraph.errors import (
    InvalidInputError,
    PreconditionFailedError,
    UnsupportedMediaTypeError,
    VitalGraphError,
)
from vitalgraph.services.access import Permission
from vitalgraph.services.auth import Principal
from vitalgraph.services.tus import TusProgress, TusUpload, encode_metadata, parse_metadata

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,creation-defer-length,termination,checksum,expiration"
CHUNK_CONTENT_TYPE = "application/offset+octet-stream"
# Headers a browser may read from our replies (CORSMiddleware's expose_headers).
TUS_RESPONSE_HEADERS = [
    "Location",
    "Upload-Offset",
    "Upload-Length",
    "Upload-Defer-Length",
    "Upload-Metadata",
    "Upload-Expires",
    "Tus-Resumable",
    "Tus-Version",
    "Tus-Extension",
    "Tus-Max-Size",
    "Tus-Checksum-Algorithm",
]


class TusRoute(APIRoute):
    """Adds `Tus-Resumable` to every reply, errors included (rendered by the one error mapper)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                response = await handler(request)
            except VitalGraphError as exc:
                response = error_response(exc)
            response.headers["Tus-Resumable"] = TUS_VERSION
            if response.status_code == 412:
                response.headers["Tus-Version"] = TUS_VERSION
            return response

        return run


async def require_tus_version(request: Request) -> None:
    if request.method != "OPTIONS" and request.headers.get("tus-resumable") != TUS_VERSION:
        got = request.headers.get("tus-resumable")
        raise PreconditionFailedError(
            f"this server speaks tus {TUS_VERSION}; send 'Tus-Resumable: {TUS_VERSION}'"
            + (f" (got {got[:32]!r})" if got else "")
        )


# Authentication first: a caller without a token learns it needs one (401) before protocol details (412).
router = APIRouter(
    prefix="/api/files/tus",
    tags=["tus"],
    route_class=TusRoute,
    dependencies=[Depends(current_principal), Depends(require_tus_version)],
)


def _check_chunk_type(request: Request) -> None:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != CHUNK_CONTENT_TYPE:
        raise UnsupportedMediaTypeError(f"a tus chunk must be sent as Content-Type: {CHUNK_CONTENT_TYPE}")


def _upload_length(request: Request) -> int | None:
    """Upload-Length, or None with `Upload-Defer-Length: 1`; exactly one of them."""
    length = header_integer(request, "Upload-Length")
    deferred = request.headers.get("upload-defer-length")
    if deferred is not None and deferred != "1":
        raise InvalidInputError("Upload-Defer-Length must be 1")
    if (length is None) == (deferred is None):
        raise InvalidInputError("send either Upload-Length or Upload-Defer-Length: 1")
    return length


def _metered_body(request: Request) -> AsyncIterator[bytes]:
    return request.app.state.metrics.metered(request_body(request), "upload")


async def _check_upload_access(services: ServicesDep, principal: Principal, upload_id: str) -> None:
    """Uploading needs write access to the upload's space, at every step: a grant revoked mid-upload stops it."""
    upload = (await services.tus.status(upload_id, principal.username)).upload
    await services.access.check_space(principal, upload.space_id, Permission.WRITE)


def _expires(upload: TusUpload) -> str:
    return formatdate(upload.expires, usegmt=True)


def _progress_headers(progress: TusProgress) -> dict[str, str]:
    headers = {"Upload-Offset": str(progress.offset)}
    if progress.result is None:  # a finished upload no longer expires
        headers["Upload-Expires"] = _expires(progress.upload)
    return headers


def _capabilities(services: ServicesDep) -> dict[str, str]:
    headers = {
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": TUS_EXTENSIONS,
        "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
    }
    if services.settings.max_upload_size is not None:
        headers["Tus-Max-Size"] = str(services.settings.max_upload_size)
    return headers


@router.options("")
@router.options("/")
async def tus_options(services: ServicesDep, _: PrincipalDep) -> Response:
    """tus discovery: the version, extensions, maximum size and checksum algorithms."""
    return Response(status_code=204, headers=_capabilities(services))


@router.options("/{upload_id}")
async def tus_options_on_upload(upload_id: str, services: ServicesDep, principal: PrincipalDep) -> Response:
    """The same capabilities, asked on an upload's URL; declared apart so the spec names {upload_id}."""
    return await tus_options(services, principal)


@router.post("")
@router.post("/")
async def tus_create(request: Request, services: ServicesDep, principal: PrincipalDep) -> Response:
    """creation (+ creation-with-upload when the request has a body of chunk type)."""
    length = _upload_length(request)
    metadata = parse_metadata(request.headers.get("upload-metadata"))
    has_body = (header_integer(request, "Content-Length") or 0) > 0 or "transfer-encoding" in request.headers
    if has_body:
        _check_chunk_type(request)
    check = ChunkCheck.parse(request.headers.get("upload-checksum")) if has_body else None
    if "space_id" in metadata:  # without one, create() refuses the metadata with a 400
        await services.access.check_space(principal, metadata["space_id"], Permission.WRITE)
    upload = await services.tus.create(principal.username, metadata, length)
    location = absolute_url(request, request.app.url_path_for("tus_head", upload_id=upload.id))
    if has_body:
        progress = await services.tus.append(
            upload.id, principal.username, 0, _metered_body(request), check=check
        )
    else:
        progress = TusProgress(upload, 0, await services.tus.complete_if_empty(upload))
    return Response(status_code=201, headers={"Location": location, **_progress_headers(progress)})


@router.head("/{upload_id}", name="tus_head")
async def tus_head(upload_id: str, services: ServicesDep, principal: PrincipalDep) -> Response:
    """The upload's offset and length, so a client knows where to resume."""
    await _check_upload_access(services, principal, upload_id)
    progress = await services.tus.status(upload_id, principal.username)
    upload = progress.upload
    headers = {
        "Upload-Offset": str(progress.offset),
        "Cache-Control": "no-store",
        "Upload-Expires": _expires(upload),
    }
    if upload.length is None:
        headers["Upload-Defer-Length"] = "1"
    else:
        headers["Upload-Length"] = str(upload.length)
    if upload.metadata:
        headers["Upload-Metadata"] = encode_metadata(upload.metadata)
    return Response(status_code=200, headers=headers)


@router.patch(
    "/{upload_id}",
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The next chunk of the file, starting at Upload-Offset.",
            "content": {CHUNK_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def tus_patch(
    upload_id: str, request: Request, services: ServicesDep, principal: PrincipalDep
) -> Response:
    """Append a chunk (`application/offset+octet-stream`) at `Upload-Offset`; an optional
    `Upload-Checksum` (sha1 or sha256) is checked before the chunk counts."""
    _check_chunk_type(request)
    offset = header_integer(request, "Upload-Offset")
    if offset is None:
        raise InvalidInputError("missing Upload-Offset header")
    check = ChunkCheck.parse(request.headers.get("upload-checksum"))
    await _check_upload_access(services, principal, upload_id)
    progress = await services.tus.append(
        upload_id,
        principal.username,
        offset,
        _metered_body(request),
        length=header_integer(request, "Upload-Length"),
        check=check,
    )
    return Response(status_code=204, headers=_progress_headers(progress))


@router.delete("/{upload_id}")
async def tus_terminate(upload_id: str, services: ServicesDep, principal: PrincipalDep) -> Response:
    """Abandon the upload and free what it stored."""
    await _check_upload_access(services, principal, upload_id)
    await services.tus.terminate(upload_id, principal.username)
    return Response(status_code=204)
