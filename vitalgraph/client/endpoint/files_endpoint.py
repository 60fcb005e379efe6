"""`client.files` of the older client, over our `files` group.

Argument orders are the older ones: metadata `(space_id, uri, graph_id=None)`, content
`(space_id, graph_id, file_uri, ...)`. Every transfer streams (the older `upload_file_content`
collected the whole file in memory first); `download_file_content` without a destination returns
the bytes, so it holds the file in memory by design. `pump_file` copies inside the server unless
`use_streaming=False`, which keeps the older meaning: the whole file passes through this client's
memory. Sizes are what the server measured. See docs/migration.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vitalgraph.client._vitalsigns import as_graph_objects
from vitalgraph.client.binary import AsyncBytesConsumer, BinaryConsumer
from vitalgraph.client.endpoint.base_endpoint import BaseEndpoint, outcome, paging, reported
from vitalgraph.client.errors import ChecksumMismatchError
from vitalgraph.client.models import DownloadResult, UploadResult
from vitalgraph.client.response.client_response import (
    FileCreateResponse,
    FileDeleteResponse,
    FileResponse,
    FilesListResponse,
    FileUpdateResponse,
    FileUploadResponse,
)
from vitalgraph.client.utils.client_utils import validate_required_params

OLDER_DEFAULT_CHUNK_SIZE = 8192  # the older default; it means "the client's own" (1 MiB) here


def _chunk_size(value: int | None) -> int | None:
    """None (our default) for the older default of 8 KiB, which ran ~5x slower per byte."""
    return None if value in (None, OLDER_DEFAULT_CHUNK_SIZE) else value


def _transferred(
    result: UploadResult | DownloadResult, space_id: str, graph_id: str | None, message: str
) -> FileUploadResponse:
    return FileUploadResponse(
        file_uri=result.uri,
        size=result.size,
        sha256=result.sha256,
        content_type=result.content_type,
        filename=result.filename,
        space_id=space_id,
        graph_id=graph_id,
        message=message,
    )


def _uploaded(result: UploadResult, space_id: str, graph_id: str | None) -> FileUploadResponse:
    return _transferred(result, space_id, graph_id, f"Uploaded {result.size} bytes to {result.uri}")


def _downloaded(result: DownloadResult, space_id: str, graph_id: str | None) -> FileUploadResponse:
    return _transferred(result, space_id, graph_id, f"Downloaded {result.size} bytes from {result.uri}")


class FilesEndpoint(BaseEndpoint):
    # --- metadata ------------------------------------------------------------------------------
    async def list_files(
        self,
        space_id: str,
        graph_id: str | None = None,
        page_size: int = 100,
        offset: int = 0,
        file_filter: str | None = None,
    ) -> FilesListResponse:
        validate_required_params(space_id=space_id)
        context = {"space_id": space_id, "graph_id": graph_id, "file_filter": file_filter}

        def answer(page: Any) -> FilesListResponse:
            return FilesListResponse(
                objects=page.files,
                **paging(page, len(page.files)),
                message=f"Retrieved {len(page.files)} files",
                **context,
            )

        pending = self.api.files.list_files(space_id, graph_id, page_size, offset, file_filter)
        return await reported(FilesListResponse, pending, answer, **context)

    async def get_file(self, space_id: str, uri: str, graph_id: str | None = None) -> FileResponse:
        validate_required_params(space_id=space_id, uri=uri)
        context = {"space_id": space_id, "graph_id": graph_id, "requested_uri": uri}

        def answer(node: Any) -> FileResponse:
            return FileResponse(
                objects=[node], file_uri=uri, file_node=node, message=f"Retrieved file {uri}", **context
            )

        return await reported(
            FileResponse, self.api.files.get_file(space_id, uri, graph_id), answer, **context
        )

    async def get_files_by_uris(
        self, space_id: str, uri_list: str, graph_id: str | None = None
    ) -> FilesListResponse:
        validate_required_params(space_id=space_id, uri_list=uri_list)
        context = {"space_id": space_id, "graph_id": graph_id}

        def answer(nodes: list[Any]) -> FilesListResponse:
            return FilesListResponse(objects=nodes, total_count=len(nodes), page_size=len(nodes), **context)

        pending = self.api.files.get_files_by_uris(space_id, uri_list, graph_id)
        return await reported(FilesListResponse, pending, answer, **context)

    async def create_file(
        self, space_id: str, objects: list[Any], graph_id: str | None = None
    ) -> FileCreateResponse:
        validate_required_params(space_id=space_id, objects=objects)
        context = {"space_id": space_id, "graph_id": graph_id}

        def answer(reply: Any) -> FileCreateResponse:
            message = f"Created {reply.created_count} file(s)"
            written = {"objects": list(objects), "message": message, **context}
            return outcome(FileCreateResponse, "created", reply, flag=False, status_code=201, **written)

        pending = self.api.files.create_file(space_id, as_graph_objects(objects), graph_id)
        return await reported(FileCreateResponse, pending, answer, **context)

    async def update_file(
        self, space_id: str, objects: list[Any], graph_id: str | None = None
    ) -> FileUpdateResponse:
        validate_required_params(space_id=space_id, objects=objects)
        context = {"space_id": space_id, "graph_id": graph_id}

        def answer(reply: Any) -> FileUpdateResponse:
            return outcome(FileUpdateResponse, "updated", reply, flag=False, objects=list(objects), **context)

        pending = self.api.files.update_file(space_id, as_graph_objects(objects), graph_id)
        return await reported(FileUpdateResponse, pending, answer, **context)

    async def delete_file(self, space_id: str, uri: str, graph_id: str | None = None) -> FileDeleteResponse:
        """Deletes the node and its bytes; a missing node is a failure (404), not a count of 1."""
        validate_required_params(space_id=space_id, uri=uri)
        context = {"space_id": space_id, "graph_id": graph_id, "requested_uris": [uri]}

        def answer(reply: Any) -> FileDeleteResponse:
            return outcome(
                FileDeleteResponse, "deleted", reply, flag=False, message=f"Deleted file {uri}", **context
            )

        pending = self.api.files.delete_file(space_id, uri, graph_id)
        return await reported(FileDeleteResponse, pending, answer, **context)

    async def delete_files_batch(self, space_id: str, graph_id: str | None, uri_list: str) -> dict[str, Any]:
        """`{"deleted_uris", "deleted_count"}` as before; all or nothing (NotFoundError if one is missing)."""
        validate_required_params(space_id=space_id, uri_list=uri_list)
        deleted = await self.api.files.delete_files_batch(space_id, graph_id, uri_list)
        return deleted.model_dump()

    # --- content -------------------------------------------------------------------------------
    async def upload_file_content(
        self,
        space_id: str,
        graph_id: str | None,
        file_uri: str,
        source: Any,
        filename: str | None = None,
        content_type: str | None = None,
        chunk_size: int = OLDER_DEFAULT_CHUNK_SIZE,
    ) -> FileUploadResponse:
        """Streams `source` (bytes, file object, path, BinaryGenerator, iterable) into the file;
        a failure comes back as a response with error_code 1, as before."""
        validate_required_params(space_id=space_id, file_uri=file_uri, source=source)
        pending = self.upload_file_stream_async(
            space_id, graph_id, file_uri, source, filename, content_type, chunk_size
        )
        context = {"file_uri": file_uri, "space_id": space_id, "graph_id": graph_id}
        return await reported(FileUploadResponse, pending, lambda response: response, **context)

    async def upload_from_generator(
        self, space_id: str, graph_id: str | None, file_uri: str, generator: Any
    ) -> FileUploadResponse:
        return await self.upload_file_content(space_id, graph_id, file_uri, generator)

    async def upload_file_stream_async(
        self,
        space_id: str,
        graph_id: str | None,
        file_uri: str,
        source: Any,
        filename: str | None = None,
        content_type: str | None = None,
        chunk_size: int = OLDER_DEFAULT_CHUNK_SIZE,
    ) -> FileUploadResponse:
        """Streams `source` (path, bytes, (Async)BinaryGenerator, async iterable, ...); raises on failure."""
        validate_required_params(space_id=space_id, file_uri=file_uri, source=source)
        result = await self.api.files.upload_file_stream(
            space_id,
            graph_id,
            file_uri,
            source,
            filename=filename,
            content_type=content_type,
            chunk_size=_chunk_size(chunk_size),
        )
        return _uploaded(result, space_id, graph_id)

    upload_file_stream = upload_file_stream_async

    async def download_file_content(
        self,
        space_id: str,
        graph_id: str | None,
        file_uri: str,
        destination: Any = None,
        chunk_size: int = OLDER_DEFAULT_CHUNK_SIZE,
    ) -> bytes | FileUploadResponse:
        """The bytes when `destination` is None (the whole file in memory), else streamed into the
        destination (path, file object, BinaryConsumer); SHA-256 verified either way."""
        validate_required_params(space_id=space_id, file_uri=file_uri)
        if destination is None:
            into = AsyncBytesConsumer()
            await self.api.files.download_file_stream(
                space_id, graph_id, file_uri, into, chunk_size=_chunk_size(chunk_size)
            )
            return into.get_bytes()
        result = await self.api.files.download_file_stream(
            space_id, graph_id, file_uri, destination, chunk_size=_chunk_size(chunk_size)
        )
        return _downloaded(result, space_id, graph_id)

    async def download_to_consumer(
        self,
        space_id: str,
        graph_id: str | None,
        file_uri: str,
        consumer: BinaryConsumer,
        chunk_size: int = OLDER_DEFAULT_CHUNK_SIZE,
    ) -> FileUploadResponse:
        validate_required_params(consumer=consumer)
        return await self.download_file_content(space_id, graph_id, file_uri, consumer, chunk_size)  # type: ignore[return-value]

    async def download_file_stream_async(
        self,
        space_id: str,
        graph_id: str | None,
        file_uri: str,
        destination: str | Path | Any,
        chunk_size: int = OLDER_DEFAULT_CHUNK_SIZE,
    ) -> FileUploadResponse:
        """Streams into a path or (Async)BinaryConsumer; resumes after drops; a failure calls the
        consumer's abort() (a path keeps its old content) and raises."""
        validate_required_params(space_id=space_id, file_uri=file_uri, destination=destination)
        result = await self.api.files.download_file_stream(
            space_id, graph_id, file_uri, destination, chunk_size=_chunk_size(chunk_size)
        )
        return _downloaded(result, space_id, graph_id)

    download_file_stream = download_file_stream_async

    async def pump_file(
        self,
        source_space_id: str,
        source_graph_id: str | None,
        source_file_uri: str,
        target_space_id: str,
        target_graph_id: str | None,
        target_file_uri: str,
        chunk_size: int = OLDER_DEFAULT_CHUNK_SIZE,
        use_streaming: bool = True,
    ) -> dict[str, Any]:
        """Copy one file's content to another. `use_streaming=True`: inside the server, no byte through
        this client. `use_streaming=False`: the older buffering, whole file through this client's memory."""
        if use_streaming:
            result = await self.api.files.pump_file(
                source_space_id,
                source_graph_id,
                source_file_uri,
                target_space_id,
                target_graph_id,
                target_file_uri,
            )
        else:
            info = await self.api.files.get_content_info(source_space_id, source_graph_id, source_file_uri)
            data = await self.download_file_content(
                source_space_id, source_graph_id, source_file_uri, None, chunk_size
            )
            result = await self.api.files.upload_file_stream(
                target_space_id,
                target_graph_id,
                target_file_uri,
                data,
                filename=info.filename,
                content_type=info.content_type,
            )
            if info.sha256 and result.sha256 != info.sha256:
                raise ChecksumMismatchError(
                    f"the copy of {source_file_uri} has SHA-256 {result.sha256}, not {info.sha256}",
                    expected=info.sha256,
                    actual=result.sha256,
                )
        return {
            "success": True,
            "source": f"{source_space_id}/{source_graph_id}/{source_file_uri}",
            "target": f"{target_space_id}/{target_graph_id}/{target_file_uri}",
            "content_type": result.content_type,
            "streaming_mode": use_streaming,
            "server_side_copy": use_streaming,
            "upload_result": result.model_dump(),
        }
