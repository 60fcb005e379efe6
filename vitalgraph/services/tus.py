"""Resumable uploads (tus 1.0.0): upload records, offsets, completion into a FileNode, expiry.

The bytes are staged by the blob store's ResumableUploads capability; this service keeps what the
protocol needs besides (length, metadata, owner, expiry) in one small JSON file per upload under
DATA_DIR/tus/, so a new client process can resume from the upload URL and a restarted server still
knows every upload. The FileNode changes only when the last byte arrives: the store turns the staged
bytes into a fresh blob, and FileService points the node at it exactly as a streamed upload does.

One request works on an upload at a time, across every server (`UploadLocks`): a PATCH takes the
upload for its whole body, and a second PATCH arriving meanwhile gets 409 (ConflictError) rather
than waiting. The upload's record is kept by the blob store beside the staged bytes (local store:
DATA_DIR/tus/<id>.json; S3: in the bucket), so any replica continues any upload.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import asdict, dataclass, field
from functools import partial

from vitalgraph.blobs.base import BlobStore, WrittenBlob
from vitalgraph.blobs.resumable import ChunkCheck, ResumableUploads, check_upload_id
from vitalgraph.errors import (
    ConflictError,
    GoneError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    TooManyRequestsError,
)
from vitalgraph.graph.base import graph_uri
from vitalgraph.model import check_uri_length
from vitalgraph.services.blob_keys import new_content_key
from vitalgraph.services.files import (
    DEFAULT_GRAPH_ID,
    FileService,
    UploadResult,
    check_content_type,
    check_filename,
)
from vitalgraph.services.upload_commit import OwnerCheck, commit_for_owner
from vitalgraph.services.upload_locks import UploadLocks

logger = logging.getLogger("vitalgraph.tus")

MAX_METADATA_BYTES = 16 * 1024  # room for the longest file URI (MAX_URI_LENGTH bytes, base64: 5464)
# Metadata keys: ours first, then the names Uppy and tus-js-client send by default.
FILENAME_KEYS = ("filename", "name")
FILETYPE_KEYS = ("filetype", "type")


@dataclass
class TusUpload:
    """One resumable upload's record (the staged bytes and the offset are the blob store's)."""

    id: str
    owner: str
    space_id: str
    graph_id: str | None
    file_uri: str
    filename: str | None
    filetype: str | None
    length: int | None  # None while the length is deferred
    expires: float  # epoch seconds; every PATCH pushes it out again
    metadata: dict[str, str] = field(default_factory=dict)  # as the client sent it, echoed by HEAD
    finished: dict | None = None  # the blob (key, size, sha256) once staged bytes became one, until attached
    space_uid: str | None = None  # the space's identity when the upload began (store format 2 on)


@dataclass(frozen=True)
class TusProgress:
    upload: TusUpload
    offset: int
    result: UploadResult | None = None  # set once the last byte arrived and the node points at the content


def parse_metadata(header: str | None) -> dict[str, str]:
    """`Upload-Metadata: key base64value,key2 base64value2` (a value may be absent)."""
    if not header:
        return {}
    if len(header) > MAX_METADATA_BYTES:
        raise InvalidInputError(f"Upload-Metadata is longer than {MAX_METADATA_BYTES} bytes")
    found: dict[str, str] = {}
    for item in header.split(","):
        key, _, encoded = item.strip().partition(" ")
        if not key:
            continue
        try:
            found[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8") if encoded else ""
        except (binascii.Error, ValueError):
            raise InvalidInputError(
                f"Upload-Metadata value for {key[:64]!r} is not base64 of UTF-8 text"
            ) from None
    return found


def encode_metadata(metadata: Mapping[str, str]) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}".rstrip() for key, value in metadata.items()
    )


CAP_TURN_SECONDS = 10.0  # how long a create waits for another replica's create of the same user


class TusService:
    def __init__(
        self,
        files: FileService,
        blobs: BlobStore,
        *,
        max_size: int | None,
        expiry_seconds: float,
        locks: UploadLocks,
        max_uploads_per_user: int = 0,
        max_bytes_per_user: int = 0,
    ) -> None:
        self.files = files
        self.blobs = blobs
        self.max_size = max_size
        self.expiry_seconds = expiry_seconds
        self.max_uploads_per_user = max_uploads_per_user  # 0: no cap
        self.max_bytes_per_user = max_bytes_per_user  # 0: no cap
        self.releaser = files.releaser
        # the owner's write grant on the space, checked again at commit (set by the container)
        self.authorize: OwnerCheck | None = None
        self.locks = locks

    @property
    def store(self) -> ResumableUploads:
        if not isinstance(self.blobs, ResumableUploads):
            raise NotFoundError(
                f"resumable uploads are not available with the {type(self.blobs).__name__} blob store"
            )
        return self.blobs

    # --- records ---------------------------------------------------------------------------------
    async def _save(self, upload: TusUpload) -> None:
        await self.store.save_record(upload.id, asdict(upload))

    async def _load(self, upload_id: str, owner: str) -> TusUpload:
        document = await self.store.load_record(check_upload_id(upload_id))
        if document is None:
            raise NotFoundError(f"no upload {upload_id}: it finished, was terminated, or never existed")
        upload = TusUpload(**document)
        if upload.owner != owner:  # someone else's upload is, for this caller, not there
            raise NotFoundError(f"no upload {upload_id}: it finished, was terminated, or never existed")
        if upload.expires <= time.time():
            await self._remove(upload.id, upload.finished, "expired")
            raise GoneError(f"upload {upload_id} expired; start a new upload")
        return upload

    @contextlib.asynccontextmanager
    async def _holding(self, upload_id: str, taken: str) -> AsyncIterator[None]:
        """Hold the upload for the block; ConflictError(`taken`) when another request holds it."""
        if not await self.locks.try_acquire(check_upload_id(upload_id)):
            raise ConflictError(taken)
        try:
            yield
        finally:
            await self.locks.release(upload_id)

    async def _remove(self, upload_id: str, finished: dict | None = None, reason: str = "ended") -> None:
        """Release the staged bytes (or the finished but not yet attached blob), then the record."""
        await self.releaser.release_staged(upload_id, reason=reason)
        if finished:
            await self.releaser.release([finished.get("key")], reason=reason)
        await self._forget(upload_id)

    # --- protocol operations ---------------------------------------------------------------------
    async def create(self, owner: str, metadata: dict[str, str], length: int | None) -> TusUpload:
        """Check the target file node exists (through FileService), then stage an empty upload."""
        store = self.store  # fails before anything is written when the blob store cannot do this
        space_id, file_uri = metadata.get("space_id"), metadata.get("file_uri")
        if not space_id or not file_uri:
            raise InvalidInputError("Upload-Metadata must name the target with 'space_id' and 'file_uri'")
        check_uri_length(file_uri, "file_uri")
        graph_id = metadata.get("graph_id") or None
        filename = check_filename(next((metadata[k] for k in FILENAME_KEYS if metadata.get(k)), None))
        filetype = next((metadata[k] for k in FILETYPE_KEYS if metadata.get(k)), None)
        if filetype is not None:
            check_content_type(filetype)
        self._check_length(length)
        space = await self.files.spaces.require(space_id)  # 404 for a missing space
        await self.files.get_file(space_id, graph_id, file_uri)  # 404 for a missing node
        upload = TusUpload(
            id=uuid.uuid4().hex,
            owner=owner,
            space_id=space_id,
            graph_id=graph_id,
            file_uri=file_uri,
            filename=filename,
            filetype=filetype,
            length=length,
            expires=time.time() + self.expiry_seconds,
            metadata=metadata,
            space_uid=space.uid,
        )
        async with self._counting(owner):  # counted and recorded together: two creates cannot both fit
            await self._check_caps(owner, length or 0, new_upload=True)
            await self._stage(store, upload)
        return upload

    @contextlib.asynccontextmanager
    async def _counting(self, owner: str) -> AsyncIterator[None]:
        """One check-then-create per user at a time on every server, this one included: the same claim
        that locks an upload, per user, so one user's creates never hold up another's (waiting
        CAP_TURN_SECONDS at most)."""
        if not (self.max_uploads_per_user or self.max_bytes_per_user):
            yield
            return
        turn = "caps-" + hashlib.sha256(owner.encode()).hexdigest()
        deadline = time.monotonic() + CAP_TURN_SECONDS
        while not await self.locks.try_acquire(turn):
            if time.monotonic() > deadline:
                raise ConflictError(f"another upload of user {owner!r} is being created: try again")
            await asyncio.sleep(0.02)
        try:
            yield
        finally:
            await self.locks.release(turn)

    async def _stage(self, store: ResumableUploads, upload: TusUpload) -> None:
        await self._save(upload)  # the record first: a crash right after leaves nothing the gc cannot find
        key = new_content_key(
            upload.space_uid or upload.space_id, upload.graph_id or DEFAULT_GRAPH_ID, upload.file_uri
        )
        await store.begin_upload(upload.id, key)

    # --- per-user caps ----------------------------------------------------------------------------
    async def _check_caps(
        self, owner: str, more_bytes: int, *, new_upload: bool = False, excluding: str | None = None
    ) -> None:
        """TooManyRequestsError (429) naming the cap if `owner` may not open another upload or reserve
        `more_bytes` more. Counted from the upload records, which every server sharing the store sees."""
        if not (self.max_uploads_per_user or self.max_bytes_per_user):
            return
        open_uploads = [u for u in await self._open_uploads(owner) if u.id != excluding]
        wait = _seconds_until_first_expiry(open_uploads)
        if new_upload and self.max_uploads_per_user and len(open_uploads) >= self.max_uploads_per_user:
            raise TooManyRequestsError(
                f"user {owner!r} has {len(open_uploads)} unfinished resumable uploads, the limit "
                f"(TUS_MAX_UPLOADS_PER_USER={self.max_uploads_per_user}): finish or terminate one first",
                retry_after=wait,
            )
        if self.max_bytes_per_user:
            reserved = sum([await self._reserved(u) for u in open_uploads])
            if reserved + more_bytes > self.max_bytes_per_user:
                raise TooManyRequestsError(
                    f"user {owner!r} has {reserved} bytes reserved by unfinished resumable uploads; "
                    f"{more_bytes} more would pass the limit (TUS_MAX_BYTES_PER_USER={self.max_bytes_per_user})",
                    retry_after=wait,
                )

    async def _open_uploads(self, owner: str) -> list[TusUpload]:
        now = time.time()
        return [u for u in await self._all_uploads() if u.owner == owner and u.expires > now]

    async def _all_uploads(self) -> list[TusUpload]:
        """Every readable upload record (the store's: shared by every server using it)."""
        found = []
        for upload_id in await self.store.record_ids():
            try:
                document = await self.store.load_record(upload_id)
                if document is not None:  # else finished or terminated meanwhile
                    found.append(TusUpload(**document))
            except (ValueError, TypeError):
                logger.warning("unreadable record of resumable upload %s", upload_id)
        return found

    async def _reserved(self, upload: TusUpload) -> int:
        """An upload's share of its owner's bytes: its length, or with the length deferred, what is staged."""
        if upload.length is not None:
            return upload.length
        if upload.finished is not None:
            return int(upload.finished["size"])
        try:
            return await self.store.upload_offset(upload.id)
        except NotFoundError:
            return 0

    async def _bytes_left(self, upload: TusUpload, offset: int) -> int | None:
        """How much a deferred-length upload may still stage under its owner's byte cap (None: no cap)."""
        if not self.max_bytes_per_user:
            return None
        others = [u for u in await self._open_uploads(upload.owner) if u.id != upload.id]
        reserved = sum([await self._reserved(u) for u in others])
        return max(0, self.max_bytes_per_user - reserved - offset)

    def _check_length(self, length: int | None) -> None:
        if length is not None and self.max_size is not None and length > self.max_size:
            raise PayloadTooLargeError(
                f"upload of {length} bytes exceeds the maximum file size of {self.max_size} bytes "
                "(MAX_STREAMING_FILE_SIZE)"
            )

    async def status(self, upload_id: str, owner: str) -> TusProgress:
        upload = await self._load(upload_id, owner)
        try:
            offset = upload.finished["size"] if upload.finished else await self.store.upload_offset(upload_id)
        except NotFoundError:  # the record outlived its staged bytes (a crash mid-cleanup)
            await self._remove(upload_id, reason="staged bytes missing")
            raise
        if offset == upload.length and await self.locks.try_acquire(upload_id):
            # every byte is here but completing failed (e.g. storage was down): try again now,
            # since a client that sees the whole offset sends nothing more
            try:
                return TusProgress(upload, offset, await self._complete(upload))
            finally:
                await self.locks.release(upload_id)
        return TusProgress(upload, offset)

    async def append(
        self,
        upload_id: str,
        owner: str,
        offset: int,
        chunks: AsyncIterator[bytes],
        *,
        length: int | None = None,
        check: ChunkCheck | None = None,
    ) -> TusProgress:
        """One PATCH: `chunks` at `offset`; on the last byte the file node gets the content."""
        async with self._holding(upload_id, f"another PATCH to upload {upload_id} is in progress"):
            upload = await self._load(upload_id, owner)
            if upload.finished is not None:  # every byte arrived before; only attaching is left
                return TusProgress(upload, upload.finished["size"], await self._complete(upload))
            if length is not None:
                await self._settle_length(upload, length, offset)
            upload.expires = time.time() + self.expiry_seconds
            await self._save(upload)
            limit = upload.length if upload.length is not None else self.max_size
            room = None if limit is None else limit - offset
            capped = await self._bytes_left(upload, offset) if upload.length is None else None
            if capped is not None and (room is None or capped < room):
                room = capped
            else:
                capped = None
            try:
                new_offset = await self.store.append_upload(
                    upload_id, offset, chunks, limit=room, check=check
                )
            except PayloadTooLargeError:
                if capped is None:
                    raise
                raise TooManyRequestsError(
                    f"user {owner!r} may stage {capped} more bytes for this upload: its unfinished resumable "
                    f"uploads would pass the limit (TUS_MAX_BYTES_PER_USER={self.max_bytes_per_user})",
                    retry_after=_seconds_until_first_expiry([upload]),
                ) from None
            if upload.length is not None and new_offset == upload.length:
                return TusProgress(upload, new_offset, await self._complete(upload))
            return TusProgress(upload, new_offset)

    async def _settle_length(self, upload: TusUpload, length: int, offset: int) -> None:
        """creation-defer-length: the first PATCH that knows the length says so, once."""
        if upload.length is not None:
            if upload.length != length:
                raise InvalidInputError(
                    f"Upload-Length {length} differs from the upload's length {upload.length}"
                )
            return
        self._check_length(length)
        if length < offset:
            raise InvalidInputError(f"Upload-Length {length} is less than the offset {offset}")
        await self._check_caps(upload.owner, length, excluding=upload.id)
        upload.length = length

    async def complete_if_empty(self, upload: TusUpload) -> UploadResult | None:
        """A zero-length upload is complete at creation."""
        return await self._complete(upload) if upload.length == 0 else None

    async def _complete(self, upload: TusUpload) -> UploadResult:
        """Staged bytes -> blob -> FileNode. A failure at either step can be retried (by HEAD or PATCH)."""
        if upload.finished is None:
            written = await self.store.finish_upload(upload.id)
            upload.finished = asdict(written)
            await self._save(upload)
        else:
            written = WrittenBlob(**upload.finished)
        forget = partial(self._forget, upload.id)
        return await commit_for_owner(
            self.files, upload, written, content_type=upload.filetype, authorize=self.authorize, forget=forget
        )

    async def _forget(self, upload_id: str) -> None:
        await self.store.remove_record(upload_id)

    async def terminate(self, upload_id: str, owner: str) -> None:
        async with self._holding(
            upload_id, f"a PATCH to upload {upload_id} is in progress; terminate it after"
        ):
            upload = await self._load(upload_id, owner)
            await self._remove(upload_id, upload.finished, "terminated")

    # --- expiry ----------------------------------------------------------------------------------
    async def remove_expired(self, now: float | None = None) -> int:
        """Drop expired uploads, their staged bytes or multipart uploads, and staged uploads with no record."""
        if not isinstance(self.blobs, ResumableUploads):
            return 0
        now = time.time() if now is None else now
        staged = await self.blobs.staged_upload_ids()  # before the records: a record is written first
        records = set(await self.blobs.record_ids())
        removed = 0
        for upload_id in records:
            removed += await self._remove_if(
                upload_id, lambda record: record is not None and record["expires"] <= now, "expired"
            )
        for upload_id in set(staged) - records:
            removed += await self._remove_if(upload_id, lambda record: record is None, "no upload record")
        if removed:
            logger.info("removed %d expired or abandoned resumable uploads", removed)
        return removed

    # --- uploads whose target went away ------------------------------------------------------------
    async def drop_uploads_into(
        self, space_id: str, graph: str | None = None, file_uri: str | None = None
    ) -> int:
        """Remove at once the in-flight uploads into a deleted space (or a deleted node: `graph` is
        its graph IRI, `file_uri` its URI), releasing their staged bytes; how many. An upload whose
        PATCH is running right now is left to that PATCH: its commit is refused and releases it."""

        def into_target(record: dict | None) -> bool:
            if record is None or record["space_id"] != space_id:
                return False
            if file_uri is None:
                return True
            target_graph = graph_uri(
                record.get("space_uid") or space_id, record["graph_id"] or DEFAULT_GRAPH_ID
            )
            return record["file_uri"] == file_uri and target_graph == graph

        dropped = 0
        for upload_id in await self.store.record_ids():
            dropped += await self._remove_if(upload_id, into_target, f"target of upload deleted ({space_id})")
        return dropped

    async def _remove_if(self, upload_id: str, condition: Callable[[dict | None], bool], reason: str) -> bool:
        """Remove the upload when `condition(its record)` holds, unless a request holds it right now
        (checked once cheaply, then again under the upload's lock)."""
        if not await self._record_meets(upload_id, condition) or not await self.locks.try_acquire(upload_id):
            return False
        try:
            record = await self.store.load_record(upload_id)
            if not condition(record):
                return False
            if record is None:
                await self.releaser.release_staged(upload_id, reason=reason)
            else:
                await self._remove(upload_id, record.get("finished"), reason)
            return True
        except ValueError:
            return False
        finally:
            await self.locks.release(upload_id)

    async def _record_meets(self, upload_id: str, condition: Callable[[dict | None], bool]) -> bool:
        try:
            return condition(await self.store.load_record(upload_id))
        except ValueError:  # unreadable: kept for a person to look at
            logger.warning("unreadable record of resumable upload %s", upload_id)
            return False


def _seconds_until_first_expiry(uploads: list[TusUpload]) -> int:
    """Retry-After for a cap: when the first of these uploads expires at the latest (1 s at least)."""
    if not uploads:
        return 1
    return max(1, math.ceil(min(u.expires for u in uploads) - time.time()))
