"""Blob store on an S3-compatible object store (AWS S3, SeaweedFS, MinIO, ...), over aiobotocore.

Every call is async, so a transfer never blocks the event loop. A write is cut into parts of
S3_PART_SIZE with at most S3_MAX_CONCURRENCY of them in flight, so memory is about
part size x (concurrency + 2) whatever the file size. The CPU-heavy steps of our own, SHA-256 of
the stream and a CRC32 of each part (which the server checks), run on a small thread pool while
the loop receives the next part.

No staging objects. A write goes straight to its final key:
- a body of at most one part is sent with a single PutObject, and an S3 PUT is atomic: the key
  appears only once every byte has arrived;
- a larger body becomes a multipart upload, invisible to GET, HEAD and LIST until
  CompleteMultipartUpload, which the store sends only after the whole stream has arrived and passed
  the size checks;
- keys come from the services with a fresh uuid and are never reused, so no reader can be looking
  at the key while it is being written, and no earlier object can be replaced.
A staging key followed by CopyObject would buy nothing in atomicity, and would cost a server-side
copy of every byte (SeaweedFS spends 9-14 CPU-s per GiB it ingests). The "staging area" is therefore
the set of unfinished multipart uploads under our prefix: failed writes abort theirs at once,
`close()` aborts those still running, and `clean_staging()` aborts ones left by a crashed process.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import logging
import math
import os
import re
import time
import urllib.parse
import zlib
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, aclosing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import anyio
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError
from botocore.handlers import add_expect_header

from vitalgraph.blobs.base import (
    PRESIGN_MAX_SECONDS,
    BlobStat,
    BlobStore,
    PinnedBlob,
    WrittenBlob,
    check_key,
    check_prefix,
)
from vitalgraph.blobs.chunking import SizeGuard, rechunk
from vitalgraph.blobs.resumable import (
    AppendCounter,
    ChunkCheck,
    RunningDigests,
    check_offset,
    check_upload_id,
)
from vitalgraph.errors import NotFoundError, PayloadTooLargeError, StorageUnavailableError

if TYPE_CHECKING:
    from vitalgraph.config import Settings

log = logging.getLogger(__name__)

MiB = 1024 * 1024
S3_MAX_PARTS = 10_000
S3_MAX_OBJECT_SIZE = 5 * 1024 * 1024 * MiB  # 5 TiB
DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys
TOTAL_ATTEMPTS = 3  # one try and two retries: rides out a 503 SlowDown, fails fast on a dead endpoint
CONNECT_TIMEOUT_CAP = 3.0  # seconds; a connection on a working network takes milliseconds
# aiohttp has no pool-wait timeout, and every streaming download holds a connection for as long as
# its client reads: a large pool keeps slow downloaders from starving every other request.
POOL_CONNECTIONS = 256
# A request body is sent with no timeout of its own; give up on a part if it crawls below this rate.
SLOWEST_SEND_BYTES_PER_SECOND = 256 * 1024
CREDENTIAL_ERRORS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidClientTokenId", "InvalidToken"}
MISSING_KEY_ERRORS = {"NoSuchKey", "404", "NotFound"}
MISSING_UPLOAD_ERRORS = {"NoSuchUpload", "404"}
_PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")


class S3BlobStore(BlobStore):
    """Objects under `<prefix>/` in one bucket; one aiobotocore client for the store's lifetime."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        addressing_style: str = "path",
        prefix: str = "",
        part_size: int = 8 * MiB,
        max_concurrency: int = 4,
        max_parts_in_flight: int = 16,
        create_bucket: bool = True,
        timeout_seconds: float = 30.0,
        chunk_size: int = 1 * MiB,
        staging_dir: Path | None = None,
    ) -> None:
        prefix = prefix.strip("/")
        if prefix and (not _PREFIX_PATTERN.fullmatch(prefix) or ".." in prefix.split("/")):
            raise ValueError(
                f"S3_PREFIX {prefix!r} must be names of letters, digits, '.', '_' or '-' joined by '/'"
            )
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.region = region
        self.prefix = prefix
        self.part_size = part_size
        self.max_concurrency = max_concurrency
        self.max_parts_in_flight = max_parts_in_flight
        self._parts_in_flight: asyncio.Semaphore | None = None  # made in the running loop, on first use
        self.create_bucket = create_bucket
        self.timeout_seconds = timeout_seconds
        self.chunk_size = chunk_size
        self._credentials = {"aws_access_key_id": access_key_id, "aws_secret_access_key": secret_access_key}
        self._addressing_style = addressing_style
        self._client: Any = None
        self._exit_stack: AsyncExitStack | None = None
        self._digest_pool: ThreadPoolExecutor | None = None
        self._live_uploads: dict[str, str] = {}  # upload id -> object key, for close() and clean_staging()
        self._uploads_starting: set[asyncio.Future[str]] = set()  # CreateMultipartUpload calls in flight
        self.staging_dir = staging_dir  # local disk for resumable uploads' state and tails
        self._digests = RunningDigests()

    def part_slots(self) -> asyncio.Semaphore:
        """Store-wide slots for multipart parts in flight (see S3_MAX_PARTS_IN_FLIGHT)."""
        if self._parts_in_flight is None:
            self._parts_in_flight = asyncio.Semaphore(self.max_parts_in_flight)
        return self._parts_in_flight

    @classmethod
    def from_settings(cls, settings: Settings) -> S3BlobStore:
        return cls(
            bucket=settings.S3_BUCKET,
            endpoint_url=settings.S3_ENDPOINT_URL,
            region=settings.S3_REGION,
            access_key_id=settings.S3_ACCESS_KEY_ID,
            secret_access_key=settings.S3_SECRET_ACCESS_KEY,
            addressing_style=settings.S3_ADDRESSING_STYLE,
            prefix=settings.S3_PREFIX,
            part_size=settings.S3_PART_SIZE,
            max_concurrency=settings.S3_MAX_CONCURRENCY,
            max_parts_in_flight=settings.S3_MAX_PARTS_IN_FLIGHT,
            create_bucket=settings.S3_CREATE_BUCKET,
            timeout_seconds=settings.S3_TIMEOUT_SECONDS,
            chunk_size=settings.STREAMING_CHUNK_SIZE,
            staging_dir=settings.DATA_DIR / "s3-staging",
        )

    @property
    def where(self) -> str:
        return self.endpoint_url or f"AWS S3 ({self.region})"

    # ---------------------------------------------------------------- lifecycle

    async def open(self) -> None:
        if self._client is not None:
            return
        stack = AsyncExitStack()
        try:
            self._client = await stack.enter_async_context(
                get_session().create_client(
                    "s3",
                    endpoint_url=self.endpoint_url,
                    region_name=self.region,
                    config=self._client_config(),
                    **self._credentials,
                )
            )
        except (ValueError, BotoCoreError) as exc:  # e.g. a malformed S3_ENDPOINT_URL
            raise StorageUnavailableError(
                f"cannot set up an S3 client for {self.where}: {_one_line(exc)}"
            ) from exc
        # No "Expect: 100-continue": it costs a round trip per part, and when the connection drops
        # before the headers go out aiohttp 3.14 leaves that error in a task nobody awaits.
        self._client.meta.events.unregister("before-call.s3", add_expect_header)
        self._exit_stack = stack
        self._digest_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="s3-digest")
        try:
            await self._ensure_bucket()
        except BaseException:
            await self.close()
            raise

    def _client_config(self) -> AioConfig:
        return AioConfig(
            signature_version="s3v4",
            region_name=self.region,
            # Bodies travel with a CRC32 we compute off the loop, which the server verifies; botocore's
            # own SHA-256 of every body (its default over plain http) would block the loop ~9 ms per part.
            s3={"addressing_style": self._addressing_style, "payload_signing_enabled": False},
            connect_timeout=min(self.timeout_seconds, CONNECT_TIMEOUT_CAP),
            read_timeout=self.timeout_seconds,
            retries={"total_max_attempts": TOTAL_ATTEMPTS, "mode": "standard"},
            max_pool_connections=POOL_CONNECTIONS,
            # botocore >= 1.36 would add its own CRC32 to every body, computed on the event loop, and
            # validate downloads the same way; we send ours (see above), so only where S3 requires one.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )

    async def _ensure_bucket(self) -> None:
        try:
            await self._client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            code, status = _error_code(exc), _http_status(exc)
            if status == 403 or code in CREDENTIAL_ERRORS:
                raise StorageUnavailableError(await self._explain_forbidden()) from None
            if status != 404 and code not in {"NoSuchBucket", "NotFound"}:
                raise StorageUnavailableError(self._describe(exc, f"checking bucket {self.bucket}")) from None
        except (NoCredentialsError, PartialCredentialsError) as exc:
            raise StorageUnavailableError(
                f"no usable S3 credentials for {self.where} ({_one_line(exc)}): "
                "set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY"
            ) from None
        except (BotoCoreError, aiohttp.ClientError, OSError) as exc:
            raise StorageUnavailableError(
                f"S3 endpoint {self.where} is unreachable: {_one_line(exc)}"
            ) from None
        if not self.create_bucket:
            raise StorageUnavailableError(
                f"S3 bucket {self.bucket} does not exist and S3_CREATE_BUCKET is false"
            )
        with self._s3_errors(f"creating bucket {self.bucket}"):
            try:
                await self._client.create_bucket(Bucket=self.bucket, **self._bucket_location())
            except ClientError as exc:
                if _error_code(exc) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                    raise
        log.info("created S3 bucket %s at %s", self.bucket, self.where)

    async def _explain_forbidden(self) -> str:
        """HEAD responses carry no error code: ask again with a GET to tell bad credentials from a denied bucket."""
        try:
            await self._client.list_objects_v2(Bucket=self.bucket, MaxKeys=1)
        except ClientError as exc:
            code = _error_code(exc)
            if code in CREDENTIAL_ERRORS:
                return (
                    f"S3 at {self.where} rejected the credentials ({code}): "
                    "check S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY"
                )
            return f"S3 at {self.where} denied access to bucket {self.bucket} ({code or _http_status(exc)})"
        except (BotoCoreError, aiohttp.ClientError, OSError) as exc:
            return f"S3 endpoint {self.where} is unreachable: {_one_line(exc)}"
        return f"S3 at {self.where} denied HeadBucket on bucket {self.bucket} (403)"

    async def check(self) -> None:
        if self._client is None:
            raise StorageUnavailableError(f"S3 blob store at {self.where} is not open")
        with self._s3_errors(f"checking bucket {self.bucket}"):
            await self._client.head_bucket(Bucket=self.bucket)

    def _bucket_location(self) -> dict[str, Any]:
        if self.region == "us-east-1":
            return {}  # the one region that refuses an explicit LocationConstraint
        return {"CreateBucketConfiguration": {"LocationConstraint": self.region}}

    async def close(self) -> None:
        """Abort the uploads still running (server shutdown), then release the connections."""
        if self._client is not None and self._uploads_starting:
            # An upload S3 has begun but whose id has not reached us yet would escape the abort below.
            with anyio.CancelScope(shield=True):
                await asyncio.wait(self._uploads_starting, timeout=self.timeout_seconds)
        if self._client is not None and self._live_uploads:
            with anyio.CancelScope(shield=True):
                await asyncio.gather(
                    *(
                        self._abort_upload(key, upload_id)
                        for upload_id, key in list(self._live_uploads.items())
                    )
                )
        self._live_uploads.clear()
        if self._exit_stack is not None:
            await self._exit_stack.aclose()
        self._client = self._exit_stack = None
        if self._digest_pool is not None:
            self._digest_pool.shutdown(wait=False)
            self._digest_pool = None

    @property
    def client(self) -> Any:
        if self._client is None:
            raise RuntimeError("S3BlobStore is not open: call open() first")
        return self._client

    def _worker_pool(self) -> ThreadPoolExecutor:
        if self._digest_pool is None:
            raise RuntimeError("S3BlobStore is not open: call open() first")
        return self._digest_pool

    # ---------------------------------------------------------------- keys and errors

    def _object_key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _object_prefix(self, prefix: str) -> str:
        check_prefix(prefix)
        return f"{self.prefix}/{prefix}" if self.prefix else prefix

    def _blob_key(self, object_key: str) -> str:
        return object_key[len(self.prefix) + 1 :] if self.prefix else object_key

    @contextmanager
    def _s3_errors(self, action: str, missing: str | None = None) -> Iterator[None]:
        """Turn botocore and aiohttp failures into typed errors: NotFoundError or StorageUnavailableError (503)."""
        try:
            yield
        except ClientError as exc:
            if missing is not None and _error_code(exc) in MISSING_KEY_ERRORS:
                raise NotFoundError(missing) from None
            raise StorageUnavailableError(self._describe(exc, action)) from exc
        except (BotoCoreError, aiohttp.ClientError, OSError) as exc:  # OSError covers TimeoutError
            raise StorageUnavailableError(
                f"S3 endpoint {self.where} failed while {action}: {_one_line(exc)}"
            ) from exc

    def _describe(self, exc: ClientError, action: str) -> str:
        code = _error_code(exc)
        if code in CREDENTIAL_ERRORS:
            return f"S3 at {self.where} rejected the credentials ({code}) while {action}"
        if code == "NoSuchBucket":
            return f"S3 bucket {self.bucket} does not exist (at {self.where})"
        message = exc.response.get("Error", {}).get("Message", "")
        return f"S3 at {self.where} failed while {action}: {code or _http_status(exc)} {_one_line(message)}".rstrip()

    # ---------------------------------------------------------------- write

    async def write(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        max_size: int | None = None,
        expected_size: int | None = None,
    ) -> WrittenBlob:
        object_key = self._object_key(key)
        if expected_size is not None and expected_size > S3_MAX_OBJECT_SIZE:
            raise PayloadTooLargeError(
                f"upload of {expected_size} bytes exceeds S3's object size limit of 5 TiB"
            )
        part_size = self._part_size_for(expected_size)
        guard = SizeGuard(max_size, expected_size)
        digest = _StreamDigest(self._worker_pool())
        upload = _MultipartUpload(self, object_key, part_size)
        held: _Part | None = None  # one part of look-ahead: a body that fits in one part is a single PUT
        commit: asyncio.Future[None] | None = None
        try:
            async with aclosing(_cut_parts(chunks, part_size, guard)) as parts:
                async for body in parts:
                    if held is not None:
                        await upload.send_part(held.body, await held.crc32)  # before the next digest starts
                    held = _Part(body, digest.add(body))
            guard.finish()
            if held is None:
                empty = io.BytesIO()
                held = _Part(empty, digest.add(empty))
            crc32 = await held.crc32
            if upload.started:
                await upload.send_part(held.body, crc32)
                commit = asyncio.ensure_future(upload.complete())
            else:
                commit = asyncio.ensure_future(self._put_object(object_key, held.body, crc32))
            # Shielded: once the final request is on its way it may succeed on the server even if we
            # stop waiting; on cancellation the cleanup below waits for it and removes the object.
            await asyncio.shield(commit)
        except BaseException:
            with anyio.CancelScope(shield=True):
                if held is not None:
                    await asyncio.wait([held.crc32])  # the worker thread still reads the part
                await self._undo_write(object_key, upload, commit)
            raise
        return WrittenBlob(key=key, size=guard.count, sha256=digest.sha256_hex())

    def _part_size_for(self, expected_size: int | None) -> int:
        """The configured part size, grown when a known size would need more than S3's 10,000 parts."""
        if expected_size is None or expected_size <= self.part_size * S3_MAX_PARTS:
            return self.part_size
        return math.ceil(expected_size / S3_MAX_PARTS / MiB) * MiB

    async def _put_object(self, object_key: str, body: io.BytesIO, crc32: str) -> None:
        with self._s3_errors(f"writing {object_key}"):
            async with asyncio.timeout(self._send_timeout(_size_of(body))):
                await self.client.put_object(
                    Bucket=self.bucket, Key=object_key, Body=body, ChecksumCRC32=crc32
                )

    def _send_timeout(self, size: int) -> float:
        return TOTAL_ATTEMPTS * (self.timeout_seconds + size / SLOWEST_SEND_BYTES_PER_SECOND)

    async def _undo_write(
        self, object_key: str, upload: _MultipartUpload, commit: asyncio.Future[None] | None
    ) -> None:
        """Leave nothing behind: stop the parts, abort the upload, remove an object the final request made."""
        if commit is not None:
            await asyncio.wait([commit])
            if not commit.cancelled():
                commit.exception()  # retrieved: the original error is the one re-raised
        await upload.abort()
        if commit is not None and self._client is not None:
            try:
                with self._s3_errors(f"removing the failed write {object_key}"):
                    await self.client.delete_object(Bucket=self.bucket, Key=object_key)
            except StorageUnavailableError as exc:
                log.warning("could not remove %s after a failed write: %s", object_key, exc)

    async def _abort_upload(self, object_key: str, upload_id: str) -> bool:
        """Abort one multipart upload; a failure is logged, not raised (clean_staging retries later)."""
        self._live_uploads.pop(upload_id, None)
        if self._client is None:
            return False  # closed: close() has aborted it already
        try:
            await self.client.abort_multipart_upload(Bucket=self.bucket, Key=object_key, UploadId=upload_id)
        except ClientError as exc:
            if _error_code(exc) in MISSING_UPLOAD_ERRORS:
                return False
            log.warning(
                "could not abort upload %s of %s: %s", upload_id, object_key, self._describe(exc, "aborting")
            )
            return False
        except (BotoCoreError, aiohttp.ClientError, OSError) as exc:
            log.warning("could not abort upload %s of %s: %s", upload_id, object_key, _one_line(exc))
            return False
        return True

    # ---------------------------------------------------------------- read

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        async for chunk in self._read(key, start, end):
            yield chunk

    async def open_pinned(self, key: str) -> PinnedBlob:
        """Every range is a GET conditional on the ETag seen now (If-Match): the bytes of another
        version never mix in. S3 cannot hold a deleted object open: a range read after the key was
        released raises NotFoundError, and the download fails instead of splicing."""
        with self._s3_errors(f"checking {key}", missing=f"blob {key} not found"):
            head = await self.client.head_object(Bucket=self.bucket, Key=self._object_key(key))
        stat = BlobStat(key=key, size=head["ContentLength"], modified=_utc(head["LastModified"]))
        return _S3Pinned(stat, self, head["ETag"])

    async def _read(
        self, key: str, start: int = 0, end: int | None = None, if_match: str | None = None
    ) -> AsyncIterator[bytes]:
        object_key = self._object_key(key)
        if start < 0:
            raise ValueError(f"negative start offset {start}")
        if end is not None and end < start:
            return  # an inverted range is empty (S3 would ignore it and send the whole object)
        request: dict[str, Any] = {"Bucket": self.bucket, "Key": object_key}
        if if_match is not None:
            request["IfMatch"] = if_match
        if start > 0 or end is not None:
            request["Range"] = f"bytes={start}-{'' if end is None else end}"
        with self._s3_errors(f"reading {key}", missing=f"blob {key} not found"):
            try:
                response = await self.client.get_object(**request)
            except ClientError as exc:
                if _error_code(exc) == "InvalidRange":
                    return  # starts at or past the end: no bytes, as from the local store
                if if_match is not None and _error_code(exc) in ("PreconditionFailed", "412"):
                    raise NotFoundError(f"blob {key} changed during the download") from None
                raise
        body = response["Body"]
        try:
            while True:
                with self._s3_errors(f"reading {key}"):
                    chunk = await body.read(self.chunk_size)
                if not chunk:
                    return
                yield chunk
        finally:
            body.close()  # the caller may have stopped early: drop the connection instead of draining it

    # ---------------------------------------------------------------- metadata and deletion

    async def stat(self, key: str) -> BlobStat:
        with self._s3_errors(f"checking {key}", missing=f"blob {key} not found"):
            head = await self.client.head_object(Bucket=self.bucket, Key=self._object_key(key))
        return BlobStat(key=key, size=head["ContentLength"], modified=_utc(head["LastModified"]))

    async def delete(self, key: str) -> bool:
        try:
            await self.stat(key)  # DeleteObject answers 204 whether or not the key existed
        except NotFoundError:
            return False
        with self._s3_errors(f"deleting {key}"):
            await self.client.delete_object(Bucket=self.bucket, Key=self._object_key(key))
        return True

    async def delete_prefix(self, prefix: str) -> int:
        batch: list[str] = []
        deleted = 0
        async for stat in self.list_keys(prefix):
            batch.append(self._object_key(stat.key))
            if len(batch) == DELETE_BATCH:
                deleted += await self._delete_batch(batch)
                batch = []
        if batch:
            deleted += await self._delete_batch(batch)
        return deleted

    async def _delete_batch(self, object_keys: list[str]) -> int:
        with self._s3_errors(f"deleting {len(object_keys)} objects"):
            response = await self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in object_keys], "Quiet": True}
            )
        errors = response.get("Errors", [])
        if errors:
            first = errors[0]
            raise StorageUnavailableError(
                f"S3 at {self.where} failed to delete {len(errors)} of {len(object_keys)} objects, "
                f"first {first.get('Key')}: {first.get('Code')} {first.get('Message', '')}".rstrip()
            )
        return len(object_keys)

    async def list_keys(self, prefix: str = "") -> AsyncIterator[BlobStat]:
        object_prefix = self._object_prefix(prefix)
        async for page in self._pages(
            "list_objects_v2", f"listing {prefix or 'all keys'}", Prefix=object_prefix
        ):
            for item in page.get("Contents", []):
                key = self._blob_key(item["Key"])
                if _is_blob_key(key):  # skip foreign objects, e.g. directory markers
                    yield BlobStat(key=key, size=item["Size"], modified=_utc(item["LastModified"]))

    async def _pages(self, operation: str, action: str, **params: Any) -> AsyncIterator[dict[str, Any]]:
        """Pages of a paginated listing, with failures turned into StorageUnavailableError."""
        pages = self.client.get_paginator(operation).paginate(Bucket=self.bucket, **params).__aiter__()
        while True:
            with self._s3_errors(action):
                try:
                    page = await anext(pages)
                except StopAsyncIteration:
                    return
            yield page

    async def clean_staging(self, older_than_seconds: float) -> int:
        """Abort multipart uploads under our prefix begun before the cutoff, except this process's live ones."""
        cutoff = time.time() - older_than_seconds
        stale: list[tuple[str, str]] = []
        resumable = await self._resumable_multipart_ids()  # they expire by their own rule
        async for page in self._pages(
            "list_multipart_uploads", "listing unfinished uploads", Prefix=self._object_prefix("")
        ):
            for upload in page.get("Uploads", []):
                is_live = upload["UploadId"] in self._live_uploads or upload["UploadId"] in resumable
                if not is_live and upload["Initiated"].timestamp() <= cutoff:
                    stale.append((upload["Key"], upload["UploadId"]))
        slots = asyncio.Semaphore(16)  # a crashed fleet may have left thousands

        async def abort(key: str, upload_id: str) -> bool:
            async with slots:
                return await self._abort_upload(key, upload_id)

        aborted = await asyncio.gather(*(abort(key, upload_id) for key, upload_id in stale))
        if stale:
            log.info(
                "aborted %d of %d stale multipart uploads under %s",
                sum(aborted),
                len(stale),
                self.prefix or "/",
            )
        return sum(aborted)

    # ---------------------------------------------------------------- optional capability

    async def presign_download(
        self, key: str, expires_seconds: int, filename: str | None = None, content_type: str | None = None
    ) -> str:
        """A SigV4 presigned GET URL, so a client can fetch the bytes from S3 directly."""
        if not 1 <= expires_seconds <= PRESIGN_MAX_SECONDS:
            raise ValueError(f"expires_seconds must be between 1 and {PRESIGN_MAX_SECONDS}")
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self._object_key(key)}
        if filename:
            params["ResponseContentDisposition"] = content_disposition(filename)
        if content_type:
            params["ResponseContentType"] = content_type
        return await self.client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=expires_seconds
        )

    # ---------------------------------------------------------------- resumable uploads
    # Each staged upload is `<staging_dir>/<id>.json` (object key, multipart upload id, parts sent) plus
    # the tail not yet sent as a part, `<id>.<next part number>.tail`, on local disk. A part goes out once
    # the tail holds a whole part (for a checksummed chunk: once the chunk has matched), so memory stays
    # at one part whatever the upload's size. The tail's name carries its part number: if a crash falls
    # between sending a part and moving the rest of the tail, the stale tail is dropped and the offset
    # reported is honestly the smaller one; the client sends those bytes again.

    def _staging(self) -> Path:
        if self.staging_dir is None:
            raise RuntimeError("S3BlobStore needs a staging_dir for resumable uploads")
        return self.staging_dir

    def _state_path(self, upload_id: str) -> Path:
        return self._staging() / f"{check_upload_id(upload_id)}.json"

    async def _run_io(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._worker_pool(), fn, *args)

    async def begin_upload(self, upload_id: str, key: str) -> None:
        staged = _StagedS3Upload(self._state_path(upload_id), self._object_key(key), None, [])
        await self._run_io(staged.create)

    async def _load(self, upload_id: str) -> _StagedS3Upload:
        path = self._state_path(upload_id)
        staged = await self._run_io(_StagedS3Upload.load, path)
        if staged is None:
            raise NotFoundError(f"no staged upload {upload_id}")
        return staged

    async def upload_offset(self, upload_id: str) -> int:
        staged = await self._load(upload_id)
        return staged.sent + await self._run_io(staged.tail_size)

    async def append_upload(
        self,
        upload_id: str,
        offset: int,
        chunks: AsyncIterator[bytes],
        *,
        limit: int | None = None,
        check: ChunkCheck | None = None,
    ) -> int:
        staged = await self._load(upload_id)
        await self._run_io(staged.drop_stale_tails)
        tail_size = await self._run_io(staged.tail_size)
        check_offset(offset, staged.sent + tail_size)
        counter = AppendCounter(self._digests.resume(upload_id, offset), check, limit)
        tail = await self._run_io(_Tail.open, staged.tail_path(), tail_size, counter)
        try:
            async for block in rechunk(chunks, self.chunk_size):
                counter.admit(len(block))
                await self._run_io(tail.append, block)
                if check is None and tail.size >= self.part_size:
                    tail = await self._send_full_parts(staged, tail)
            if check is not None:
                check.verify()
                tail = await self._send_full_parts(staged, tail)
        except BaseException:
            with anyio.CancelScope(shield=True):
                keep = check is None
                await self._run_io(tail.close, keep)
                if keep and tail.path == staged.tail_path():  # else the rest of the tail is lost: recompute
                    self._digests.commit(upload_id, counter.digest, staged.sent + tail.size)
            raise
        await self._run_io(tail.close, True)
        self._digests.commit(upload_id, counter.digest, offset + counter.written)
        return staged.sent + tail.size

    async def _send_full_parts(self, staged: _StagedS3Upload, tail: _Tail) -> _Tail:
        """Send every whole part in the tail as the next parts, then start a new tail with the rest."""
        whole = tail.size // self.part_size
        if not whole:
            return tail
        await self._run_io(tail.flush)
        for index in range(whole):
            body = await self._run_io(tail.read_part, index * self.part_size, self.part_size)
            await self._send_staged_part(staged, body)
        rest_from = whole * self.part_size
        return await self._run_io(tail.move_rest, rest_from, staged.tail_path())

    async def _send_staged_part(self, staged: _StagedS3Upload, body: io.BytesIO) -> None:
        if staged.multipart_id is None:
            with self._s3_errors(f"starting the upload of {staged.object_key}"):
                response = await self.client.create_multipart_upload(
                    Bucket=self.bucket, Key=staged.object_key, ChecksumAlgorithm="CRC32"
                )
            staged.multipart_id = response["UploadId"]
            await self._run_io(staged.save)
        crc32 = await self._run_io(_crc32_of, body)
        number = len(staged.parts) + 1
        if number > S3_MAX_PARTS:
            raise PayloadTooLargeError(f"upload exceeds S3's {S3_MAX_PARTS} parts of {self.part_size} bytes")
        size = _size_of(body)
        with self._s3_errors(f"uploading part {number} of {staged.object_key}"):
            async with asyncio.timeout(self._send_timeout(size)):
                response = await self.client.upload_part(
                    Bucket=self.bucket,
                    Key=staged.object_key,
                    UploadId=staged.multipart_id,
                    PartNumber=number,
                    Body=body,
                    ChecksumCRC32=crc32,
                )
        staged.parts.append(
            {"PartNumber": number, "ETag": response["ETag"], "ChecksumCRC32": crc32, "Size": size}
        )
        await self._run_io(staged.save)

    async def finish_upload(self, upload_id: str) -> WrittenBlob:
        staged = await self._load(upload_id)
        tail_path = staged.tail_path()
        tail = await self._run_io(_read_whole, tail_path)  # less than one part
        size = staged.sent + _size_of(tail)
        if staged.multipart_id is None:
            await self._put_object(staged.object_key, tail, await self._run_io(_crc32_of, tail))
        else:
            if _size_of(tail) or not staged.parts:
                await self._send_staged_part(staged, tail)
            parts = [{k: part[k] for k in ("PartNumber", "ETag", "ChecksumCRC32")} for part in staged.parts]
            with self._s3_errors(f"completing the upload of {staged.object_key}"):
                try:
                    await self.client.complete_multipart_upload(
                        Bucket=self.bucket,
                        Key=staged.object_key,
                        UploadId=staged.multipart_id,
                        MultipartUpload={"Parts": parts},
                    )
                except ClientError as exc:  # a retry after a failure past this point: completed already?
                    if _error_code(exc) not in MISSING_UPLOAD_ERRORS:
                        raise
                    head = await self.client.head_object(Bucket=self.bucket, Key=staged.object_key)
                    if head["ContentLength"] != size:
                        raise
        key = self._blob_key(staged.object_key)
        digest = self._digests.take(upload_id, size) or await self._sha256_of_blob(key)
        await self._run_io(staged.remove)
        return WrittenBlob(key=key, size=size, sha256=digest)

    async def _sha256_of_blob(self, key: str) -> str:
        """Read the finished object back: the running hash was lost (a restart during the upload)."""
        hasher = hashlib.sha256()
        async for chunk in self.read(key):
            await self._run_io(hasher.update, chunk)
        return hasher.hexdigest()

    async def terminate_upload(self, upload_id: str) -> bool:
        self._digests.forget(upload_id)
        try:
            staged = await self._load(upload_id)
        except NotFoundError:
            return False
        if staged.multipart_id is not None:
            await self._abort_upload(staged.object_key, staged.multipart_id)
        await self._run_io(staged.remove)
        return True

    async def staged_upload_ids(self) -> list[str]:
        if self.staging_dir is None:
            return []
        directory = self.staging_dir
        return await self._run_io(
            lambda: [p.stem for p in directory.glob("*.json")] if directory.exists() else []
        )

    async def _resumable_multipart_ids(self) -> set[str]:
        ids = set()
        for upload_id in await self.staged_upload_ids():
            staged = await self._run_io(_StagedS3Upload.load, self._state_path(upload_id))
            if staged is not None and staged.multipart_id:
                ids.add(staged.multipart_id)
        return ids


class _S3Pinned(PinnedBlob):
    def __init__(self, stat: BlobStat, store: S3BlobStore, etag: str) -> None:
        super().__init__(stat)
        self._store = store
        self._etag = etag

    async def read(self, start: int, end: int) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._store._read(self.stat.key, start, end, if_match=self._etag):
                yield chunk
        except NotFoundError:
            raise NotFoundError(
                f"blob {self.stat.key} was released during the download (the file was replaced or deleted)"
            ) from None


@dataclass
class _StagedS3Upload:
    """A resumable upload's state file; every method runs on a worker thread."""

    path: Path
    object_key: str
    multipart_id: str | None
    parts: list[dict[str, Any]]

    @property
    def sent(self) -> int:
        return sum(part["Size"] for part in self.parts)

    def tail_path(self) -> Path:
        return self.path.with_name(f"{self.path.stem}.{len(self.parts) + 1}.tail")

    def tail_size(self) -> int:
        try:
            return self.tail_path().stat().st_size
        except FileNotFoundError:
            return 0

    def create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            raise FileExistsError(self.path)
        self.save()

    def save(self) -> None:
        temp = self.path.with_suffix(".json.tmp")
        document = {"object_key": self.object_key, "multipart_id": self.multipart_id, "parts": self.parts}
        with open(temp, "w") as handle:
            json.dump(document, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, self.path)

    @classmethod
    def load(cls, path: Path) -> _StagedS3Upload | None:
        try:
            document = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        return cls(path, document["object_key"], document["multipart_id"], document["parts"])

    def drop_stale_tails(self) -> None:
        """Tails of parts already sent, left by a crash between sending a part and moving the rest."""
        current = self.tail_path()
        for stale in self.path.parent.glob(f"{self.path.stem}.*.tail"):
            if stale != current:
                stale.unlink(missing_ok=True)

    def remove(self) -> None:
        for tail in self.path.parent.glob(f"{self.path.stem}.*.tail"):
            tail.unlink(missing_ok=True)
        self.path.unlink(missing_ok=True)


class _Tail:
    """The bytes of a resumable upload not yet sent as a part, in a local file; worker-thread methods."""

    def __init__(self, path: Path, handle: Any, size: int, counter: AppendCounter) -> None:
        self.path = path
        self.handle = handle
        self.size = size
        self.start = size  # where this append began, to cut back to when its chunk is refused
        self.counter = counter

    @classmethod
    def open(cls, path: Path, size: int, counter: AppendCounter) -> _Tail:
        handle = open(path, "r+b" if path.exists() else "w+b")
        handle.truncate(size)
        handle.seek(size)
        return cls(path, handle, size, counter)

    def append(self, block: bytes) -> None:
        self.handle.write(block)
        self.size += len(block)
        self.counter.hashed(block)

    def flush(self) -> None:
        self.handle.flush()

    def read_part(self, start: int, size: int) -> io.BytesIO:
        self.handle.seek(start)
        body = io.BytesIO(self.handle.read(size))
        self.handle.seek(self.size)
        return body

    def move_rest(self, start: int, new_path: Path) -> _Tail:
        """The bytes from `start` on become the tail of the next part; this tail's file goes."""
        self.handle.seek(start)
        rest = self.handle.read()
        new = open(new_path, "w+b")
        new.write(rest)
        self.handle.close()
        self.path.unlink(missing_ok=True)
        tail = _Tail(new_path, new, len(rest), self.counter)
        tail.start = 0
        return tail

    def close(self, keep: bool) -> None:
        if not keep:
            self.handle.truncate(self.start)
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()


def _read_whole(path: Path) -> io.BytesIO:
    try:
        return io.BytesIO(path.read_bytes())
    except FileNotFoundError:
        return io.BytesIO()


def _crc32_of(body: io.BytesIO) -> str:
    with body.getbuffer() as view:
        crc = zlib.crc32(view)
    return base64.b64encode(crc.to_bytes(4, "big")).decode()


class _MultipartUpload:
    """One multipart upload: begun on the first full part, at most `max_concurrency` parts in flight,
    and at most the store's `max_parts_in_flight` across all uploads."""

    def __init__(self, store: S3BlobStore, object_key: str, part_size: int) -> None:
        self.store = store
        self.object_key = object_key
        self.part_size = part_size
        self.upload_id: str | None = None
        self._creating: asyncio.Future[str] | None = None
        self._slots = asyncio.Semaphore(store.max_concurrency)
        self._parts: list[asyncio.Task[dict[str, Any]]] = []
        self._failure: BaseException | None = None

    @property
    def started(self) -> bool:
        return self._creating is not None

    async def send_part(self, body: io.BytesIO, crc32: str) -> None:
        """Start uploading one part; waits while all slots are busy, so memory stays bounded."""
        if self._creating is None:
            self._creating = asyncio.ensure_future(self._create())
            self.store._uploads_starting.add(self._creating)
            self._creating.add_done_callback(self.store._uploads_starting.discard)
        self.upload_id = await asyncio.shield(self._creating)  # shielded: abort() needs the id it returns
        await self._acquire_slots()
        if self._failure is not None:
            self._release_slots()
            raise self._failure
        number = len(self._parts) + 1
        if number > S3_MAX_PARTS:
            self._release_slots()
            raise PayloadTooLargeError(
                f"upload exceeds S3's {S3_MAX_PARTS} parts of {self.part_size} bytes (raise S3_PART_SIZE)"
            )
        self._parts.append(asyncio.create_task(self._send(number, body, crc32)))

    async def _acquire_slots(self) -> None:
        """This upload's slot, then one of the store's: while both are taken the request body waits."""
        await self._slots.acquire()
        try:
            await self.store.part_slots().acquire()
        except BaseException:
            self._slots.release()
            raise

    def _release_slots(self) -> None:
        self.store.part_slots().release()
        self._slots.release()

    async def _create(self) -> str:
        with self.store._s3_errors(f"starting the upload of {self.object_key}"):
            response = await self.store.client.create_multipart_upload(
                Bucket=self.store.bucket, Key=self.object_key, ChecksumAlgorithm="CRC32"
            )
        upload_id: str = response["UploadId"]
        self.store._live_uploads[upload_id] = self.object_key
        return upload_id

    async def _send(self, number: int, body: io.BytesIO, crc32: str) -> dict[str, Any]:
        try:
            with self.store._s3_errors(f"uploading part {number} of {self.object_key}"):
                async with asyncio.timeout(self.store._send_timeout(_size_of(body))):
                    response = await self.store.client.upload_part(
                        Bucket=self.store.bucket,
                        Key=self.object_key,
                        UploadId=self.upload_id,
                        PartNumber=number,
                        Body=body,
                        ChecksumCRC32=crc32,
                    )
            return {"PartNumber": number, "ETag": response["ETag"], "ChecksumCRC32": crc32}
        except BaseException as exc:
            self._failure = self._failure or exc
            raise
        finally:
            self._release_slots()

    async def complete(self) -> None:
        parts = await asyncio.gather(*self._parts)
        with self.store._s3_errors(f"completing the upload of {self.object_key}"):
            await self.store.client.complete_multipart_upload(
                Bucket=self.store.bucket,
                Key=self.object_key,
                UploadId=self.upload_id,
                MultipartUpload={"Parts": parts},
            )
        self.store._live_uploads.pop(self.upload_id, None)

    async def abort(self) -> None:
        """Cancel the parts in flight, then abort, so no part lands after the abort."""
        for task in self._parts:
            task.cancel()
        await asyncio.gather(*self._parts, return_exceptions=True)
        if self._creating is not None:
            await asyncio.wait([self._creating])
            if not self._creating.cancelled() and self._creating.exception() is None:
                await self.store._abort_upload(self.object_key, self._creating.result())


@dataclass
class _Part:
    body: io.BytesIO
    crc32: asyncio.Future[str]  # base64 of the big-endian CRC32, as S3's x-amz-checksum-crc32 wants it


async def _cut_parts(chunks: AsyncIterator[bytes], size: int, guard: SizeGuard) -> AsyncIterator[io.BytesIO]:
    """Cut a stream of small pieces into parts of `size` bytes (the last one shorter), counting every piece.

    Not `rechunk`: each piece is copied once into a BytesIO, in small steps between awaits, and
    botocore and aiohttp send a BytesIO as it is; a bytes part costs several whole-part copies on
    the event loop (about 10 ms per 8 MiB here). Counting per piece trips a size limit at once.
    """
    part = io.BytesIO()
    async for piece in chunks:
        guard.add(len(piece))
        view = memoryview(piece)
        while view:
            room = size - part.tell()
            part.write(view[:room])
            view = view[room:]
            if part.tell() == size:
                part.seek(0)
                yield part
                part = io.BytesIO()
    if part.tell():
        part.seek(0)
        yield part


class _StreamDigest:
    """SHA-256 of the whole stream and CRC32 of each part, on a worker thread.

    Each part is hashed while the next one arrives. Parts must be added in order, each after the
    previous part's CRC32 has been awaited, so the stream's hash sees them in sequence.
    """

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self._pool = pool
        self._sha256 = hashlib.sha256()

    def add(self, part: io.BytesIO) -> asyncio.Future[str]:
        return asyncio.get_running_loop().run_in_executor(self._pool, self._digest, part)

    def _digest(self, part: io.BytesIO) -> str:
        with part.getbuffer() as view:  # no copy: the BytesIO owns its buffer
            self._sha256.update(view)
            crc = zlib.crc32(view)
        return base64.b64encode(crc.to_bytes(4, "big")).decode()

    def sha256_hex(self) -> str:
        return self._sha256.hexdigest()


def _size_of(body: io.BytesIO) -> int:
    with body.getbuffer() as view:
        return view.nbytes


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the exact name in RFC 5987 form."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{urllib.parse.quote(filename, safe='')}"


def _is_blob_key(key: str) -> bool:
    try:
        check_key(key)
    except ValueError:
        return False
    return True


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _http_status(exc: ClientError) -> int | None:
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def _one_line(value: object) -> str:
    return " ".join(str(value).split()) or type(value).__name__


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)
