"""Garbage collection: unfinished uploads, and blobs that no file node references any more."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from vitalgraph.blobs.base import BlobStore
from vitalgraph.graph.base import GraphStore
from vitalgraph.model.vocab import VG_BLOB_KEY
from vitalgraph.services.blob_keys import ALL_SPACES_PREFIX
from vitalgraph.services.blob_release import BlobReleaser

logger = logging.getLogger("vitalgraph.gc")


@dataclass(frozen=True)
class GcReport:
    unfinished_uploads_removed: int
    orphan_blobs_removed: int
    young_orphans_kept: int
    expired_resumable_uploads_removed: int = 0
    expired_direct_uploads_removed: int = 0


class Maintenance:
    def __init__(
        self,
        graph: GraphStore,
        blobs: BlobStore,
        *,
        expire_resumable: Callable[[], Awaitable[int]] | None = None,
        expire_direct: Callable[[], Awaitable[int]] | None = None,
        releaser: BlobReleaser,
    ) -> None:
        self.graph = graph
        self.blobs = blobs
        self.releaser = releaser  # checks again, under the claim, that it is unreferenced
        self.expire_resumable = expire_resumable  # drops expired resumable (tus) uploads; returns how many
        self.expire_direct = expire_direct  # aborts expired direct-to-S3 uploads; returns how many

    async def collect_garbage(
        self, *, stale_upload_seconds: float, orphan_min_age_seconds: float
    ) -> GcReport:
        """Remove unfinished uploads older than one age and unreferenced blobs older than another.

        A blob that was just written may not be referenced yet (its node is updated right after the
        write completes), so orphans younger than `orphan_min_age_seconds` are left for a later run.
        """
        unfinished = await self.blobs.clean_staging(stale_upload_seconds)
        expired = await self.expire_resumable() if self.expire_resumable is not None else 0
        expired_direct = await self.expire_direct() if self.expire_direct is not None else 0
        referenced = await self._referenced_keys()
        cutoff = datetime.now(UTC) - timedelta(seconds=orphan_min_age_seconds)
        removed = kept = 0
        async for stat in self.blobs.list_keys(ALL_SPACES_PREFIX):
            if stat.key in referenced:
                continue
            if stat.modified > cutoff:
                kept += 1
            else:  # released only if still unreferenced: a commit may have adopted it (deduplication)
                removed += await self.releaser.release([stat.key], reason="orphan: no file node points at it")
        report = GcReport(unfinished, removed, kept, expired, expired_direct)
        if unfinished or removed or expired or expired_direct:
            logger.info("garbage collection: %s", report)
        return report

    async def _referenced_keys(self) -> set[str]:
        rows = await self.graph.select(
            f"SELECT DISTINCT ?key WHERE {{ GRAPH ?g {{ ?s <{VG_BLOB_KEY}> ?key }} }}"
        )
        return {row["key"].value for row in rows}

    async def run_periodically(self, interval_seconds: float, **ages: float) -> None:
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                await self.collect_garbage(**ages)
            except Exception:  # a failed run must not stop later ones
                logger.exception("garbage collection failed")
