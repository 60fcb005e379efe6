"""`client.files`: file node metadata (JSON-LD) and file content, streamed both ways.

Metadata operations are sans-IO builders shared by both twins. Transfers keep their decisions in
`UploadPlan` / `DownloadPlan`; the two classes below hold only the I/O loops, once async, once sync.
Argument order follows the existing VitalGraph client: metadata calls take `(space_id, uri, graph_id=None)`,
content calls `(space_id, graph_id, file_uri, source|destination)` with `graph_id` None for the default graph.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Iterable, Sequence
from os import PathLike
from typing import Any

import httpx

from vitalgraph.client._direct import DEFAULT_PART_SIZE, DirectPlan, DirectSource, part_error
from vitalgraph.client._flow import (
    READ,
    Blocking,
    Effect,
    Emit,
    Flow,
    Open,
    Pump,
    Put,
    PutParts,
    Send,
    Sleep,
    Source,
)
from vitalgraph.client._requests import Call, model_reply, query
from vitalgraph.client._transfer import DownloadPlan, Progress, UploadPlan, content_info, continuation
from vitalgraph.client._tus import DEFAULT_RESUMABLE_CHUNK_SIZE, ResumablePlan, ResumableSource
from vitalgraph.client.binary.adapters import Destination, UploadSource, destination_path
from vitalgraph.client.binary.streaming import BytesConsumer, ResumableFileConsumer
from vitalgraph.client.config import ClientConfig
from vitalgraph.client.endpoints._graph_objects import jsonld_body, objects_of, split_uris
from vitalgraph.client.endpoints._operation import AsyncEndpointGroup, SyncEndpointGroup
from vitalgraph.client.errors import (
    ChecksumMismatchError,
    ContentChangedError,
    NetworkError,
    NotFoundError,
    VitalGraphClientError,
)
from vitalgraph.client.models import (
    ContentInfo,
    DownloadResult,
    FileList,
    FilesCreated,
    FilesDeleted,
    FilesUpdated,
    FileVersionList,
    PresignedUrl,
    UploadResult,
)
from vitalgraph.model import FileNode, GraphObject

PRESIGNED_PATH = "/api/files/presigned"
REUSE_PATH = "/api/files/stream/reuse"
UPLOAD_PATH = "/api/files/stream/upload"
DOWNLOAD_PATH = "/api/files/stream/download"
COPY_PATH = "/api/files/copy"
VERSIONS_PATH = "/api/files/versions"
RESTORE_PATH = "/api/files/versions/restore"


def _file_nodes(document: Any) -> list[FileNode]:
    return objects_of(FileNode, document)


class FileCalls:
    """The files API as requests and reply parsers (no I/O)."""

    @staticmethod
    def list_files(
        space_id: str,
        graph_id: str | None = None,
        page_size: int = 100,
        offset: int = 0,
        file_filter: str | None = None,
        name: str | None = None,
        sort: str | None = None,
    ) -> Call[FileList]:
        """A page of file nodes, sorted and filtered by the server: `file_filter` keeps those with any
        text containing it, `name` those whose name or file name contains it; `sort` is uri, name,
        filename, size, type or modified, `-` first for descending (`"-size"`: largest first)."""
        params = query(
            space_id=space_id,
            graph_id=graph_id,
            page_size=page_size,
            offset=offset,
            file_filter=file_filter,
            name=name,
            sort=sort,
        )

        def parse(response: httpx.Response) -> FileList:
            reply = response.json()
            return FileList(
                files=_file_nodes(reply["files"]),
                total_count=reply["total_count"],
                page_size=reply["page_size"],
                offset=reply["offset"],
            )

        return Call("GET", "/api/files", parse, params=params)

    @staticmethod
    def get_file(space_id: str, uri: str, graph_id: str | None = None) -> Call[FileNode]:
        """One file node; NotFoundError if unknown."""

        def parse(response: httpx.Response) -> FileNode:
            for node in _file_nodes(response.json()):
                if node.URI == uri:
                    return node
            raise NotFoundError(f"file node not found: {uri}", status_code=404)

        return Call("GET", "/api/files", parse, params=query(space_id=space_id, graph_id=graph_id, uri=uri))

    @staticmethod
    def get_files_by_uris(
        space_id: str, uri_list: str | Sequence[str], graph_id: str | None = None
    ) -> Call[list[FileNode]]:
        """The file nodes among `uri_list` (a list, or one comma-separated string) that exist."""
        params = query(space_id=space_id, graph_id=graph_id, uri_list=split_uris(uri_list))
        return Call("GET", "/api/files", lambda response: _file_nodes(response.json()), params=params)

    @staticmethod
    def create_file(
        space_id: str, objects: GraphObject | Sequence[GraphObject], graph_id: str | None = None
    ) -> Call[FilesCreated]:
        """Create file nodes (metadata only); ConflictError if one exists."""
        body = jsonld_body(objects)
        return Call(
            "POST",
            "/api/files",
            model_reply(FilesCreated),
            params=query(space_id=space_id, graph_id=graph_id),
            json=body,
        )

    @staticmethod
    def update_file(
        space_id: str,
        objects: GraphObject | Sequence[GraphObject],
        graph_id: str | None = None,
        *,
        if_match: int | None = None,
    ) -> Call[FilesUpdated]:
        """Replace file nodes' metadata (size, hash and storage stay the server's). With `if_match`
        (the `nodeVersion` you read; one node), only if the node is still at that version, else
        PreconditionFailedError. The reply's `versions` has each node's new version."""
        body = jsonld_body(objects)
        return Call(
            "PUT",
            "/api/files",
            model_reply(FilesUpdated),
            params=query(space_id=space_id, graph_id=graph_id),
            json=body,
            headers={} if if_match is None else {"If-Match": f'"{int(if_match)}"'},
        )

    @staticmethod
    def delete_file(space_id: str, uri: str, graph_id: str | None = None) -> Call[FilesDeleted]:
        """Delete a file node and its bytes."""
        params = query(space_id=space_id, graph_id=graph_id, uri=uri)
        return Call("DELETE", "/api/files", model_reply(FilesDeleted), params=params)

    @staticmethod
    def delete_files_batch(
        space_id: str, graph_id: str | None, uri_list: str | Sequence[str]
    ) -> Call[FilesDeleted]:
        """Delete several file nodes; if one is missing, none is deleted (NotFoundError)."""
        params = query(space_id=space_id, graph_id=graph_id, uri_list=split_uris(uri_list))
        return Call("DELETE", "/api/files", model_reply(FilesDeleted), params=params)

    @staticmethod
    def upload(
        space_id: str,
        graph_id: str | None,
        file_uri: str,
        plan: UploadPlan,
        body: Iterable[bytes] | AsyncIterable[bytes],
    ) -> Call[UploadResult]:
        """The raw-body upload request, its body read from `plan`'s source by a sync or async `body`."""
        params = query(space_id=space_id, graph_id=graph_id, uri=file_uri, filename=plan.filename)
        return Call(
            "POST",
            UPLOAD_PATH,
            model_reply(UploadResult),
            params=params,
            headers=plan.headers(),
            content=body,
            replayable=plan.replayable,
        )

    @staticmethod
    def copy_file(
        source_space_id: str,
        source_graph_id: str | None,
        source_file_uri: str,
        target_space_id: str,
        target_graph_id: str | None,
        target_file_uri: str,
    ) -> Call[UploadResult]:
        """Server-side copy of one node's content to another (POST /api/files/copy): no byte passes
        through the client; the server checks the copy's SHA-256 against the source's."""
        body = {
            "source_space_id": source_space_id,
            "source_graph_id": source_graph_id,
            "source_uri": source_file_uri,
            "target_space_id": target_space_id,
            "target_graph_id": target_graph_id,
            "target_uri": target_file_uri,
        }
        return Call("POST", COPY_PATH, model_reply(UploadResult), json=body)

    @staticmethod
    def reuse_content(
        space_id: str,
        graph_id: str | None,
        file_uri: str,
        sha256: str,
        size: int,
        *,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> Call[UploadResult]:
        """Give the node content its space already holds (this SHA-256, hex, and size) without sending
        the bytes; NotFoundError when the space holds no such content: then upload the bytes."""
        params = query(
            space_id=space_id, graph_id=graph_id, uri=file_uri, sha256=sha256, size=size, filename=filename
        )
        headers = {"Content-Type": content_type} if content_type else {}
        return Call("POST", REUSE_PATH, model_reply(UploadResult), params=params, headers=headers)

    @staticmethod
    def download(
        space_id: str, graph_id: str | None, file_uri: str, version: int | None = None
    ) -> Call[None]:
        """The download request (of a kept `version`, when given); its body is streamed by the twin."""
        params = query(space_id=space_id, graph_id=graph_id, uri=file_uri, version=version)
        return Call("GET", DOWNLOAD_PATH, lambda _: None, params=params)

    @staticmethod
    def get_presigned_url(
        space_id: str, uri: str, graph_id: str | None = None, expires: int = 3600
    ) -> Call[PresignedUrl]:
        """A URL that downloads the file's content without a token, valid `expires` seconds (1 to 604800):
        a presigned S3 URL on the S3 store, a link the server signs itself on the local store."""
        params = query(space_id=space_id, graph_id=graph_id, uri=uri, expires=expires)
        return Call("GET", PRESIGNED_PATH, model_reply(PresignedUrl), params=params)

    @staticmethod
    def list_file_versions(space_id: str, uri: str, graph_id: str | None = None) -> Call[FileVersionList]:
        """The previous contents the file keeps (the server's FILE_VERSIONS_KEPT), newest first; each
        `version` number downloads with `version=` and restores with `restore_file_version`."""
        params = query(space_id=space_id, graph_id=graph_id, uri=uri)
        return Call("GET", VERSIONS_PATH, model_reply(FileVersionList), params=params)

    @staticmethod
    def restore_file_version(
        space_id: str, uri: str, version: int, graph_id: str | None = None, *, if_match: int | None = None
    ) -> Call[UploadResult]:
        """Make a kept version the file's content again (no byte is sent): a write like an upload, so the
        content it replaces is kept as a version in turn. With `if_match` (the `nodeVersion` you read),
        only if the node is still at that version, else PreconditionFailedError."""
        return Call(
            "POST",
            RESTORE_PATH,
            model_reply(UploadResult),
            params=query(space_id=space_id, graph_id=graph_id, uri=uri, version=version),
            headers={} if if_match is None else {"If-Match": f'"{int(if_match)}"'},
        )

    @staticmethod
    def get_content_info(
        space_id: str, graph_id: str | None, file_uri: str, version: int | None = None
    ) -> Call[ContentInfo]:
        """Size, SHA-256, type and name of a file's content (or a kept `version`), from a HEAD request."""
        params = query(space_id=space_id, graph_id=graph_id, uri=file_uri, version=version)
        return Call(
            "HEAD", DOWNLOAD_PATH, lambda response: content_info(file_uri, response.headers), params=params
        )


class FileFlows:
    """The file transfers as flows (`_flow.py`): every step and decision once, the I/O left to the
    sync or async driver. Each takes the client's config first; the rest is the public signature."""

    @staticmethod
    def upload_file_stream(
        config: ClientConfig,
        space_id: str,
        graph_id: str | None,
        file_uri: str,
        source: UploadSource,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        progress: Progress | None = None,
        chunk_size: int | None = None,
        sha256: str | None = None,
    ) -> Flow[UploadResult]:
        """Stream `source` into the file node's content: a path, bytes, a file object, an iterable or
        generator of bytes, a BinaryGenerator (and for the async client async iterables and
        AsyncBinaryGenerators). `sha256` (hex), when known, is sent as `Repr-Digest`: the server refuses
        bytes that hash otherwise and keeps the previous content. Retried after a connection error only
        if the source can be re-read. With `direct_upload` on in the client config, a path or bytes goes
        straight to S3 when the server offers it (see upload_file_direct)."""
        if config.direct_upload and isinstance(source, (str, PathLike, bytes)) and sha256 is None:
            return FileFlows.upload_file_direct(
                config,
                space_id,
                graph_id,
                file_uri,
                source,
                filename=filename,
                content_type=content_type,
                progress=progress,
            )
        described = {"filename": filename, "content_type": content_type, "sha256": sha256}
        return _upload_streamed(
            config, (space_id, graph_id, file_uri), source, chunk_size, progress=progress, **described
        )

    upload_file_content = upload_file_stream

    @staticmethod
    def upload_file_direct(
        config: ClientConfig,
        space_id: str,
        graph_id: str | None,
        file_uri: str,
        source: DirectSource,
        *,
        part_size: int = DEFAULT_PART_SIZE,
        progress: Progress | None = None,
        upload_id: str | None = None,
        on_upload_id: Callable[[str], Any] | None = None,
        filename: str | None = None,
        content_type: str | None = None,
        fallback: bool = True,
    ) -> Flow[UploadResult]:
        """Send `source` (a path, bytes or seekable binary file) in parts of `part_size` straight to the
        S3 bucket through presigned URLs, each part's SHA-256 signed into its URL; the server checks the
        parts, reads the object back for its SHA-256 and only then changes the node. Where the server
        does not offer it (local store, a store that cannot verify checksums, switched off) the bytes
        are streamed through the server instead (`fallback=False`: NotFoundError naming why). A part
        PUT that fails is retried; to resume after a restart pass the `upload_id` that `on_upload_id`
        received: the parts S3 already holds are skipped. See docs/client.md."""
        plan = DirectPlan(source, part_size=part_size, progress=progress, upload_id=upload_id)
        try:
            yield Blocking(plan.hash_source)
            try:
                if upload_id is not None:
                    reply = yield Send(plan.status_call(upload_id))
                else:
                    start = plan.start_call(
                        space_id, graph_id, file_uri, filename=filename, content_type=content_type
                    )
                    reply = yield Send(start)
            except NotFoundError as error:
                if not (fallback and _direct_not_offered(error)):
                    raise
                plan.file.seek(plan.start_offset)
                node = (space_id, graph_id, file_uri)
                described = {"filename": filename, "content_type": content_type, "progress": progress}
                return (yield from _upload_streamed(config, node, plan.file, None, **described))
            if on_upload_id is not None and upload_id is None:
                on_upload_id(reply["upload_id"])
            timeout = httpx.Timeout(config.timeout, connect=config.connect_timeout)
            verify = config.ca_bundle or config.verify_tls

            def put_part(s3: Any, part: dict[str, Any]) -> Flow[None]:
                return _put_part(s3, plan, part, config)

            yield PutParts(plan.parts_to_send(reply), put_part, timeout, verify)
            return plan.check((yield Send(plan.complete_call(reply["upload_id"]))))
        finally:
            plan.close()

    @staticmethod
    def upload_file_resumable(
        config: ClientConfig,
        space_id: str,
        graph_id: str | None,
        file_uri: str,
        source: ResumableSource,
        *,
        chunk_size: int = DEFAULT_RESUMABLE_CHUNK_SIZE,
        progress: Progress | None = None,
        upload_url: str | None = None,
        url_store: str | PathLike | None = None,
        on_upload_url: Callable[[str], Any] | None = None,
        filename: str | None = None,
        content_type: str | None = None,
    ) -> Flow[UploadResult]:
        """Upload `source` (a path, bytes or seekable binary file) over tus in chunks of `chunk_size`,
        resuming after dropped connections. To resume after a restart, pass the `upload_url` that
        `on_upload_url` received, or the same `url_store` file. See docs/tus.md."""
        plan = ResumablePlan(
            source,
            space_id=space_id,
            graph_id=graph_id,
            file_uri=file_uri,
            config=config,
            chunk_size=chunk_size,
            filename=filename,
            content_type=content_type,
            progress=progress,
            upload_url=upload_url,
            url_store=url_store,
            on_upload_url=on_upload_url,
        )
        try:
            while not plan.complete:
                try:
                    if plan.url is None:
                        plan.created((yield Send(plan.create_call())))
                    elif plan.offset is None:
                        plan.resumed_at((yield Send(plan.head_call())))
                    else:
                        yield Blocking(plan.prepare_chunk)
                        plan.sent((yield Send(plan.patch_call())))
                except NotFoundError as error:
                    if plan.url is None:
                        raise
                    plan.lost(error)  # expired or gone: start a new upload
                except VitalGraphClientError as error:
                    yield Sleep(plan.retry_delay(error))
            sha256 = yield Blocking(plan.finish)
        finally:
            plan.close()
        return plan.result(sha256, (yield Send(FileCalls.get_content_info(space_id, graph_id, file_uri))))

    @staticmethod
    def download_file_stream(
        config: ClientConfig,
        space_id: str,
        graph_id: str | None,
        file_uri: str,
        destination: Destination,
        *,
        progress: Progress | None = None,
        chunk_size: int | None = None,
        resume: bool = False,
        version: int | None = None,
    ) -> Flow[DownloadResult]:
        """Stream the content into `destination` (path, file object, BinaryConsumer, and for the async
        client AsyncBinaryConsumer), resuming after dropped connections and verifying the SHA-256. A path
        gets `<path>.part`, renamed when verified.

        `resume=True` (a path only) carries on across runs: an interrupted download keeps `<path>.part`
        and the content's ETag in `<path>.part.etag`; the next call asks for the rest with If-Range, or
        starts over if the content was replaced meanwhile (see `DownloadResult.continued_from` and
        `started_over`)."""
        where = (space_id, graph_id, file_uri, version)
        if resume:
            if destination_path(destination) is None:
                raise TypeError("resume=True needs a path to download into")
            return _download_continuing(config, where, destination, progress, chunk_size)
        return _download_into(config, where, destination, progress, chunk_size)

    @staticmethod
    def download_file_content(
        config: ClientConfig,
        space_id: str,
        graph_id: str | None,
        file_uri: str,
        destination: Destination | None = None,
        *,
        progress: Progress | None = None,
        chunk_size: int | None = None,
        version: int | None = None,
    ) -> Flow[bytes | DownloadResult]:
        """Like `download_file_stream`; without a destination, returns the bytes (small files only)."""
        into = destination if destination is not None else BytesConsumer()
        result = yield from _download_into(
            config, (space_id, graph_id, file_uri, version), into, progress, chunk_size
        )
        return result if destination is not None else into.get_bytes()  # type: ignore[union-attr]

    @staticmethod
    def iter_file(
        config: ClientConfig,
        space_id: str,
        graph_id: str | None,
        file_uri: str,
        *,
        progress: Progress | None = None,
        chunk_size: int | None = None,
        version: int | None = None,
    ) -> Pieces:
        """The content as an iterator of verified chunks (an async iterator for the async client, e.g.
        for a StreamingResponse). It resumes after dropped connections; a checksum mismatch raises
        before the last chunk is yielded."""
        plan = _plan_download(config, (space_id, graph_id, file_uri, version), progress, chunk_size)
        return _pieces(plan, Emit)

    @staticmethod
    def pump_file(
        config: ClientConfig,
        source_space_id: str,
        source_graph_id: str | None,
        source_file_uri: str,
        target_space_id: str,
        target_graph_id: str | None,
        target_file_uri: str,
        *,
        progress: Progress | None = None,
    ) -> Flow[UploadResult]:
        """Copy one file node's content to another (any space or graph the caller may read / write),
        inside the server: no byte passes through the client. `progress` is called once, at the end."""
        call = FileCalls.copy_file(
            source_space_id,
            source_graph_id,
            source_file_uri,
            target_space_id,
            target_graph_id,
            target_file_uri,
        )
        result = yield Send(call)
        if progress is not None:
            progress(result.size, result.size)
        return result


Where = tuple[str, str | None, str, int | None]  # space_id, graph_id, file_uri, version
Pieces = Flow[None]  # a flow iterated for the pieces it emits


def _upload_streamed(
    config: ClientConfig,
    node: tuple[str, str | None, str],
    source: UploadSource,
    chunk_size: int | None,
    **described: Any,
) -> Flow[UploadResult]:
    """Stream `source` through the server; `described` are UploadPlan's filename, content_type,
    progress and sha256."""
    generator = yield Source(source, chunk_size or config.chunk_size)
    plan = UploadPlan(generator, config=config, **described)
    call = FileCalls.upload(*node, plan, plan.body())
    while True:
        try:
            return plan.check((yield Send(call)))
        except NetworkError as error:
            yield Sleep(plan.retry_delay(error))


def _put_part(s3: Any, plan: DirectPlan, part: dict[str, Any], config: ClientConfig) -> Flow[None]:
    """PUT one part to its presigned URL with its signed headers; retried after a connection error or 5xx."""
    body = yield Blocking(plan.read_part, (part["number"],))
    for attempt in range(config.max_retries + 1):
        try:
            response = yield Put(s3, part["url"], body, part["headers"])
        except httpx.TransportError:
            if attempt == config.max_retries:
                raise
            yield Sleep(config.retry_backoff * 2**attempt)
            continue
        if response.status_code >= 500 and attempt < config.max_retries:
            yield Sleep(config.retry_backoff * 2**attempt)
            continue
        error = part_error(part, response)
        if error is not None:
            raise error
        plan.sent_part(part["number"])
        return


def _plan_download(
    config: ClientConfig,
    where: Where,
    progress: Progress | None,
    chunk_size: int | None,
    expected: ContentInfo | None = None,
) -> DownloadPlan:
    space_id, graph_id, file_uri, version = where
    call = FileCalls.download(space_id, graph_id, file_uri, version)
    return DownloadPlan(
        call, uri=file_uri, config=config, chunk_size=chunk_size, progress=progress, expected=expected
    )


def _pieces(plan: DownloadPlan, deliver: Callable[[bytes], Effect]) -> Flow[None]:
    """Receive the content, resuming after dropped connections; each verified piece goes to `deliver`."""
    while not plan.complete:
        try:
            plan.start((yield Open(plan.next_call())))
            while (chunk := (yield READ)) is not None:
                for piece in plan.feed(chunk):
                    yield deliver(piece)
            plan.body_ended()
        except NetworkError as error:
            yield Sleep(plan.retry_delay(error))
    for piece in plan.finish():
        yield deliver(piece)


def _download_into(
    config: ClientConfig,
    where: Where,
    destination: Destination,
    progress: Progress | None,
    chunk_size: int | None,
) -> Flow[DownloadResult]:
    plan = _plan_download(config, where, progress, chunk_size)
    yield Pump(_pieces(plan, Emit), destination)
    return plan.result(destination_path(destination))


def _download_continuing(
    config: ClientConfig,
    where: Where,
    path: Any,
    progress: Progress | None,
    chunk_size: int | None,
) -> Flow[DownloadResult]:
    """`download_file_stream(..., resume=True)`: carry on from `<path>.part` if its ETag still holds."""
    space_id, graph_id, file_uri, version = where
    target = ResumableFileConsumer(path)
    kept, kept_etag = yield Blocking(target.kept)
    for attempt in range(2):  # a second time only if the content changes between HEAD and GET
        try:
            info = yield Send(FileCalls.get_content_info(space_id, graph_id, file_uri, version))
        except NotFoundError:  # a HEAD reply has no body to say what is missing: a GET does
            return (yield from _download_into(config, where, path, progress, chunk_size))
        keep, started_over = continuation(kept, kept_etag, info, first_try=attempt == 0)
        plan = _plan_download(config, where, progress, chunk_size, expected=info)
        kept_bytes = target.kept_bytes(keep, plan.chunk_size) if keep else ()
        yield Blocking(plan.continue_at, (keep, kept_bytes))
        yield Blocking(target.begin, (f'"{info.sha256}"' if info.sha256 else "", keep))
        try:
            yield from _pieces(plan, lambda piece: Blocking(target.consume, (piece,)))
        except ContentChangedError:
            target.abort()
            if attempt:
                raise
            continue
        except ChecksumMismatchError:
            target.discard()  # kept bytes that do not add up must not be continued from again
            raise
        except BaseException:
            target.abort()  # Ctrl-C, cancelled, a dropped server, ...: the next run continues from here
            raise
        yield Blocking(target.finalize)
        return plan.result(path).model_copy(update={"started_over": started_over})
    raise AssertionError("unreachable")


def _direct_not_offered(error: NotFoundError) -> bool:
    """The server's 404 for direct uploads it does not offer names the feature (not a missing node)."""
    return "direct-to-S3 uploads" in str(error)


class AsyncFilesEndpoint(AsyncEndpointGroup, calls=FileCalls, flows=FileFlows):
    """`client.files` of AsyncVitalGraphClient: each method awaits one of FileCalls or FileFlows."""


class FilesEndpoint(SyncEndpointGroup, calls=FileCalls, flows=FileFlows):
    """`client.files` of VitalGraphClient: each method runs one of FileCalls or FileFlows."""
