"""File nodes (metadata as JSON-LD) and their content (streamed both ways).

Upload bodies are read from `request.stream()` as they arrive: raw bytes, or multipart parsed by
a streaming parser. Nothing here uses `request.form()`/`UploadFile`, which would spool the file first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from vitalgraph.api.access import ReadableSpace, WritableSpace
from vitalgraph.api.deps import (
    FileUri,
    GraphId,
    Offset,
    OptionalUri,
    PageSize,
    Search,
    ServicesDep,
    UriList,
    declared_length,
    read_graph_objects,
    request_body,
    require_streaming,
    split_uri_list,
    uris_to_delete,
)
from vitalgraph.api.download import build_download_response
from vitalgraph.api.multipart import open_multipart_file
from vitalgraph.api.openapi import DOWNLOAD_RESPONSES, upload_body
from vitalgraph.api.ranges import make_etag
from vitalgraph.errors import InvalidInputError, PayloadTooLargeError
from vitalgraph.model import GraphObject
from vitalgraph.services.files import parse_expires

router = APIRouter(prefix="/api/files", tags=["files"])


async def legacy_file_uri(uri: OptionalUri = None, file_uri: OptionalUri = None) -> str:
    """The legacy routes name the file node `uri` or, as older clients do, `file_uri`."""
    if not (uri or file_uri):
        raise InvalidInputError("missing query parameter 'uri' (or 'file_uri')")
    return uri or file_uri  # type: ignore[return-value]


class UploadResponse(BaseModel):
    uri: str
    size: int
    sha256: str
    content_type: str
    filename: str | None


# --- metadata -----------------------------------------------------------------------------------
@router.post("", status_code=201)
async def create_files(
    request: Request, services: ServicesDep, space_id: WritableSpace, graph_id: GraphId = None
) -> dict:
    """Create file nodes from JSON-LD (one object, a list, or a graph); content comes later."""
    objects = await read_graph_objects(request)
    uris = await services.files.create_files(space_id, graph_id, objects)
    return {"created_uris": uris, "created_count": len(uris)}


@router.put("")
async def update_files(
    request: Request, services: ServicesDep, space_id: WritableSpace, graph_id: GraphId = None
) -> dict:
    """Replace the metadata of existing file nodes (their content is kept)."""
    objects = await read_graph_objects(request)
    uris = await services.files.update_files(space_id, graph_id, objects)
    return {"updated_uris": uris, "updated_count": len(uris)}


@router.get("")
async def get_files(
    services: ServicesDep,
    space_id: ReadableSpace,
    graph_id: GraphId = None,
    uri: OptionalUri = None,
    uri_list: UriList = None,
    page_size: PageSize = 100,
    offset: Offset = 0,
    file_filter: Search = None,
) -> dict:
    """One file node (`uri`), several (`uri_list`), or a page of the space's file nodes."""
    if uri:
        return (await services.files.get_file(space_id, graph_id, uri)).to_jsonld()
    if uri_list:
        nodes = await services.files.get_files(space_id, graph_id, split_uri_list(uri_list))
        return GraphObject.list_to_jsonld(nodes)
    nodes, total = await services.files.list_files(
        space_id, graph_id, page_size=page_size, offset=offset, file_filter=file_filter
    )
    return {
        "files": GraphObject.list_to_jsonld(nodes),
        "total_count": total,
        "page_size": page_size,
        "offset": offset,
    }


@router.delete("")
async def delete_files(
    services: ServicesDep,
    space_id: WritableSpace,
    graph_id: GraphId = None,
    uri: OptionalUri = None,
    uri_list: UriList = None,
) -> dict:
    """Delete file nodes and their content; all or none."""
    deleted = await services.files.delete_files(
        space_id, graph_id, uris_to_delete(uri, uri_list, "file nodes")
    )
    return {"deleted_uris": deleted, "deleted_count": len(deleted)}


class PresignedResponse(BaseModel):
    uri: str
    url: str
    expires_in: int
    expires_at: str  # ISO 8601, UTC
    size: int
    sha256: str


# --- content ------------------------------------------------------------------------------------
async def _upload(
    request: Request,
    services: ServicesDep,
    space_id: str,
    graph_id: str | None,
    uri: str,
    filename: str | None,
    *,
    multipart_only: bool,
) -> UploadResponse:
    length = declared_length(request)
    limit = services.settings.max_upload_size
    if limit is not None and length is not None and length > limit:
        raise PayloadTooLargeError(
            f"upload of {length} bytes exceeds the maximum file size of {limit} bytes (MAX_STREAMING_FILE_SIZE)"
        )
    content_type = request.headers.get("content-type", "")
    body = request.app.state.metrics.metered(request_body(request), "upload")
    with request.app.state.shutdown.upload():  # SIGTERM aborts it cleanly: see api/shutdown.py
        try:
            if multipart_only or content_type.lower().startswith("multipart/form-data"):
                await services.files.get_file(space_id, graph_id, uri)  # 404 before reading any body
                part = await open_multipart_file(body, content_type)
                chunks, content_type, expected = part.chunks, part.content_type, None
                filename = filename or part.filename
            else:
                chunks, expected = body, length
            result = await services.files.upload_content(
                space_id,
                graph_id,
                uri,
                chunks,
                content_type=content_type,
                filename=filename,
                expected_size=expected,
            )
        finally:
            await body.aclose()
    return UploadResponse(**result.__dict__)


async def _download(
    request: Request, services: ServicesDep, space_id: str, graph_id: str | None, uri: str
) -> Response:
    content = await services.files.open_content(space_id, graph_id, uri)
    metrics = request.app.state.metrics

    def read_range(start: int, end: int) -> AsyncIterator[bytes]:
        return metrics.metered(content.read_range(start, end), "download")

    return build_download_response(
        request,
        size=content.size,
        etag=make_etag(content.sha256),
        content_type=content.content_type,
        filename=content.filename,
        last_modified=content.modified,
        read_range=read_range,
        chunk_size=services.settings.STREAMING_CHUNK_SIZE,
        stall_timeout=services.settings.TRANSFER_IDLE_TIMEOUT_SECONDS,
    )


# One route per method (not api_route(methods=[...])): OpenAPI needs a distinct operationId for each.
_STREAM_UPLOAD = {
    "response_model": UploadResponse,
    "dependencies": [Depends(require_streaming)],
    "openapi_extra": upload_body(raw=True, multipart=True),
    "summary": "Upload a file's content (raw or multipart)",
}
_DOWNLOAD = {"responses": DOWNLOAD_RESPONSES, "response_class": Response}


@router.post("/stream/upload", **_STREAM_UPLOAD)
@router.put("/stream/upload", **_STREAM_UPLOAD)
async def stream_upload(
    request: Request,
    services: ServicesDep,
    space_id: WritableSpace,
    uri: FileUri,
    graph_id: GraphId = None,
    filename: Annotated[str | None, Query(max_length=1024)] = None,
) -> UploadResponse:
    """Body: the raw bytes (Content-Type = the file's type) or multipart/form-data with a 'file' field.

    PUT is accepted too, so `curl -T FILE URL` works as is.
    """
    return await _upload(request, services, space_id, graph_id, uri, filename, multipart_only=False)


@router.get("/stream/download", dependencies=[Depends(require_streaming)], **_DOWNLOAD)
@router.head("/stream/download", dependencies=[Depends(require_streaming)], **_DOWNLOAD)
async def stream_download(
    request: Request, services: ServicesDep, space_id: ReadableSpace, uri: FileUri, graph_id: GraphId = None
) -> Response:
    """Stream a file node's content: the whole file, or the byte ranges asked for with `Range`.

    `If-Range` (resume only if unchanged), `If-None-Match` (304) and `If-Match` (412) take the ETag, the
    SHA-256 of the content; HEAD answers the headers alone, so `curl -C -` and `wget -c` resume."""
    return await _download(request, services, space_id, graph_id, uri)


@router.post("/upload", response_model=UploadResponse, openapi_extra=upload_body(raw=False, multipart=True))
async def legacy_upload(
    request: Request,
    services: ServicesDep,
    space_id: WritableSpace,
    uri: Annotated[str, Depends(legacy_file_uri)],
    graph_id: GraphId = None,
) -> UploadResponse:
    """The existing VitalGraph route: multipart/form-data with a 'file' field."""
    return await _upload(request, services, space_id, graph_id, uri, None, multipart_only=True)


@router.get("/download", **_DOWNLOAD)
@router.head("/download", **_DOWNLOAD)
async def legacy_download(
    request: Request,
    services: ServicesDep,
    space_id: ReadableSpace,
    uri: Annotated[str, Depends(legacy_file_uri)],
    graph_id: GraphId = None,
) -> Response:
    """The existing VitalGraph route: the same responses as /api/files/stream/download."""
    return await _download(request, services, space_id, graph_id, uri)


@router.get("/presigned", response_model=PresignedResponse)
async def presigned_download(
    services: ServicesDep,
    space_id: ReadableSpace,
    uri: FileUri,
    graph_id: GraphId = None,
    expires: Annotated[
        str | None, Query(max_length=40, description="seconds, 1 to 604800; default 3600")
    ] = None,
) -> PresignedResponse:
    """A time-limited URL that downloads the file straight from S3; 404 when the blob store cannot
    presign (the feature is off)."""
    presigned = await services.files.presign_download(space_id, graph_id, uri, parse_expires(expires))
    return PresignedResponse(**{**presigned.__dict__, "expires_at": presigned.expires_at.isoformat()})
