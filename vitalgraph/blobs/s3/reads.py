"""Reading from S3: byte ranges streamed a chunk at a time, object facts, and presigned GET URLs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from vitalgraph.blobs.base import PRESIGN_MAX_SECONDS, BlobStat
from vitalgraph.blobs.s3.session import S3Session, error_code


async def read_range(
    session: S3Session, key: str, start: int, end: int | None, chunk_size: int
) -> AsyncIterator[bytes]:
    """Bytes `start`..`end` (inclusive; None = to the end) of blob `key`, `chunk_size` at a time."""
    object_key = session.object_key(key)
    if start < 0:
        raise ValueError(f"negative start offset {start}")
    if end is not None and end < start:
        return  # an inverted range is empty (S3 would ignore it and send the whole object)
    request: dict[str, Any] = {"Bucket": session.bucket, "Key": object_key}
    if start > 0 or end is not None:
        request["Range"] = f"bytes={start}-{'' if end is None else end}"
    with session.failures(f"reading {key}", missing=f"blob {key} not found"):
        try:
            response = await session.client.get_object(**request)
        except ClientError as exc:
            if error_code(exc) == "InvalidRange":
                return  # starts at or past the end: no bytes, as from the local store
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
    with session.failures(f"checking {key}", missing=f"blob {key} not found"):
        head = await session.client.head_object(Bucket=session.bucket, Key=session.object_key(key))
    return BlobStat(key=key, size=head["ContentLength"], modified=utc(head["LastModified"]))


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
