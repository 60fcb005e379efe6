"""Direct-to-S3 uploads the server still verifies (docs/api.md, "Direct-to-S3 uploads").

start:    the client names the node, the size, the part size and each part's SHA-256; the server checks
          the space, node, quota and size limits, begins a multipart upload and hands out one presigned
          URL per part with that part's SHA-256 signed into it.
complete: the parts S3 holds must be exactly 1..n with the sizes the plan implies; the upload is
          completed, the object read back once to compute the whole-file SHA-256 and each part's (so a
          part is checked by the server itself, whatever the store verified), and only then is the node
          pointed at it through FileService.attach_content (authorization, quota and the per-node
          compare-and-set at commit). Any refusal aborts the upload and releases its bytes.
abort / expiry: the multipart upload is aborted and the state removed; gc does it for expired ones.

The state lives in the bucket (S3DirectUploads), so every replica can serve every step.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import math
import time
import uuid
from dataclasses import asdict, dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from vitalgraph.blobs.base import CHECKSUM_HEADER, BlobStore, WrittenBlob
from vitalgraph.errors import (
    FeatureDisabledError,
    GoneError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    QuotaExceededError,
)
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

if TYPE_CHECKING:  # not at run time: a server on the local store never loads the S3 client
    from vitalgraph.blobs.s3.direct import S3DirectUploads

logger = logging.getLogger("vitalgraph.direct")

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB  # S3's smallest part but the last
MAX_PART_SIZE = 5 * 1024 * MiB
MAX_PARTS = 10_000
READ_BACK_CHUNK = 1 * MiB


@dataclass
class DirectUpload:
    """What the server remembers about one direct upload (stored as JSON in the bucket)."""

    id: str
    owner: str
    space_id: str
    space_uid: str
    graph_id: str | None
    file_uri: str
    key: str
    s3_upload_id: str
    size: int
    part_size: int
    part_sha256s: list[str]
    expires: float
    sha256: str | None = None  # hex, when the client declared the whole file's digest
    content_type: str | None = None
    filename: str | None = None

    @property
    def part_count(self) -> int:
        return len(self.part_sha256s)

    def part_length(self, number: int) -> int:
        return min(self.part_size, self.size - (number - 1) * self.part_size)


@dataclass(frozen=True)
class DirectStart:
    upload: DirectUpload
    part_urls: list[str]

    @property
    def headers(self) -> list[dict[str, str]]:
        """The header each part's PUT must carry: it is signed into that part's URL."""
        return [{CHECKSUM_HEADER: checksum} for checksum in self.upload.part_sha256s]


def parse_part_sha256(value: str, number: int) -> str:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise InvalidInputError(
            f"part {number}'s SHA-256 must be 32 bytes in base64 (44 characters), got {value[:60]!r}"
        )
    return base64.b64encode(raw).decode("ascii")


def plan_parts(size: int, part_size: int, part_sha256s: list[str]) -> list[str]:
    """Checked part checksums: `size` in parts of `part_size` (the last may be shorter)."""
    if size < 1:
        raise InvalidInputError("size must be at least 1 byte: upload empty files through the server")
    if not MIN_PART_SIZE <= part_size <= MAX_PART_SIZE and part_size < size:
        raise InvalidInputError(
            f"part_size {part_size} must be between {MIN_PART_SIZE} and {MAX_PART_SIZE} bytes "
            "(S3's limits) unless the file is one part"
        )
    if part_size < 1:
        raise InvalidInputError("part_size must be at least 1 byte")
    count = math.ceil(size / part_size)
    if count > MAX_PARTS:
        raise InvalidInputError(
            f"{count} parts of {part_size} bytes exceed S3's {MAX_PARTS}: raise part_size"
        )
    if len(part_sha256s) != count:
        raise InvalidInputError(
            f"{size} bytes in parts of {part_size} make {count} parts, but {len(part_sha256s)} "
            "part SHA-256 values were given"
        )
    return [parse_part_sha256(value, number) for number, value in enumerate(part_sha256s, start=1)]


class DirectUploadService:
    def __init__(
        self,
        files: FileService,
        blobs: BlobStore,
        *,
        enabled: bool,
        expiry_seconds: int,
    ) -> None:
        self.files = files
        self.blobs = blobs
        self.enabled = enabled
        self.expiry_seconds = expiry_seconds
        self.releaser = files.releaser
        self._s3 = blobs.direct_uploads()
        # the owner's write grant on the space, checked again at commit (set by the container)
        self.authorize: OwnerCheck | None = None

    async def _direct(self) -> S3DirectUploads:
        """The store's direct uploads, or FeatureDisabledError (404) naming why there are none."""
        if not self.enabled:
            raise FeatureDisabledError(
                "direct-to-S3 uploads are off on this server (DIRECT_UPLOADS_ENABLED=false): "
                "upload through the server"
            )
        if self._s3 is None:
            raise FeatureDisabledError(
                f"direct-to-S3 uploads need the S3 blob store; this server uses "
                f"{type(self.blobs).__name__}: upload through the server"
            )
        why_not = await self._s3.checksum_support()
        if why_not is not None:
            raise FeatureDisabledError(
                f"direct-to-S3 uploads are not offered: {why_not}; upload through the server"
            )
        return self._s3

    # ------------------------------------------------------------ start

    async def start(
        self,
        owner: str,
        space_id: str,
        graph_id: str | None,
        file_uri: str,
        *,
        size: int,
        part_size: int,
        part_sha256s: list[str],
        sha256: str | None = None,
        content_type: str | None = None,
        filename: str | None = None,
    ) -> DirectStart:
        direct = await self._direct()
        check_uri_length(file_uri, "uri")
        checksums = plan_parts(size, part_size, part_sha256s)
        if sha256 is not None and (len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256)):
            raise InvalidInputError("sha256 must be 64 lowercase hex digits")
        content_type = check_content_type(content_type)
        filename = check_filename(filename)
        space = await self.files.spaces.require(space_id)
        node = await self.files.get_file(space_id, graph_id, file_uri)  # 404 for a missing node
        max_size, limit = await self.files._upload_allowance(space, node.fileLength or 0)
        if max_size is not None and size > max_size:
            if limit is not None:
                raise QuotaExceededError(
                    f"quota of {limit.scope} exceeded: {size} bytes announced, {max_size} left for this file"
                )
            raise PayloadTooLargeError(f"{size} bytes exceed the largest upload allowed, {max_size} bytes")
        key = new_content_key(space.uid, graph_id or DEFAULT_GRAPH_ID, file_uri)
        upload = DirectUpload(
            id=uuid.uuid4().hex,
            owner=owner,
            space_id=space_id,
            space_uid=space.uid,
            graph_id=graph_id,
            file_uri=file_uri,
            key=key,
            s3_upload_id=await direct.begin(key, part_size),
            size=size,
            part_size=part_size,
            part_sha256s=checksums,
            expires=time.time() + self.expiry_seconds,
            sha256=sha256,
            content_type=content_type,
            filename=filename,
        )
        try:
            await direct.save_state(upload.id, asdict(upload))
        except BaseException:
            await direct.abort(key, upload.s3_upload_id)
            raise
        return DirectStart(upload, await self._urls(direct, upload))

    async def _urls(self, direct: S3DirectUploads, upload: DirectUpload) -> list[str]:
        lifetime = max(1, int(upload.expires - time.time()))
        return await direct.part_urls(upload.key, upload.s3_upload_id, upload.part_sha256s, lifetime)

    # ------------------------------------------------------------ status (resume)

    async def status(self, owner: str, upload_id: str) -> tuple[DirectStart, list[int]]:
        """The upload's part URLs again and the part numbers S3 already holds, to resume it."""
        direct = await self._direct()
        upload = await self._load(direct, upload_id, owner)
        held = await direct.parts(upload.key, upload.s3_upload_id) or []
        return DirectStart(upload, await self._urls(direct, upload)), sorted(p["PartNumber"] for p in held)

    # ------------------------------------------------------------ complete

    async def complete(self, owner: str, upload_id: str) -> UploadResult:
        direct = await self._direct()
        upload = await self._load(direct, upload_id, owner)
        parts = await direct.parts(upload.key, upload.s3_upload_id)
        if parts is None:
            await direct.delete_state(upload.id)
            raise GoneError(f"direct upload {upload_id} was aborted or already completed")
        problem = _parts_problem(upload, parts)
        if problem is not None:
            await self._refuse(direct, upload, "its parts were wrong")
            raise InvalidInputError(f"direct upload {upload_id} refused: {problem}; the upload was aborted")
        try:
            await direct.complete(upload.key, upload.s3_upload_id, parts, upload.part_sha256s)
        except InvalidInputError as refused:
            await self._refuse(direct, upload, "S3 refused its parts")
            raise InvalidInputError(
                f"direct upload {upload_id} refused: {refused}; the upload was aborted"
            ) from None
        written = await self._read_back(upload)
        forget = partial(direct.delete_state, upload.id)
        return await commit_for_owner(
            self.files,
            upload,
            written,
            content_type=upload.content_type,
            authorize=self.authorize,
            forget=forget,
        )

    async def _read_back(self, upload: DirectUpload) -> WrittenBlob:
        """Read the completed object once: whole-file and per-part SHA-256 and size, checked against the
        plan; on a mismatch the object is released and the upload refused."""
        whole = hashlib.sha256()
        part = hashlib.sha256()
        size = in_part = 0
        number = 1
        problem: str | None = None
        async for chunk in self.blobs.read(upload.key):
            whole.update(chunk)
            size += len(chunk)
            view = memoryview(chunk)
            while view and problem is None:
                take = (
                    min(len(view), upload.part_length(number) - in_part) if number <= upload.part_count else 0
                )
                if take <= 0:
                    problem = f"the object holds more than the {upload.size} bytes announced"
                    break
                part.update(view[:take])
                in_part += take
                view = view[take:]
                if in_part == upload.part_length(number):
                    if base64.b64encode(part.digest()).decode("ascii") != upload.part_sha256s[number - 1]:
                        problem = f"part {number}'s bytes do not have the SHA-256 announced for it"
                    number, in_part, part = number + 1, 0, hashlib.sha256()
        sha256 = whole.hexdigest()
        if problem is None and size != upload.size:
            problem = f"the object holds {size} bytes, {upload.size} were announced"
        if problem is None and upload.sha256 is not None and sha256 != upload.sha256:
            problem = f"the file's SHA-256 is {sha256}, {upload.sha256} was announced"
        if problem is not None:
            direct = await self._direct()
            await direct.delete_state(upload.id)
            await self.releaser.release(
                [upload.key], reason=f"direct upload {upload.id} failed its read-back"
            )
            raise InvalidInputError(f"direct upload {upload.id} refused: {problem}; nothing was kept")
        return WrittenBlob(upload.key, size, sha256)

    # ------------------------------------------------------------ abort and expiry

    async def abort(self, owner: str, upload_id: str) -> None:
        direct = await self._direct()
        upload = await self._load(direct, upload_id, owner)
        await self._refuse(direct, upload, "aborted by the client")

    async def _refuse(self, direct: S3DirectUploads, upload: DirectUpload, reason: str) -> None:
        await direct.abort(upload.key, upload.s3_upload_id)
        await direct.delete_state(upload.id)
        logger.info("direct upload %s to %s ended: %s", upload.id, upload.file_uri, reason)

    async def remove_expired(self, now: float | None = None) -> int:
        """Abort direct uploads past their expiry and drop their state (gc runs this). An object a crash
        left completed but not committed is an unreferenced blob: gc's orphan sweep removes it."""
        if self._s3 is None:
            return 0
        now = time.time() if now is None else now
        removed = 0
        async for upload_id in self._s3.upload_ids():
            state = await self._s3.load_state(upload_id)
            if state is None:
                continue
            upload = DirectUpload(**state)
            if upload.expires <= now:
                await self._refuse(self._s3, upload, "expired")
                removed += 1
        return removed

    async def _load(self, direct: S3DirectUploads, upload_id: str, owner: str) -> DirectUpload:
        missing = f"no direct upload {upload_id}: it completed, was aborted or expired, or never existed"
        if len(upload_id) != 32 or any(c not in "0123456789abcdef" for c in upload_id):
            raise NotFoundError(missing)
        state = await direct.load_state(upload_id)
        if state is None:
            raise NotFoundError(missing)
        upload = DirectUpload(**state)
        if upload.owner != owner:  # someone else's upload is, for this caller, not there
            raise NotFoundError(missing)
        if upload.expires <= time.time():
            await self._refuse(direct, upload, "expired")
            raise GoneError(f"direct upload {upload_id} expired; start a new one")
        return upload


def _parts_problem(upload: DirectUpload, parts: list[dict[str, Any]]) -> str | None:
    """Why the parts S3 holds are not exactly the planned ones, or None."""
    numbers = sorted(part["PartNumber"] for part in parts)
    expected = list(range(1, upload.part_count + 1))
    missing = sorted(set(expected) - set(numbers))
    extra = sorted(set(numbers) - set(expected))
    if missing:
        return f"part(s) {_listed(missing)} of {upload.part_count} were not uploaded"
    if extra:
        return f"part(s) {_listed(extra)} were not planned (the upload has {upload.part_count})"
    for part in parts:
        number, length = part["PartNumber"], upload.part_length(part["PartNumber"])
        if part.get("Size") != length:
            return f"part {number} holds {part.get('Size')} bytes, {length} were planned"
        listed = part.get("ChecksumSHA256")
        if listed is not None and listed != upload.part_sha256s[number - 1]:
            return f"part {number}'s SHA-256 {listed} differs from the one announced"
    return None


def _listed(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:10])
    return shown + (f" and {len(numbers) - 10} more" if len(numbers) > 10 else "")
