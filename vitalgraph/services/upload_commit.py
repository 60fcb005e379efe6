"""The commit of an upload whose bytes came over many requests (tus, direct to S3): the file node gets
the content for the upload's owner, whose write grant is checked again at that moment."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from vitalgraph.blobs.base import WrittenBlob
from vitalgraph.services.files import COMMIT_REFUSALS, FileService, UploadResult

# (user, space_id) -> None, or PermissionDeniedError when the user may no longer write to the space
OwnerCheck = Callable[[str, str], Awaitable[None]]


class FinishedUpload(Protocol):
    """What an upload's record says about where its content goes and for whom."""

    owner: str
    space_id: str
    space_uid: str | None  # the space's identity when the upload began
    graph_id: str | None
    file_uri: str
    filename: str | None


async def commit_for_owner(
    files: FileService,
    upload: FinishedUpload,
    written: WrittenBlob,
    *,
    content_type: str | None,
    authorize: OwnerCheck | None,
    forget: Callable[[], Awaitable[None]],
) -> UploadResult:
    """Point the upload's node at `written` (`FileService.attach_content`) and `forget` the upload once
    the commit lands or is refused (a refusal released the blob). A store failure keeps the upload, so
    the commit can be tried again."""

    async def owner_may_still_write() -> None:
        if authorize is not None:
            await authorize(upload.owner, upload.space_id)

    try:
        result = await files.attach_content(
            upload.space_id,
            upload.graph_id,
            upload.file_uri,
            written,
            content_type=content_type,
            filename=upload.filename,
            space_uid=upload.space_uid,
            authorize=owner_may_still_write,
            uploader=upload.owner,
        )
    except COMMIT_REFUSALS:
        await forget()
        raise
    await forget()
    return result
