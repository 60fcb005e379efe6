"""Reading from S3: byte ranges streamed a chunk at a time, object facts, and presigned GET URLs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from vitalgraph.blobs.base import PRESIGN_MAX_SECONDS, BlobStat, PinnedBlob
from vitalgraph.blobs.s3.session import S3Session, error_code
from vitalgraph.errors import NotFoundError


async def read_range(
    session: S3Session,
    key: str,
    start: int,
    end: int | None,
    chunk_size: int,
    *,
    if_match: str | None = None,
) -> AsyncIterator[bytes]:
    """Bytes `start`..`end` (inclusive; None = to the end) of blob `key`, `chunk_size` at a time; with
    `if_match` only of the version with that ETag (NotFoundError when the key holds another or none)."""
    object_key = session.object_key(key)
    if start < 0:
        raise ValueError(f"negative start offset {start}")
    if end is not None and end < start:
        return  # an inverted range is empty (S3 would ignore it and send the whole object)
    request: dict[str, Any] = {"Bucket": session.bucket, "Key": object_key}
    if if_match is not None:
        request["IfMatch"] = if_match
    if start > 0 or end is not None:
        request["Range"] = f"bytes={start}-{'' if end is None else end}"
    with session.failures(f"reading {key}", missing=f"blob {key} not found"):
        try:
            response = await session.client.get_object(**request)
        except ClientError as exc:
            if error_code(exc) == "InvalidRange":
                return  # starts at or past the end: no bytes, as from the local store
            if if_match is not None and error_code(exc) in ("PreconditionFailed", "412"):
                raise NotFoundError(f"blob {key} changed during the download") from None
            raise
    body = response["Body"]
    try:
        while True:
            with session.failures(f"reading {key}"):
                chunk = await body.read(chunk_size)
            if not chunk:
                return
            yield chunk
    finally:
        body.close()  # the caller may have stopped early: drop the connection instead of draining it


async def stat_object(session: S3Session, key: str) -> BlobStat:
    return (await _head(session, key))[0]


async def _head(session: S3Session, key: str) -> tuple[BlobStat, str]:
    """The object's facts and its ETag."""
    with session.failures(f"checking {key}", missing=f"blob {key} not found"):
        head = await session.client.head_object(Bucket=session.bucket, Key=session.object_key(key))
    return BlobStat(key=key, size=head["ContentLength"], modified=utc(head["LastModified"])), head["ETag"]


class PinnedObject(PinnedBlob):
    """One version of an object: every range is a GET conditional on the ETag seen at open (If-Match),
    so the bytes of another version never mix in. S3 cannot hold a deleted object open: a range read
    after the key was released raises NotFoundError, and the download fails instead of splicing."""

    def __init__(self, session: S3Session, stat: BlobStat, etag: str, chunk_size: int) -> None:
        super().__init__(stat)
        self.session = session
        self.etag = etag
        self.chunk_size = chunk_size

    @classmethod
    async def open(cls, session: S3Session, key: str, chunk_size: int) -> PinnedObject:
        stat, etag = await _head(session, key)
        return cls(session, stat, etag, chunk_size)

    async def read(self, start: int, end: int) -> AsyncIterator[bytes]:
        try:
            async for chunk in read_range(
                self.session, self.stat.key, start, end, self.chunk_size, if_match=self.etag
            ):
                yield chunk
        except NotFoundError:
            raise NotFoundError(
                f"blob {self.stat.key} was released during the download (the file was replaced or deleted)"
            ) from None


async def presigned_get(
    session: S3Session,
    key: str,
    expires_seconds: int,
    content_disposition: str | None = None,
    content_type: str | None = None,
) -> str:
    """A SigV4 presigned GET URL, so a client can fetch the bytes from S3 directly."""
    if not 1 <= expires_seconds <= PRESIGN_MAX_SECONDS:
        raise ValueError(f"expires_seconds must be between 1 and {PRESIGN_MAX_SECONDS}")
    params: dict[str, Any] = {"Bucket": session.bucket, "Key": session.object_key(key)}
    if content_disposition:
        params["ResponseContentDisposition"] = content_disposition
    if content_type:
        params["ResponseContentType"] = content_type
    return await session.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_seconds)


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)
