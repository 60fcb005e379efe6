"""Resumable uploads: an optional blob-store capability, in the manner of tusd's storage extensions.

A resumable upload is staged under an id the caller chooses, grows by appends at its current offset,
and becomes an ordinary immutable blob under its final key when finished. Services check for the
capability with `isinstance(store, ResumableUploads)`.

An append without a checksum keeps every byte it wrote even if the stream breaks off (the tus rule:
the client asks for the offset and goes on from there). An append with a `ChunkCheck` is all or
nothing: its bytes count only once the whole chunk has arrived and matched the checksum.

SHA-256 of the whole upload: hashlib state cannot be saved, so `RunningDigests` keeps it in memory
between appends. When it is missing (the process restarted) or does not cover exactly the staged
bytes, the store recomputes it from the staged bytes when the upload finishes.
"""

from __future__ import annotations

import base64
import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from vitalgraph.blobs.base import WrittenBlob
from vitalgraph.errors import (
    ChecksumMismatchError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
)

CHECKSUM_ALGORITHMS = ("sha1", "sha256")
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


def check_upload_id(upload_id: str) -> str:
    """Ids name staging files: only the 32 hex digits the services generate are accepted."""
    if not _UPLOAD_ID.fullmatch(upload_id):
        raise NotFoundError(f"no upload with id {upload_id[:64]!r}")
    return upload_id


@dataclass
class ChunkCheck:
    """A checksum the client sent for one chunk (tus `Upload-Checksum: <algorithm> <base64 digest>`)."""

    algorithm: str
    expected: bytes
    hasher: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.algorithm not in CHECKSUM_ALGORITHMS:
            raise InvalidInputError(
                f"unsupported checksum algorithm {self.algorithm[:32]!r}; use one of {', '.join(CHECKSUM_ALGORITHMS)}"
            )
        self.hasher = hashlib.new(self.algorithm)
        if len(self.expected) != self.hasher.digest_size:  # refuse before reading the chunk, not after
            raise InvalidInputError(
                f"Upload-Checksum {self.algorithm} digest must be {self.hasher.digest_size} bytes "
                f"(base64), got {len(self.expected)}"
            )

    @classmethod
    def parse(cls, header: str | None) -> ChunkCheck | None:
        if not header:
            return None
        algorithm, _, encoded = header.strip().partition(" ")
        try:
            expected = base64.b64decode(encoded.strip(), validate=True)
        except ValueError:
            raise InvalidInputError("Upload-Checksum must be '<algorithm> <base64 digest>'") from None
        return cls(algorithm.lower(), expected)

    def verify(self) -> None:
        if self.hasher.digest() != self.expected:
            raise ChecksumMismatchError(
                f"the chunk's {self.algorithm} does not match its Upload-Checksum; the chunk was discarded"
            )


class RunningDigests:
    """The SHA-256 of each staged upload so far, with how many bytes it covers; in memory only."""

    def __init__(self) -> None:
        self._by_id: dict[str, tuple[Any, int]] = {}

    def resume(self, upload_id: str, offset: int) -> Any | None:
        """A copy to feed this append's bytes into, or None when the state is lost (recompute at the end)."""
        if offset == 0:
            return hashlib.sha256()
        known = self._by_id.get(upload_id)
        if known is None or known[1] != offset:
            return None
        return known[0].copy()

    def commit(self, upload_id: str, hasher: Any | None, covered: int) -> None:
        if hasher is None:
            self._by_id.pop(upload_id, None)
        else:
            self._by_id[upload_id] = (hasher, covered)

    def take(self, upload_id: str, size: int) -> str | None:
        """The hex digest if it covers all `size` bytes; the state is forgotten either way."""
        known = self._by_id.pop(upload_id, None)
        if known is None or known[1] != size:
            return None
        return known[0].hexdigest()

    def forget(self, upload_id: str) -> None:
        self._by_id.pop(upload_id, None)


class AppendCounter:
    """What one append has written, its running hashes, and the limit on how much it may add."""

    def __init__(self, digest: Any | None, check: ChunkCheck | None, limit: int | None) -> None:
        self.digest = digest
        self.check = check
        self.limit = limit
        self.admitted = 0  # counted as blocks are handed to the writer, which may still be busy
        self.written = 0

    def admit(self, size: int) -> None:
        """Refuse a block that would take the upload past its limit, before any of it is written."""
        if self.limit is not None and self.admitted + size > self.limit:
            raise PayloadTooLargeError(
                f"the chunk goes past the upload's length (at most {self.limit} more bytes were expected)"
            )
        self.admitted += size

    def hashed(self, block: bytes | memoryview) -> None:
        """Called on the I/O thread after `block` is safely written."""
        if self.digest is not None:
            self.digest.update(block)
        if self.check is not None:
            self.check.hasher.update(block)
        self.written += len(block)


def check_offset(offset: int, actual: int) -> None:
    if offset != actual:
        raise ConflictError(f"Upload-Offset {offset} does not match the upload's current offset {actual}")


class ResumableUploads(ABC):
    """The capability a BlobStore has (as a base class) to stage uploads that grow over many requests."""

    _digests: RunningDigests  # each staged upload's SHA-256 so far, kept by the store

    @abstractmethod
    async def begin_upload(self, upload_id: str, key: str) -> None:
        """Stage an empty upload that will become blob `key` when finished."""

    @abstractmethod
    async def upload_offset(self, upload_id: str) -> int:
        """How many bytes are staged; NotFoundError for an unknown id."""

    async def append_upload(
        self,
        upload_id: str,
        offset: int,
        chunks: AsyncIterator[bytes],
        *,
        limit: int | None = None,
        check: ChunkCheck | None = None,
    ) -> int:
        """Append `chunks` at `offset` (ConflictError if that is not the staged size); returns the new offset.

        Without `check`, the bytes written stay when the stream fails. With it, nothing stays unless the
        whole chunk matches (ChecksumMismatchError otherwise). More than `limit` bytes: PayloadTooLargeError.
        """
        counter = AppendCounter(self._digests.resume(upload_id, offset), check, limit)
        new_offset = await self._append(upload_id, offset, chunks, counter)
        self._digests.commit(upload_id, counter.digest, offset + counter.written)
        return new_offset

    @abstractmethod
    async def _append(
        self, upload_id: str, offset: int, chunks: AsyncIterator[bytes], counter: AppendCounter
    ) -> int:
        """`append_upload`, counted by `counter` (its limit, `counter.check` and the running digest):
        check the offset, write, and when the stream fails keep what arrived, in the digest too,
        unless there is a check."""

    @abstractmethod
    async def finish_upload(self, upload_id: str) -> WrittenBlob:
        """Turn the staged bytes into the blob under the key given at `begin_upload`."""

    @abstractmethod
    async def terminate_upload(self, upload_id: str) -> bool:
        """Drop a staged upload and its bytes; False if there was none."""

    @abstractmethod
    async def staged_upload_ids(self) -> list[str]:
        """Every staged upload, for garbage collection of ones whose record is gone."""

    # The caller's record of each upload (tus: length, owner, metadata, expiry), kept beside the staged
    # bytes like tusd's `.info`, so whoever can reach the bytes (every server sharing a bucket) has it too.
    @abstractmethod
    async def save_record(self, upload_id: str, record: dict[str, Any]) -> None:
        """Store (replace) the record, durably."""

    @abstractmethod
    async def load_record(self, upload_id: str) -> dict[str, Any] | None:
        """The record, or None when there is none."""

    @abstractmethod
    async def remove_record(self, upload_id: str) -> None:
        """Drop the record; nothing happens when there is none."""

    @abstractmethod
    async def record_ids(self) -> list[str]:
        """The id of every record, for expiry."""
