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

The pieces: `session` (the client, retries, errors), `multipart` (the one multipart writer), `reads`
(ranges, facts, presigned URLs), `resumable` (tus uploads, their state in the bucket).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import math
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from botocore.exceptions import ClientError

from vitalgraph.blobs.base import BlobStat, BlobStore, PinnedBlob, WrittenBlob, check_key
from vitalgraph.blobs.chunking import SizeGuard
from vitalgraph.blobs.s3.multipart import S3_MAX_PARTS, MultipartWriter, StreamDigest, cut_parts, put_whole
from vitalgraph.blobs.s3.reads import PinnedObject, presigned_get, read_range, stat_object, utc
from vitalgraph.blobs.s3.resumable import BucketResumableUploads
from vitalgraph.blobs.s3.session import S3Session, error_code, http_status
from vitalgraph.errors import NotFoundError, PayloadTooLargeError, StorageUnavailableError

if TYPE_CHECKING:
    from vitalgraph.blobs.s3.direct import S3DirectUploads
    from vitalgraph.config import Settings

log = logging.getLogger("vitalgraph.blobs.s3")

MiB = 1024 * 1024
S3_MAX_OBJECT_SIZE = 5 * 1024 * 1024 * MiB  # 5 TiB
DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys
# How a server says it does not take DeleteObjects: not implemented at all, or (the JuiceFS 1.4 gateway,
# built on an old MinIO) only with a Content-MD5, which botocore >= 1.36 no longer sends (a CRC32 instead).
MULTI_DELETE_REFUSALS = {"NotImplemented", "MissingContentMD5"}
DELETE_ONE_BY_ONE_CONCURRENCY = 16  # DeleteObject calls in flight when DeleteObjects is refused
COPY_OBJECT_LIMIT = 5 * 1024 * MiB  # CopyObject copies up to 5 GiB; above, UploadPartCopy in parts
COPY_PART_SIZE = 1024 * MiB  # each UploadPartCopy part (S3 allows 5 MiB to 5 GiB)


class S3BlobStore(BucketResumableUploads, BlobStore):
    """Objects under `<prefix>/` in one bucket; one S3 session for the store's lifetime. Resumable uploads
    (their state in the bucket) come from BucketResumableUploads."""

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
        local_state_dirs: tuple[Path, Path] | None = None,
    ) -> None:
        self.session = S3Session(
            bucket=bucket,
            endpoint_url=endpoint_url,
            region=region,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
            addressing_style=addressing_style,
            prefix=prefix,
            create_bucket=create_bucket,
            timeout_seconds=timeout_seconds,
            max_parts_in_flight=max_parts_in_flight,
        )
        super().__init__(self.session, part_size=part_size, chunk_size=chunk_size)
        self.max_concurrency = max_concurrency
        self.copy_object_limit = COPY_OBJECT_LIMIT  # per store, so a test can shrink them
        self.copy_part_size = COPY_PART_SIZE
        # DeleteObjects until the server refuses it once; then one DeleteObject per key for this store.
        self.multi_delete = True
        # Where the previous layout kept resumable uploads on the server's disk: (S3 staging, tus records).
        self.local_state_dirs = local_state_dirs

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
            local_state_dirs=(settings.DATA_DIR / "s3-staging", settings.DATA_DIR / "tus"),
        )

    @property
    def bucket(self) -> str:
        return self.session.bucket

    @property
    def prefix(self) -> str:
        return self.session.prefix

    @property
    def where(self) -> str:
        return self.session.where

    @property
    def client(self) -> Any:
        return self.session.client

    # ---------------------------------------------------------------- lifecycle

    async def open(self) -> None:
        await self.session.open()
        if self.local_state_dirs is not None:
            # Store format 3 (services/migrations.py): resumable state moved from each server's disk into
            # the bucket. Every replica has a disk of its own, so each moves its own at every open (a
            # no-op once done), not only the one that runs the store's migrations.
            try:
                await self.adopt_local_state(*self.local_state_dirs)
            except BaseException:
                await self.session.close()
                raise

    def direct_uploads(self) -> S3DirectUploads:
        from vitalgraph.blobs.s3.direct import S3DirectUploads  # that module builds on this one

        return S3DirectUploads(self)

    async def check(self) -> None:
        await self.session.check()

    async def close(self) -> None:
        await self.session.close()

    # ---------------------------------------------------------------- write

    async def write(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        max_size: int | None = None,
        expected_size: int | None = None,
    ) -> WrittenBlob:
        object_key = self.session.object_key(key)
        if expected_size is not None and expected_size > S3_MAX_OBJECT_SIZE:
            raise PayloadTooLargeError(
                f"upload of {expected_size} bytes exceeds S3's object size limit of 5 TiB"
            )
        part_size = self._part_size_for(expected_size)
        guard = SizeGuard(max_size, expected_size)
        digest = StreamDigest(self.session)
        upload = MultipartWriter(self.session, object_key, part_size, concurrency=self.max_concurrency)
        held: tuple[io.BytesIO, asyncio.Future[str]] | None = None  # one part of look-ahead: see below
        commit: asyncio.Future[None] | None = None
        try:
            async with aclosing(cut_parts(chunks, part_size, guard)) as parts:
                async for body in parts:
                    if held is not None:  # a body that fits in one part is a single PUT
                        await upload.send_part(held[0], await held[1])  # before the next digest starts
                    held = (body, digest.add(body))
            guard.finish()
            if held is None:
                empty = io.BytesIO()
                held = (empty, digest.add(empty))
            crc32 = await held[1]
            if upload.started:
                await upload.send_part(held[0], crc32)
                commit = asyncio.ensure_future(upload.complete())
            else:
                commit = asyncio.ensure_future(put_whole(self.session, object_key, held[0], crc32))
            # Shielded: once the final request is on its way it may succeed on the server even if we
            # stop waiting; on cancellation the cleanup below waits for it and removes the object.
            await asyncio.shield(commit)
        except BaseException:
            with anyio.CancelScope(shield=True):
                if held is not None:
                    await asyncio.wait([held[1]])  # the worker thread still reads the part
                await self._undo_write(object_key, upload, commit)
            raise
        return WrittenBlob(key=key, size=guard.count, sha256=digest.sha256_hex())

    def _part_size_for(self, expected_size: int | None) -> int:
        """The configured part size, grown when a known size would need more than S3's 10,000 parts."""
        if expected_size is None or expected_size <= self.part_size * S3_MAX_PARTS:
            return self.part_size
        return math.ceil(expected_size / S3_MAX_PARTS / MiB) * MiB

    async def _undo_write(
        self, object_key: str, upload: MultipartWriter, commit: asyncio.Future[None] | None
    ) -> None:
        """Leave nothing behind: stop the parts, abort the upload, remove an object the final request made."""
        if commit is not None:
            await asyncio.wait([commit])
            if not commit.cancelled():
                commit.exception()  # retrieved: the original error is the one re-raised
        await upload.abort()
        if commit is not None and self.session.is_open:
            try:
                with self.session.failures(f"removing the failed write {object_key}"):
                    await self.client.delete_object(Bucket=self.bucket, Key=object_key)
            except StorageUnavailableError as exc:
                log.warning("could not remove %s after a failed write: %s", object_key, exc)

    # ---------------------------------------------------------------- copy

    async def copy(self, source_key: str, target_key: str) -> WrittenBlob:
        """CopyObject up to COPY_OBJECT_LIMIT, UploadPartCopy above it: the bytes stay inside S3. The
        copy is then read back (inside the server) for its SHA-256, so the caller can check it
        against the source's; on any failure nothing is left under `target_key`."""
        source, target = self.session.object_key(source_key), self.session.object_key(target_key)
        size = (await self.stat(source_key)).size
        upload_id: str | None = None
        try:
            if size <= self.copy_object_limit:
                with self.session.failures(
                    f"copying {source} to {target}", missing=f"blob {source_key} not found"
                ):
                    await self.client.copy_object(
                        Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": source}
                    )
            else:
                part_size = max(self.copy_part_size, math.ceil(size / S3_MAX_PARTS))
                with self.session.failures(f"copying {source} to {target} in parts"):
                    created = await self.client.create_multipart_upload(Bucket=self.bucket, Key=target)
                    upload_id = created["UploadId"]
                    self.session.upload_started(target, upload_id)
                    parts = []
                    for number, start in enumerate(range(0, size, part_size), start=1):
                        end = min(start + part_size, size) - 1
                        answer = await self.client.upload_part_copy(
                            Bucket=self.bucket,
                            Key=target,
                            UploadId=upload_id,
                            PartNumber=number,
                            CopySource={"Bucket": self.bucket, "Key": source},
                            CopySourceRange=f"bytes={start}-{end}",
                        )
                        parts.append({"PartNumber": number, "ETag": answer["CopyPartResult"]["ETag"]})
                    await self.client.complete_multipart_upload(
                        Bucket=self.bucket, Key=target, UploadId=upload_id, MultipartUpload={"Parts": parts}
                    )
                self.session.upload_ended(upload_id)
                upload_id = None
            digest = hashlib.sha256()
            async for chunk in self.read(target_key):
                digest.update(chunk)
        except BaseException:
            with anyio.CancelScope(shield=True):
                if upload_id is not None:
                    await self.session.abort_upload(target, upload_id)
                try:
                    with self.session.failures(f"removing the failed copy {target}"):
                        await self.client.delete_object(Bucket=self.bucket, Key=target)
                except StorageUnavailableError as exc:
                    log.warning("could not remove %s after a failed copy: %s", target, exc)
            raise
        return WrittenBlob(key=target_key, size=size, sha256=digest.hexdigest())

    # ---------------------------------------------------------------- read

    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        return read_range(self.session, key, start, end, self.chunk_size)

    async def stat(self, key: str) -> BlobStat:
        return await stat_object(self.session, key)

    async def open_pinned(self, key: str) -> PinnedBlob:
        return await PinnedObject.open(self.session, key, self.chunk_size)

    async def presign_download(
        self,
        key: str,
        expires_seconds: int,
        content_disposition: str | None = None,
        content_type: str | None = None,
    ) -> str:
        return await presigned_get(self.session, key, expires_seconds, content_disposition, content_type)

    # ---------------------------------------------------------------- deletion and listing

    async def delete(self, key: str) -> bool:
        try:
            await self.stat(key)  # DeleteObject answers 204 whether or not the key existed
        except NotFoundError:
            return False
        with self.session.failures(f"deleting {key}"):
            await self.client.delete_object(Bucket=self.bucket, Key=self.session.object_key(key))
        return True

    async def delete_prefix(self, prefix: str) -> int:
        batch: list[str] = []
        deleted = 0
        async for stat in self.list_keys(prefix):
            batch.append(self.session.object_key(stat.key))
            if len(batch) == DELETE_BATCH:
                deleted += await self._delete_batch(batch)
                batch = []
        if batch:
            deleted += await self._delete_batch(batch)
        return deleted

    async def _delete_batch(self, object_keys: list[str]) -> int:
        if not (self.multi_delete and await self._delete_objects(object_keys)):
            await self._delete_one_by_one(object_keys)
        return len(object_keys)

    async def _delete_objects(self, object_keys: list[str]) -> bool:
        """One DeleteObjects call; False, remembered in `multi_delete`, if the server does not take it."""
        with self.session.failures(f"deleting {len(object_keys)} objects"):
            try:
                response = await self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in object_keys], "Quiet": True}
                )
            except ClientError as exc:
                if error_code(exc) not in MULTI_DELETE_REFUSALS and http_status(exc) != 501:
                    raise
                self.multi_delete = False
                log.info(
                    "S3 at %s refused DeleteObjects (%s): deleting one object per request from now on",
                    self.where,
                    error_code(exc) or http_status(exc),
                )
                return False
        errors = response.get("Errors", [])
        if errors:
            first = errors[0]
            raise StorageUnavailableError(
                f"S3 at {self.where} failed to delete {len(errors)} of {len(object_keys)} objects, "
                f"first {first.get('Key')}: {first.get('Code')} {first.get('Message', '')}".rstrip()
            )
        return True

    async def _delete_one_by_one(self, object_keys: list[str]) -> None:
        """DeleteObject for each key, some at a time; every key is tried, then the first failure is raised."""
        slots = asyncio.Semaphore(DELETE_ONE_BY_ONE_CONCURRENCY)

        async def delete(object_key: str) -> None:
            async with slots:
                with self.session.failures(f"deleting {object_key}"):
                    await self.client.delete_object(Bucket=self.bucket, Key=object_key)

        outcomes = await asyncio.gather(*(delete(key) for key in object_keys), return_exceptions=True)
        failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        if failures:
            raise failures[0]

    async def list_keys(self, prefix: str = "") -> AsyncIterator[BlobStat]:
        object_prefix = self.session.object_prefix(prefix)
        async for page in self.session.pages(
            "list_objects_v2", f"listing {prefix or 'all keys'}", Prefix=object_prefix
        ):
            for item in page.get("Contents", []):
                key = self.session.blob_key(item["Key"])
                if _is_blob_key(key):  # skip foreign objects (directory markers) and resumable state
                    yield BlobStat(key=key, size=item["Size"], modified=utc(item["LastModified"]))

    async def clean_staging(self, older_than_seconds: float) -> int:
        """Abort multipart uploads under our prefix begun before the cutoff, except this process's live
        ones and those of resumable uploads (they expire by their own rule)."""
        cutoff = time.time() - older_than_seconds
        stale: list[tuple[str, str]] = []
        resumable = await self.resumable_multipart_ids()
        async for page in self.session.pages(
            "list_multipart_uploads", "listing unfinished uploads", Prefix=self.session.object_prefix("")
        ):
            for upload in page.get("Uploads", []):
                upload_id = upload["UploadId"]
                is_live = self.session.is_live_upload(upload_id) or upload_id in resumable
                if not is_live and upload["Initiated"].timestamp() <= cutoff:
                    stale.append((upload["Key"], upload_id))
        slots = asyncio.Semaphore(16)  # a crashed fleet may have left thousands

        async def abort(key: str, upload_id: str) -> bool:
            async with slots:
                return await self.session.abort_upload(key, upload_id)

        aborted = await asyncio.gather(*(abort(key, upload_id) for key, upload_id in stale))
        if stale:
            log.info(
                "aborted %d of %d stale multipart uploads under %s",
                sum(aborted),
                len(stale),
                self.prefix or "/",
            )
        return sum(aborted)


def _is_blob_key(key: str) -> bool:
    try:
        check_key(key)
    except ValueError:
        return False
    return True
