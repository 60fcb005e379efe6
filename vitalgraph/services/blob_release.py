"""Releasing stored bytes: the one path by which the services remove blobs and staged uploads.

A blob is released when nothing may point at it any more: the node that held it was changed or
deleted (by a compare-and-set that succeeded), its upload was refused at commit, or its space went.
Releasing happens at once, never left for the garbage collector; gc only catches what a crash or a
failing store left behind (a failed release here is logged and then is exactly such a leftover).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import anyio

from vitalgraph.blobs.base import BlobStore
from vitalgraph.blobs.resumable import ResumableUploads
from vitalgraph.errors import StorageUnavailableError

logger = logging.getLogger("vitalgraph.blobs")


class BlobReleaser:
    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    async def release(self, keys: Iterable[str | None], *, reason: str) -> int:
        """Remove each key (None and repeats are skipped); how many were there. Runs to the end even
        when the caller is cancelled: a half-released set would be orphans."""
        removed = 0
        with anyio.CancelScope(shield=True):
            for key in dict.fromkeys(k for k in keys if k):
                try:
                    removed += await self.blobs.delete(key)
                except (StorageUnavailableError, OSError) as exc:
                    logger.warning("could not release blob %s (%s): %s; gc will remove it", key, reason, exc)
        return removed

    async def release_prefix(self, prefix: str, *, reason: str) -> int:
        """Remove every blob under `prefix` (a space's); a failure is raised, so the caller stops."""
        with anyio.CancelScope(shield=True):
            removed = await self.blobs.delete_prefix(prefix)
        logger.info("released %d blobs under %s (%s)", removed, prefix, reason)
        return removed

    async def release_staged(self, upload_id: str, *, reason: str) -> bool:
        """Drop a resumable upload's staged bytes (or its unfinished S3 multipart upload)."""
        if not isinstance(self.blobs, ResumableUploads):
            return False
        with anyio.CancelScope(shield=True):
            try:
                return await self.blobs.terminate_upload(upload_id)
            except (StorageUnavailableError, OSError) as exc:
                logger.warning("could not release staged upload %s (%s): %s", upload_id, reason, exc)
                return False
