"""Parts and the one multipart writer, used by streamed writes and resumable uploads alike.

A streamed write sends its parts with several in flight and completes at the end of the request; a
resumable upload sends one part at a time, saves the parts list between requests, and picks the same
upload up again (on any replica) from its id and that list.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import zlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from botocore.exceptions import ClientError

from vitalgraph import tracing
from vitalgraph.blobs.chunking import SizeGuard
from vitalgraph.blobs.s3.session import MISSING_UPLOAD_ERRORS, S3Session, error_code
from vitalgraph.errors import PayloadTooLargeError

S3_MAX_PARTS = 10_000
Part = dict[str, Any]  # {"PartNumber", "ETag", "ChecksumCRC32", "Size"}, as stored between requests


class MultipartWriter:
    """One multipart upload: begun on its first part, at most `concurrency` parts in flight, and at most
    the session's S3_MAX_PARTS_IN_FLIGHT across all uploads.

    `aborted_on_close`: a single request's upload, aborted when the server shuts down; a resumable
    upload is not (it outlives the request and the process).
    """

    def __init__(
        self,
        session: S3Session,
        object_key: str,
        part_size: int,
        *,
        concurrency: int,
        upload_id: str | None = None,
        parts: Sequence[Part] = (),
        aborted_on_close: bool = True,
        checksum_algorithm: str = "CRC32",
    ) -> None:
        self.session = session
        self.object_key = object_key
        self.part_size = part_size
        self.aborted_on_close = aborted_on_close
        self.checksum_algorithm = checksum_algorithm  # "SHA256" for direct uploads' presigned parts
        self._creating: asyncio.Future[str] | None = None
        if upload_id is not None:
            self._creating = asyncio.get_running_loop().create_future()
            self._creating.set_result(upload_id)
        self._earlier = list(parts)  # sent by earlier requests
        self._slots = asyncio.Semaphore(concurrency)
        self._parts: list[asyncio.Task[Part]] = []
        self._failure: BaseException | None = None

    @property
    def started(self) -> bool:
        return self._creating is not None

    @property
    def sent_bytes(self) -> int:
        """Bytes in the parts sent by earlier requests."""
        return sum(part["Size"] for part in self._earlier)

    async def start(self) -> str:
        """The upload's id, beginning the upload on the first call."""
        if self._creating is None:
            self._creating = asyncio.ensure_future(self._create())
            if self.aborted_on_close:
                self.session.upload_starting(self._creating)
        return await asyncio.shield(self._creating)  # shielded: abort() needs the id it returns

    async def _create(self) -> str:
        with self.session.failures(f"starting the upload of {self.object_key}"):
            response = await self.session.client.create_multipart_upload(
                Bucket=self.session.bucket, Key=self.object_key, ChecksumAlgorithm=self.checksum_algorithm
            )
        upload_id: str = response["UploadId"]
        if self.aborted_on_close:
            self.session.upload_started(self.object_key, upload_id)
        return upload_id

    async def send_part(self, body: io.BytesIO, crc32: str) -> None:
        """Start uploading the next part; waits while all slots are busy, so memory stays bounded."""
        upload_id = await self.start()
        await self._acquire_slots()
        if self._failure is not None:
            self._release_slots()
            raise self._failure
        number = len(self._earlier) + len(self._parts) + 1
        if number > S3_MAX_PARTS:
            self._release_slots()
            raise PayloadTooLargeError(
                f"upload exceeds S3's {S3_MAX_PARTS} parts of {self.part_size} bytes (raise S3_PART_SIZE)"
            )
        self._parts.append(asyncio.create_task(self._send(upload_id, number, body, crc32)))

    async def _acquire_slots(self) -> None:
        """This upload's slot, then one of the session's: while both are taken the request body waits."""
        await self._slots.acquire()
        try:
            await self.session.part_slots().acquire()
        except BaseException:
            self._slots.release()
            raise

    def _release_slots(self) -> None:
        self.session.part_slots().release()
        self._slots.release()

    async def _send(self, upload_id: str, number: int, body: io.BytesIO, crc32: str) -> Part:
        size = size_of(body)
        try:
            with self.session.failures(f"uploading part {number} of {self.object_key}"):
                stages = tracing.stage_times()  # parts in flight overlap: "store" sums their times
                timed = stages.timed("store") if stages else contextlib.nullcontext()
                async with asyncio.timeout(self.session.send_timeout(size)):
                    with timed:
                        response = await self.session.client.upload_part(
                            Bucket=self.session.bucket,
                            Key=self.object_key,
                            UploadId=upload_id,
                            PartNumber=number,
                            Body=body,
                            ChecksumCRC32=crc32,
                        )
            return {"PartNumber": number, "ETag": response["ETag"], "ChecksumCRC32": crc32, "Size": size}
        except BaseException as exc:
            self._failure = self._failure or exc
            raise
        finally:
            self._release_slots()

    async def sent_parts(self) -> list[Part]:
        """Every part, once those in flight have arrived (the first failure is raised)."""
        return [*self._earlier, *await asyncio.gather(*self._parts)]

    async def complete(self) -> None:
        parts = await self.sent_parts()
        upload_id = await self.start()
        listed = [{k: part[k] for k in ("PartNumber", "ETag", "ChecksumCRC32")} for part in parts]
        with self.session.failures(f"completing the upload of {self.object_key}"):
            try:
                await self.session.client.complete_multipart_upload(
                    Bucket=self.session.bucket,
                    Key=self.object_key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": listed},
                )
            except ClientError as exc:  # a retry after a failure past this point: completed already?
                if error_code(exc) not in MISSING_UPLOAD_ERRORS:
                    raise
                head = await self.session.client.head_object(Bucket=self.session.bucket, Key=self.object_key)
                if head["ContentLength"] != sum(part["Size"] for part in parts):
                    raise
        self.session.upload_ended(upload_id)

    async def abort(self) -> None:
        """Cancel the parts in flight, then abort, so no part lands after the abort."""
        for task in self._parts:
            task.cancel()
        await asyncio.gather(*self._parts, return_exceptions=True)
        if self._creating is not None:
            await asyncio.wait([self._creating])
            if not self._creating.cancelled() and self._creating.exception() is None:
                await self.session.abort_upload(self.object_key, self._creating.result())


async def put_whole(session: S3Session, object_key: str, body: io.BytesIO, crc32: str) -> None:
    """One PutObject: the object appears only once every byte has arrived."""
    stages = tracing.stage_times()
    with (
        session.failures(f"writing {object_key}"),
        stages.timed("store") if stages else contextlib.nullcontext(),
    ):
        async with asyncio.timeout(session.send_timeout(size_of(body))):
            await session.client.put_object(
                Bucket=session.bucket, Key=object_key, Body=body, ChecksumCRC32=crc32
            )


async def cut_parts(chunks: AsyncIterator[bytes], size: int, guard: SizeGuard) -> AsyncIterator[io.BytesIO]:
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


class StreamDigest:
    """SHA-256 of the whole stream and CRC32 of each part, on a worker thread.

    Each part is hashed while the next one arrives. Parts must be added in order, each after the
    previous part's CRC32 has been awaited, so the stream's hash sees them in sequence.
    """

    def __init__(self, session: S3Session) -> None:
        self._session = session
        self._sha256 = hashlib.sha256()
        self._stages = tracing.stage_times()  # made on the event loop; the worker thread adds to it

    def add(self, part: io.BytesIO) -> asyncio.Future[str]:
        return asyncio.ensure_future(self._session.run_on_worker(self._digest, part))

    def _digest(self, part: io.BytesIO) -> str:
        with self._stages.timed("hash") if self._stages else contextlib.nullcontext():
            with part.getbuffer() as view:  # no copy: the BytesIO owns its buffer
                self._sha256.update(view)
            return crc32_of(part)

    def sha256_hex(self) -> str:
        return self._sha256.hexdigest()


def crc32_of(body: io.BytesIO) -> str:
    """Base64 of the big-endian CRC32, as S3's x-amz-checksum-crc32 wants it."""
    with body.getbuffer() as view:
        crc = zlib.crc32(view)
    return base64.b64encode(crc.to_bytes(4, "big")).decode()


def size_of(body: io.BytesIO) -> int:
    with body.getbuffer() as view:
        return view.nbytes
