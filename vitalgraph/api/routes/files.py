"""File nodes (metadata as JSON-LD) and their content (streamed both ways).

Upload bodies are read from `request.stream()` as they arrive: raw bytes, or multipart parsed by
a streaming parser. Nothing here uses `request.form()`/`UploadFile`, which would spool the file first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from vitalgraph.api.access import ReadableSpace, WritableSpace
from vitalgraph.api.deps import (
    FileUri,
    GraphId,
    OptionalUri,
    Paged,
    PrincipalDep,
    Search,
    Selected,
    ServicesDep,
    declared_length,
    request_body,
    require_streaming,
)
from vitalgraph.api.digests import sha256_from_field
from vitalgraph.api.download import RangeStreamResponse, build_download_response
from vitalgraph.api.json_body import BoundedBodyRoute, read_graph_objects
from vitalgraph.api.multipart import open_multipart_file
from vitalgraph.api.object_routes import uris_reply
from vitalgraph.api.openapi import DOWNLOAD_RESPONSES, upload_body
from vitalgraph.api.ranges import make_etag
from vitalgraph.api.wire import objects_reply
from vitalgraph.errors import InvalidInputError
from vitalgraph.services.access import Permission
from vitalgraph.services.auth import Principal
from vitalgraph.services.download_links import SignedLink
from vitalgraph.services.file_versions import FileVersion
from vitalgraph.services.files import FileContent, UploadResult, node_etag, parse_expires, parse_if_match

router = APIRouter(prefix="/api/files", tags=["files"], route_class=BoundedBodyRoute)


async def legacy_file_uri(uri: OptionalUri = None, file_uri: OptionalUri = None) -> str:
    """The legacy routes name the file node `uri` or, as older clients do, `file_uri`."""
    if not (uri or file_uri):
        raise InvalidInputError("missing query parameter 'uri' (or 'file_uri')")
    return uri or file_uri  # type: ignore[return-value]


VersionNumber = Annotated[
    int | None, Query(ge=0, le=2**62, description="a kept version's number (see /api/files/versions)")
]


class UploadResponse(BaseModel):
    uri: str
    size: int
    sha256: str
    content_type: str
    filename: str | None
    version: int | None = None  # the file node's version (its metadata ETag) after this upload
    file_size: int = Field(description="the same as size, under the name the older client reads")

    @classmethod
    def of(cls, result: UploadResult) -> UploadResponse:
        return cls(**result.__dict__, file_size=result.size)


# --- metadata -----------------------------------------------------------------------------------
@router.post("", status_code=201)
async def create_files(
    request: Request, services: ServicesDep, space_id: WritableSpace, graph_id: GraphId = None
) -> dict:
    """Create file nodes from JSON-LD (one object, a list, or a graph); content comes later."""
    objects = await read_graph_objects(request)
    return uris_reply("created", await services.files.create_files(space_id, graph_id, objects))


@router.put("")
async def update_files(
    request: Request,
    response: Response,
    services: ServicesDep,
    space_id: WritableSpace,
    graph_id: GraphId = None,
) -> dict:
    """Replace file nodes' metadata. `If-Match: "<version>"` (one node) makes it conditional: 412 if
    the node changed since that version. Each node's new version comes back; with one node, as ETag."""
    if_match = parse_if_match(request.headers.get("if-match"))
    objects = await read_graph_objects(request)
    updated = await services.files.update_files(space_id, graph_id, objects, if_match=if_match)
    if len(updated) == 1:
        response.headers["ETag"] = node_etag(updated[0].version)
    return {
        **uris_reply("updated", [u.uri for u in updated]),
        "versions": {u.uri: u.version for u in updated},
    }


@router.get("")
async def get_files(
    request: Request,
    response: Response,
    services: ServicesDep,
    space_id: ReadableSpace,
    selected: Selected,
    page: Paged,
    graph_id: GraphId = None,
    file_filter: Search = None,
    name: Annotated[
        str | None, Query(max_length=1024, description="the name or file name contains this text")
    ] = None,
    sort: Annotated[
        str | None,
        Query(
            max_length=40,
            description="uri, name, filename, size, type or modified; '-' first for descending (default uri)",
        ),
    ] = None,
) -> dict:
    """One node (`uri`), several (`uri_list`) or a page, filtered and sorted by the server;
    JSON-LD, or JSON quads when Accept asks (api/wire.py)."""
    if selected.uri:
        node = await services.files.get_file(space_id, graph_id, selected.uri)
        response.headers["ETag"] = node_etag(node.nodeVersion)
        return objects_reply(request, [node], single=True)
    if selected.uri_list:
        return objects_reply(request, await services.files.get_files(space_id, graph_id, selected.listed()))
    nodes, total = await services.files.list_files(
        space_id,
        graph_id,
        page_size=page.size,
        offset=page.offset,
        file_filter=file_filter,
        name=name,
        sort=sort,
    )
    return objects_reply(
        request, nodes, key="files", total_count=total, page_size=page.size, offset=page.offset
    )


@router.delete("")
async def delete_files(
    request: Request,
    services: ServicesDep,
    space_id: WritableSpace,
    selected: Selected,
    graph_id: GraphId = None,
) -> dict:
    """Delete file nodes and their content; all or none."""
    deleted = await services.files.delete_files(
        space_id,
        graph_id,
        selected.to_delete("file nodes"),
        if_match=parse_if_match(request.headers.get("if-match")),
    )
    return uris_reply("deleted", deleted)


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
    principal: Principal,
    space_id: str,
    graph_id: str | None,
    uri: str,
    filename: str | None,
    *,
    multipart_only: bool,
) -> UploadResponse:
    length = declared_length(request)
    services.files.check_upload_size(length)
    content_type = request.headers.get("content-type", "")
    multipart = multipart_only or content_type.lower().startswith("multipart/form-data")
    claimed_sha256 = _claimed_digest(request, multipart)
    body = request.app.state.metrics.metered(request_body(request), "upload")
    with request.app.state.shutdown.upload():  # SIGTERM aborts it cleanly: see api/shutdown.py
        try:
            target = await services.files.upload_target(space_id, graph_id, uri)  # 404 before any body
            if multipart:
                part = await open_multipart_file(body, content_type)
                chunks, content_type, expected = part.chunks, part.content_type, None
                filename = filename or part.filename
            else:
                chunks, expected = body, length
            result = await services.files.upload_content(
                target,
                chunks,
                content_type=content_type,
                filename=filename,
                expected_size=expected,
                authorize=lambda: services.access.check_user_may_write(principal.username, space_id),
                expected_sha256=claimed_sha256,
                uploader=principal.username,
            )
        finally:
            await body.aclose()
    return UploadResponse.of(result)


def _claimed_digest(request: Request, multipart: bool) -> str | None:
    """The SHA-256 an upload says its file has (RFC 9530), to check before the file changes. On a plain
    upload the content is the file, so Content-Digest and Repr-Digest say the same; on a multipart one,
    Content-Digest would cover the whole form, so the file's digest must come as Repr-Digest."""
    claims = {
        name: sha256_from_field(name, value)
        for name in ("Content-Digest", "Repr-Digest")
        if (value := request.headers.get(name)) is not None
    }
    if multipart and "Content-Digest" in claims:
        raise InvalidInputError(
            "Content-Digest on a multipart/form-data upload would cover the whole form, not the file: "
            "send the file's digest as Repr-Digest"
        )
    found = {sha for sha in claims.values() if sha is not None}
    if len(found) > 1:
        raise InvalidInputError(
            "Content-Digest and Repr-Digest disagree: send one, or the same digest in both"
        )
    return found.pop() if found else None


async def _download(
    request: Request,
    services: ServicesDep,
    space_id: str,
    graph_id: str | None,
    uri: str,
    version: int | None = None,
) -> Response:
    content = await services.files.open_content(space_id, graph_id, uri, version)
    return await _serve(request, services, content)


async def _serve(request: Request, services: ServicesDep, content: FileContent) -> Response:
    metrics = request.app.state.metrics

    def read_range(start: int, end: int) -> AsyncIterator[bytes]:
        return metrics.metered(content.read_range(start, end), "download")

    try:
        response = build_download_response(
            request,
            size=content.size,
            etag=make_etag(content.sha256),
            content_type=content.content_type,
            filename=content.filename,
            last_modified=content.modified,
            read_range=read_range,
            chunk_size=services.settings.STREAMING_CHUNK_SIZE,
            stall_timeout=services.settings.TRANSFER_IDLE_TIMEOUT_SECONDS,
            sha256=content.sha256,
        )
    except BaseException:
        await content.close()
        raise
    if isinstance(response, RangeStreamResponse):
        response.on_close = content.close  # the pinned version is let go when the body is sent
    else:
        await content.close()  # HEAD, 304, 416: no body to read
    return response


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
    principal: PrincipalDep,
    space_id: WritableSpace,
    uri: FileUri,
    graph_id: GraphId = None,
    filename: Annotated[str | None, Query(max_length=1024)] = None,
) -> UploadResponse:
    """Body: the raw bytes (Content-Type = the file's type) or multipart/form-data with a 'file' field.

    PUT is accepted too, so `curl -T FILE URL` works as is.
    """
    return await _upload(
        request, services, principal, space_id, graph_id, uri, filename, multipart_only=False
    )


@router.post("/stream/reuse", response_model=UploadResponse, dependencies=[Depends(require_streaming)])
async def stream_reuse(
    request: Request,
    services: ServicesDep,
    principal: PrincipalDep,
    space_id: WritableSpace,
    uri: FileUri,
    sha256: Annotated[str, Query(min_length=64, max_length=64)],
    size: Annotated[int, Query(ge=0)],
    graph_id: GraphId = None,
    filename: Annotated[str | None, Query(max_length=1024)] = None,
) -> UploadResponse:
    """Upload without the bytes: the node gets content this space already holds, named by its SHA-256
    (hex) and size; 404 when the space holds no such content (then upload the bytes). No body."""
    result = await services.files.attach_stored(
        space_id,
        graph_id,
        uri,
        sha256=sha256,
        size=size,
        content_type=request.headers.get("content-type"),
        filename=filename,
        authorize=lambda: services.access.check_user_may_write(principal.username, space_id),
        uploader=principal.username,
    )
    return UploadResponse.of(result)


@router.get("/stream/download", dependencies=[Depends(require_streaming)], **_DOWNLOAD)
@router.head("/stream/download", dependencies=[Depends(require_streaming)], **_DOWNLOAD)
async def stream_download(
    request: Request,
    services: ServicesDep,
    space_id: ReadableSpace,
    uri: FileUri,
    graph_id: GraphId = None,
    version: VersionNumber = None,
) -> Response:
    """Stream a file node's content (or its kept `version`): the whole file, or the byte ranges asked
    for with `Range`.

    `If-Range` (resume only if unchanged), `If-None-Match` (304) and `If-Match` (412) take the ETag, the
    SHA-256 of the content; HEAD answers the headers alone, so `curl -C -` and `wget -c` resume."""
    return await _download(request, services, space_id, graph_id, uri, version)


@router.post("/upload", response_model=UploadResponse, openapi_extra=upload_body(raw=False, multipart=True))
async def legacy_upload(
    request: Request,
    services: ServicesDep,
    principal: PrincipalDep,
    space_id: WritableSpace,
    uri: Annotated[str, Depends(legacy_file_uri)],
    graph_id: GraphId = None,
) -> UploadResponse:
    """The existing VitalGraph route: multipart/form-data with a 'file' field."""
    return await _upload(request, services, principal, space_id, graph_id, uri, None, multipart_only=True)


@router.get("/download", **_DOWNLOAD)
@router.head("/download", **_DOWNLOAD)
async def legacy_download(
    request: Request,
    services: ServicesDep,
    space_id: ReadableSpace,
    uri: Annotated[str, Depends(legacy_file_uri)],
    graph_id: GraphId = None,
    version: VersionNumber = None,
) -> Response:
    """The existing VitalGraph route: the same responses as /api/files/stream/download."""
    return await _download(request, services, space_id, graph_id, uri, version)


class CopyRequest(BaseModel):
    """Copy the content of one file node to another, in the same or another space or graph."""

    model_config = ConfigDict(extra="forbid")
    source_space_id: str = Field(min_length=1, max_length=128)
    source_graph_id: str | None = Field(default=None, max_length=256)
    source_uri: str = Field(min_length=1, max_length=4096)
    target_space_id: str = Field(min_length=1, max_length=128)
    target_graph_id: str | None = Field(default=None, max_length=256)
    target_uri: str = Field(min_length=1, max_length=4096)


@router.post("/copy", response_model=UploadResponse)
async def copy_file(body: CopyRequest, services: ServicesDep, principal: PrincipalDep) -> UploadResponse:
    """Server-side copy: the bytes stay in the blob store (hard link or copy on disk, CopyObject /
    UploadPartCopy on S3). Needs read on the source space and write on the target's; the target
    node must exist. The copy's SHA-256 is checked against the source's before the node points at it."""
    await services.access.check_space(principal, body.source_space_id, Permission.READ)
    await services.access.check_space(principal, body.target_space_id, Permission.WRITE)
    result = await services.files.copy_content(
        (body.source_space_id, body.source_graph_id, body.source_uri),
        (body.target_space_id, body.target_graph_id, body.target_uri),
        uploader=principal.username,
    )
    return UploadResponse.of(result)


# --- versions -----------------------------------------------------------------------------------


class VersionInfo(BaseModel):
    version: int = Field(description="the node version (ETag) whose content this was last")
    size: int
    sha256: str
    content_type: str | None
    filename: str | None
    modified: str | None  # ISO 8601, UTC: when this content was uploaded
    uploader: str | None

    @classmethod
    def of(cls, kept: FileVersion) -> VersionInfo:
        modified = kept.modified.isoformat() if kept.modified else None
        return cls(
            version=kept.number,
            size=kept.size,
            sha256=kept.sha256,
            content_type=kept.content_type,
            filename=kept.filename,
            modified=modified,
            uploader=kept.uploader,
        )


class VersionList(BaseModel):
    uri: str
    versions: list[VersionInfo]  # newest first


@router.get("/versions", response_model=VersionList)
async def list_versions(
    services: ServicesDep, space_id: ReadableSpace, uri: FileUri, graph_id: GraphId = None
) -> VersionList:
    """The previous contents the file keeps (the last FILE_VERSIONS_KEPT), newest first; download one
    with `version=` on /api/files/stream/download. An empty list when the server keeps none."""
    kept = await services.files.list_versions(space_id, graph_id, uri)
    return VersionList(uri=uri, versions=[VersionInfo.of(v) for v in kept])


@router.post("/versions/restore", response_model=UploadResponse)
async def restore_version(
    request: Request,
    response: Response,
    services: ServicesDep,
    principal: PrincipalDep,
    space_id: WritableSpace,
    uri: FileUri,
    version: Annotated[int, Query(ge=0, le=2**62)],
    graph_id: GraphId = None,
) -> UploadResponse:
    """Make a kept version the file's content again, without sending its bytes: a write like an upload
    (`If-Match` as on PUT), after which the replaced content is a version in turn. The node's new
    version comes back as `version` and ETag."""
    result = await services.files.restore_version(
        space_id,
        graph_id,
        uri,
        version,
        if_match=parse_if_match(request.headers.get("if-match")),
        uploader=principal.username,
        authorize=lambda: services.access.check_user_may_write(principal.username, space_id),
    )
    response.headers["ETag"] = node_etag(result.version)
    return UploadResponse.of(result)


@router.get("/presigned", response_model=PresignedResponse)
async def presigned_download(
    request: Request,
    services: ServicesDep,
    principal: PrincipalDep,
    space_id: ReadableSpace,
    uri: FileUri,
    graph_id: GraphId = None,
    expires: Annotated[
        str | None, Query(max_length=40, description="seconds, 1 to 604800; default 3600")
    ] = None,
) -> PresignedResponse:
    """A time-limited URL that downloads the file without a token: presigned by S3 on the S3 store,
    signed by this server (`/api/files/signed`) on the local store. Browsers hand it to their own
    download manager, which can resume it with Range while the link lives."""
    link = await services.links.issue(principal, space_id, graph_id, uri, parse_expires(expires))
    if isinstance(link, SignedLink):
        base = services.settings.PUBLIC_BASE_URL or str(request.base_url)
        path = request.app.url_path_for("signed_download")
        url = f"{base.rstrip('/')}{path}?{urlencode({'token': link.token})}"
        return PresignedResponse(
            uri=uri,
            url=url,
            expires_in=link.expires_in,
            expires_at=link.expires_at.isoformat(),
            size=link.size,
            sha256=link.sha256,
        )
    return PresignedResponse(**{**link.__dict__, "expires_at": link.expires_at.isoformat()})


@router.get("/signed", name="signed_download", dependencies=[Depends(require_streaming)], **_DOWNLOAD)
@router.head("/signed", dependencies=[Depends(require_streaming)], **_DOWNLOAD)
async def signed_download(
    request: Request,
    services: ServicesDep,
    token: Annotated[str, Query(min_length=1, max_length=8192, description="from /api/files/presigned")],
) -> Response:
    """A download through a link this server signed (see /api/files/presigned): no bearer token; the
    link itself is checked (403 forged, 410 expired or the file changed since). Ranges, ETag and
    If-Range work as on /api/files/stream/download."""
    return await _serve(request, services, await services.links.open(token))
