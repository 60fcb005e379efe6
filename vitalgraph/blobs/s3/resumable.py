"""Resumable uploads on S3, with all their state in the bucket, so any server continues any upload.

Under `<S3_PREFIX>/.resumable/` (a name no blob key can take, so blob listings never see it), per upload:
- `<id>.state`: the final object key, the multipart upload id and the parts sent so far (JSON);
- `<id>.tail-<n>`: the bytes not yet sent as a part (less than one part), as an object of its own, the
  way tusd's s3store keeps its incomplete part; `n` is the number the next part will get;
- `<id>.info`: the record its caller keeps with the upload (tus: length, owner, metadata, expiry).

An append reads the tail, adds the request's bytes behind it in a spooled buffer (memory up to one part,
then a temporary file), and sends each whole part as it fills; the parts list is saved after every part,
the rest becomes the new tail at the end of the request. A tail's name carries its part number: after a
crash between sending a part and writing the new tail, the old tail is stale and ignored, and the offset
reported is honestly the smaller one; the client sends those bytes again. Serializing the requests of
one upload is the caller's job (TusService holds a lock across servers).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import tempfile
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import anyio

from vitalgraph.blobs.base import WrittenBlob
from vitalgraph.blobs.chunking import rechunk
from vitalgraph.blobs.resumable import (
    AppendCounter,
    ResumableUploads,
    RunningDigests,
    check_offset,
    check_upload_id,
)
from vitalgraph.blobs.s3.multipart import MultipartWriter, Part, crc32_of, put_whole, size_of
from vitalgraph.blobs.s3.reads import read_range
from vitalgraph.blobs.s3.session import S3Session
from vitalgraph.errors import NotFoundError

log = logging.getLogger("vitalgraph.blobs.s3")
RESUMABLE_FOLDER = ".resumable"
STATE_FORMAT = 1  # the layout of `<id>.state`; bump it (and migrate) when it changes


@dataclass
class UploadState:
    object_key: str
    multipart_id: str | None = None
    parts: list[Part] = field(default_factory=list)
    format: int = STATE_FORMAT

    @property
    def sent(self) -> int:
        return sum(part["Size"] for part in self.parts)

    @property
    def next_part(self) -> int:
        return len(self.parts) + 1


class BucketResumableUploads(ResumableUploads):
    """The ResumableUploads capability of the S3 store (a base class of S3BlobStore)."""

    def __init__(self, session: S3Session, *, part_size: int, chunk_size: int) -> None:
        self.session = session
        self.part_size = part_size
        self.chunk_size = chunk_size
        self._digests = RunningDigests()

    # ---------------------------------------------------------------- names and small objects

    def _name(self, upload_id: str, suffix: str) -> str:
        return self.session.in_prefix(f"{RESUMABLE_FOLDER}/{check_upload_id(upload_id)}.{suffix}")

    def _tail_name(self, upload_id: str, part_number: int) -> str:
        return self._name(upload_id, f"tail-{part_number}")

    async def _get(self, name: str) -> bytes | None:
        """An object's bytes, or None when it is not there."""
        try:
            with self.session.failures(f"reading {name}", missing=name):
                response = await self.session.client.get_object(Bucket=self.session.bucket, Key=name)
                async with response["Body"] as body:
                    return await body.read()
        except NotFoundError:
            return None

    async def _put(self, name: str, data: bytes) -> None:
        body = io.BytesIO(data)
        await put_whole(self.session, name, body, await self.session.run_on_worker(crc32_of, body))

    async def _delete(self, *names: str) -> None:
        for name in names:
            with self.session.failures(f"deleting {name}"):
                await self.session.client.delete_object(Bucket=self.session.bucket, Key=name)

    async def _names_under(self, prefix: str) -> list[str]:
        return [
            item["Key"]
            async for page in self.session.pages(
                "list_objects_v2", "listing resumable uploads", Prefix=self.session.in_prefix(prefix)
            )
            for item in page.get("Contents", [])
        ]

    async def _load(self, upload_id: str) -> UploadState:
        data = await self._get(self._name(upload_id, "state"))
        if data is None:
            raise NotFoundError(f"no staged upload {upload_id}")
        return UploadState(**json.loads(data))

    async def _save(self, upload_id: str, state: UploadState) -> None:
        await self._put(self._name(upload_id, "state"), json.dumps(asdict(state)).encode())

    async def _tail(self, upload_id: str, state: UploadState) -> bytes:
        return await self._get(self._tail_name(upload_id, state.next_part)) or b""

    # ---------------------------------------------------------------- the capability

    async def begin_upload(self, upload_id: str, key: str) -> None:
        await self._save(upload_id, UploadState(self.session.object_key(key)))

    async def upload_offset(self, upload_id: str) -> int:
        state = await self._load(upload_id)
        try:
            with self.session.failures(f"checking the tail of upload {upload_id}", missing="no tail"):
                head = await self.session.client.head_object(
                    Bucket=self.session.bucket, Key=self._tail_name(upload_id, state.next_part)
                )
        except NotFoundError:
            return state.sent
        return state.sent + int(head["ContentLength"])

    async def _append(
        self, upload_id: str, offset: int, chunks: AsyncIterator[bytes], counter: AppendCounter
    ) -> int:
        state = await self._load(upload_id)
        first_tail = state.next_part
        pending = _Pending(await self._tail(upload_id, state), self.part_size)
        check_offset(offset, state.sent + pending.size)
        check = counter.check
        writer = self._writer(state)
        run = self.session.run_on_worker
        try:
            async for block in rechunk(chunks, self.chunk_size):
                counter.admit(len(block))
                await run(pending.append, block, counter)
                if check is None and pending.size >= self.part_size:
                    await self._send_whole_parts(upload_id, state, writer, pending)
            if check is not None:
                check.verify()
                await self._send_whole_parts(upload_id, state, writer, pending)
            await self._save_tail(upload_id, state, pending, first_tail)
        except BaseException:
            with anyio.CancelScope(shield=True):
                self._digests.forget(upload_id)
                if check is None:  # without a checksum, what arrived counts (tus); with one, nothing
                    await self._keep_what_arrived(upload_id, state, pending, first_tail, counter)
            raise
        finally:
            pending.close()
        return state.sent + pending.size

    async def _keep_what_arrived(
        self, upload_id: str, state: UploadState, pending: _Pending, first_tail: int, counter: AppendCounter
    ) -> None:
        try:
            await self._save_tail(upload_id, state, pending, first_tail)
        except Exception:  # S3 is what failed: the offset is what the bucket says, the client asks for it
            return
        self._digests.commit(upload_id, counter.digest, state.sent + pending.size)

    def _writer(self, state: UploadState) -> MultipartWriter:
        return MultipartWriter(
            self.session,
            state.object_key,
            self.part_size,
            concurrency=1,
            upload_id=state.multipart_id,
            parts=state.parts,
            aborted_on_close=False,
        )

    async def _send_whole_parts(
        self, upload_id: str, state: UploadState, writer: MultipartWriter, pending: _Pending
    ) -> None:
        """Send every whole part in the buffer as the next parts, saving the list after each."""
        whole = pending.size // self.part_size
        if not whole:
            return
        if state.multipart_id is None:
            state.multipart_id = await writer.start()
            await self._save(upload_id, state)  # the id first: a crash leaves an upload gc can find
        for index in range(whole):
            await self._send_part(
                upload_id, state, writer, await self.session.run_on_worker(pending.read, index)
            )
        await self.session.run_on_worker(pending.drop_whole_parts)

    async def _send_part(
        self, upload_id: str, state: UploadState, writer: MultipartWriter, body: io.BytesIO
    ) -> None:
        await writer.send_part(body, await self.session.run_on_worker(crc32_of, body))
        state.parts = await writer.sent_parts()
        await self._save(upload_id, state)

    async def _save_tail(
        self, upload_id: str, state: UploadState, pending: _Pending, first_tail: int
    ) -> None:
        """The buffer's rest becomes the tail of the next part; a tail of an earlier number goes."""
        if pending.size:
            await self._put(
                self._tail_name(upload_id, state.next_part), await self.session.run_on_worker(pending.rest)
            )
        elif state.next_part == first_tail:
            await self._delete(self._tail_name(upload_id, state.next_part))
        if first_tail != state.next_part:
            await self._delete(self._tail_name(upload_id, first_tail))

    async def finish_upload(self, upload_id: str) -> WrittenBlob:
        state = await self._load(upload_id)
        tail = io.BytesIO(await self._tail(upload_id, state))
        size = state.sent + size_of(tail)
        if state.multipart_id is None:
            await put_whole(
                self.session, state.object_key, tail, await self.session.run_on_worker(crc32_of, tail)
            )
        else:
            writer = self._writer(state)
            if size_of(tail) or not state.parts:
                # Saved as a part before completing: a retry after completion finds no tail to send again.
                await self._send_part(upload_id, state, writer, tail)
            await writer.complete()
        key = self.session.blob_key(state.object_key)
        digest = self._digests.take(upload_id, size) or await self._sha256_of_blob(key)
        await self._remove_staging(upload_id)
        return WrittenBlob(key=key, size=size, sha256=digest)

    async def _sha256_of_blob(self, key: str) -> str:
        """Read the finished object back: the running hash is not here (another server, or a restart)."""
        hasher = hashlib.sha256()
        async for chunk in read_range(self.session, key, 0, None, self.chunk_size):
            await self.session.run_on_worker(hasher.update, chunk)
        return hasher.hexdigest()

    async def terminate_upload(self, upload_id: str) -> bool:
        self._digests.forget(upload_id)
        try:
            state = await self._load(upload_id)
        except NotFoundError:
            return False
        if state.multipart_id is not None:
            await self.session.abort_upload(state.object_key, state.multipart_id)
        await self._remove_staging(upload_id)
        return True

    async def _remove_staging(self, upload_id: str) -> None:
        """The state and every tail (the record is its caller's, removed with `remove_record`)."""
        info = self._name(upload_id, "info")
        names = await self._names_under(f"{RESUMABLE_FOLDER}/{check_upload_id(upload_id)}.")
        await self._delete(*(name for name in names if name != info))

    async def staged_upload_ids(self) -> list[str]:
        return [upload_id for upload_id, suffix in await self._listed() if suffix == "state"]

    async def _listed(self) -> list[tuple[str, str]]:
        folder = self.session.in_prefix(f"{RESUMABLE_FOLDER}/")
        return [
            tuple(name[len(folder) :].split(".", 1))  # type: ignore[misc]
            for name in await self._names_under(f"{RESUMABLE_FOLDER}/")
            if "." in name[len(folder) :]
        ]

    async def resumable_multipart_ids(self) -> set[str]:
        """The multipart uploads resumable uploads are using (garbage collection leaves them alone)."""
        ids = set()
        for upload_id in await self.staged_upload_ids():
            try:
                state = await self._load(upload_id)
            except NotFoundError:
                continue  # finished or terminated meanwhile
            if state.multipart_id:
                ids.add(state.multipart_id)
        return ids

    # ---------------------------------------------------------------- migration

    async def adopt_local_state(self, staging_dir: Path, records_dir: Path) -> int:
        """Migration from the layout before the state moved into the bucket: a server kept each S3
        resumable upload's state on its own disk, `DATA_DIR/s3-staging/<id>.json` (object key, multipart
        id, parts) with the tail `<id>.<next part>.tail` beside it, and the tus record in
        `DATA_DIR/tus/<id>.json` (also for an upload whose bytes were finished but not yet attached).
        Each upload is copied into the bucket (tail and record first, the state last, so a state in the
        bucket means a complete copy), then removed from disk; running it again after a crash redoes
        the rest. Returns how many uploads and records moved."""
        moved = 0
        for state_path in sorted(staging_dir.glob("*.json")) if staging_dir.is_dir() else []:
            upload_id = check_upload_id(state_path.stem)
            document = json.loads(await self.session.run_on_worker(state_path.read_text))
            state = UploadState(document["object_key"], document["multipart_id"], document["parts"])
            tail = staging_dir / f"{upload_id}.{state.next_part}.tail"
            if tail.exists() and tail.stat().st_size:
                await self._put(
                    self._tail_name(upload_id, state.next_part),
                    await self.session.run_on_worker(tail.read_bytes),
                )
            await self._adopt_record(records_dir / f"{upload_id}.json")
            await self._save(upload_id, state)
            for leftover in staging_dir.glob(f"{upload_id}.*"):
                leftover.unlink(missing_ok=True)
            moved += 1
        for record in sorted(records_dir.glob("*.json")) if records_dir.is_dir() else []:
            moved += await self._adopt_record(record)
        for directory in (staging_dir, records_dir):
            with contextlib.suppress(OSError):
                directory.rmdir()  # only when empty
        if moved:
            log.info("moved %d resumable uploads from %s into the bucket", moved, staging_dir.parent)
        return moved

    async def _adopt_record(self, path: Path) -> bool:
        if not path.exists():
            return False
        upload_id = check_upload_id(path.stem)
        await self.save_record(upload_id, json.loads(await self.session.run_on_worker(path.read_text)))
        path.unlink(missing_ok=True)
        return True

    # ---------------------------------------------------------------- the caller's records

    async def save_record(self, upload_id: str, record: dict[str, Any]) -> None:
        await self._put(self._name(upload_id, "info"), json.dumps(record).encode())

    async def load_record(self, upload_id: str) -> dict[str, Any] | None:
        data = await self._get(self._name(upload_id, "info"))
        return None if data is None else json.loads(data)

    async def remove_record(self, upload_id: str) -> None:
        await self._delete(self._name(upload_id, "info"))

    async def record_ids(self) -> list[str]:
        return [upload_id for upload_id, suffix in await self._listed() if suffix == "info"]


class _Pending:
    """The tail and the bytes this request added behind it, in memory up to about a part, then in a
    temporary file; every method but `size` runs on a worker thread."""

    def __init__(self, tail: bytes, part_size: int) -> None:
        self.part_size = part_size
        self.file = tempfile.SpooledTemporaryFile(max_size=2 * part_size)
        self.file.write(tail)
        self.size = len(tail)

    def append(self, block: bytes, counter: AppendCounter) -> None:
        self.file.write(block)
        self.size += len(block)
        counter.hashed(block)

    def read(self, index: int) -> io.BytesIO:
        """Whole part number `index` (from 0) of the buffer."""
        self.file.seek(index * self.part_size)
        body = io.BytesIO(self.file.read(self.part_size))
        self.file.seek(0, io.SEEK_END)
        return body

    def drop_whole_parts(self) -> None:
        """Keep only the bytes after the last whole part (they were sent)."""
        self.file.seek(self.size // self.part_size * self.part_size)
        rest = self.file.read()
        self.file.seek(0)
        self.file.truncate()
        self.file.write(rest)
        self.size = len(rest)

    def rest(self) -> bytes:
        self.file.seek(0)
        data = self.file.read()
        self.file.seek(0, io.SEEK_END)
        return data

    def close(self) -> None:
        self.file.close()
