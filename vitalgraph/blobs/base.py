"""The blob store interface: where file bytes live. Metadata lives in the graph store.

A store writes from an async iterator of chunks and reads byte ranges as an async iterator, so no
file is ever held whole in memory. Writes are all-or-nothing: a key becomes visible only when its
write completes, and a failed or cancelled write leaves nothing behind.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from vitalgraph.blobs.chunking import SizeGuard
from vitalgraph.errors import NotFoundError

if TYPE_CHECKING:
    from vitalgraph.blobs.s3.direct import S3DirectUploads

# The SHA-256 of one part, as S3 checks it (x-amz-checksum-sha256): signed into each presigned part
# URL of a direct upload, so the client must send exactly the value the server planned.
CHECKSUM_HEADER = "x-amz-checksum-sha256"

# Keys are produced by the services from hashes and uuids; anything else is refused so that no
# key can escape the store's directory or prefix, whatever the file URI contained.
_KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$")


def check_key(key: str) -> str:
    if len(key) > 512 or not _KEY_PATTERN.fullmatch(key) or ".." in key:
        raise ValueError(f"invalid blob key {key!r}")
    return key


def check_prefix(prefix: str) -> str:
    """A prefix is a key with a trailing slash, or '' for everything."""
    if prefix:
        check_key(prefix.rstrip("/"))
        if not prefix.endswith("/"):
            raise ValueError(f"blob prefix must end with '/': {prefix!r}")
    return prefix


@dataclass(frozen=True)
class WrittenBlob:
    key: str
    size: int
    sha256: str  # hex digest, computed while the bytes streamed through


@dataclass(frozen=True)
class BlobStat:
    key: str
    size: int
    modified: datetime


class BlobStore(ABC):
    """Async storage of immutable byte objects addressed by key."""

    async def open(self) -> None:
        """Check the store is reachable and ready (create directories, bucket)."""

    async def close(self) -> None:
        """Release connections."""

    @abstractmethod
    async def check(self) -> None:
        """A cheap readiness probe (for /ready): StorageUnavailableError naming the problem, else None."""

    async def write(
        self,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        max_size: int | None = None,
        expected_size: int | None = None,
    ) -> WrittenBlob:
        """Store all of `chunks` under `key`, replacing nothing: keys are written once.

        Raises PayloadTooLargeError as soon as more than `max_size` bytes arrive and
        UploadIncompleteError when `expected_size` is given and not met; in every failure,
        including cancellation, nothing is left under `key` or in staging.
        """
        return await self._write(key, chunks, SizeGuard(max_size, expected_size))

    @abstractmethod
    async def _write(self, key: str, chunks: AsyncIterator[bytes], guard: SizeGuard) -> WrittenBlob:
        """`write`, with its limits in `guard`: every piece is counted by it (`guard.watch` or
        `guard.add`) and `guard.finish()` passes before the blob becomes visible."""

    @abstractmethod
    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Bytes `start`..`end` inclusive (end None = to the last byte), in pieces of about the chunk size.

        Call `stat` first when a missing key must be reported before any byte is sent.
        """

    async def copy(self, source_key: str, target_key: str) -> WrittenBlob:
        """Copy one key's bytes to a new key inside the store (never through a client), hashing the
        copy as it is written. Stores override this with their own cheaper copy (a hard link,
        S3 CopyObject); this fallback streams the bytes through the server."""
        return await self.write(target_key, self.read(source_key))

    async def open_pinned(self, key: str) -> PinnedBlob:
        """The blob as it is now, for a download of any number of ranges: every range comes from this
        one version. A store that can hold it open (local files) serves those bytes even if the key
        is released meanwhile; otherwise a range read after the key went raises NotFoundError, so the
        download fails rather than splicing. NotFoundError at once when there is no such key."""
        return _PinnedByKey(self, await self.stat(key))

    @abstractmethod
    async def stat(self, key: str) -> BlobStat:
        """Size and modification time; NotFoundError when there is no such key."""

    @abstractmethod
    async def delete(self, key: str) -> bool:
        """Remove one key; False if it was not there."""

    @abstractmethod
    async def delete_prefix(self, prefix: str) -> int:
        """Remove every key under `prefix`; returns how many."""

    @abstractmethod
    def list_keys(self, prefix: str = "") -> AsyncIterator[BlobStat]:
        """Every stored key under `prefix` (for garbage collection and tests)."""

    @abstractmethod
    async def clean_staging(self, older_than_seconds: float) -> int:
        """Remove unfinished writes (temp files, staging objects, multipart uploads) older than the age."""

    def direct_uploads(self) -> S3DirectUploads | None:
        """Optional capability: uploads that go from the client straight into the store through
        presigned part URLs. None where the store has none (the local store)."""
        return None


class PinnedBlob(ABC):
    """One version of one blob, open for reading ranges until `close`."""

    def __init__(self, stat: BlobStat) -> None:
        self.stat = stat

    @property
    def size(self) -> int:
        return self.stat.size

    @abstractmethod
    def read(self, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes `start`..`end` inclusive of this version."""

    async def close(self) -> None:
        """Let the version go (idempotent)."""


class _PinnedByKey(PinnedBlob):
    """For stores that cannot hold a version open: read by key, and say so when the key went."""

    def __init__(self, store: BlobStore, stat: BlobStat) -> None:
        super().__init__(stat)
        self.store = store

    async def read(self, start: int, end: int) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.store.read(self.stat.key, start, end):
                yield chunk
        except NotFoundError:
            raise NotFoundError(
                f"blob {self.stat.key} was released during the download (the file was replaced or deleted)"
            ) from None


# Optional capabilities: a store has one when it has the method; callers check with isinstance.
PRESIGN_MAX_SECONDS = 7 * 24 * 3600  # SigV4 presigned URLs live at most a week


@runtime_checkable
class PresigningBlobStore(Protocol):
    """A store whose objects a client can fetch directly, with a time-limited signed URL (S3)."""

    async def presign_download(
        self,
        key: str,
        expires_seconds: int,
        content_disposition: str | None = None,
        content_type: str | None = None,
    ) -> str:
        """A GET URL valid for `expires_seconds` (1 to PRESIGN_MAX_SECONDS) that serves the key's bytes
        with these Content-Disposition and Content-Type headers."""
        ...
