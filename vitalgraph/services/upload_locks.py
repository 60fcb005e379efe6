"""Who may work on a resumable upload right now: one request at a time, across every server.

A PATCH holds its upload for its whole body; a second PATCH, a HEAD that would complete the upload, a
DELETE or expiry meanwhile find it taken and step back (409, or skip). `UploadLocks` is the one
interface TusService uses; which implementation serves depends on what the servers share.
"""

from __future__ import annotations

from typing import Protocol


class UploadLocks(Protocol):
    async def try_acquire(self, upload_id: str) -> bool:
        """Take the upload; False when someone holds it."""
        ...

    async def release(self, upload_id: str) -> None:
        """Give the upload back (only the holder calls this)."""
        ...


class ProcessUploadLocks:
    """Locks within one server process."""

    def __init__(self) -> None:
        self._held: set[str] = set()

    async def try_acquire(self, upload_id: str) -> bool:
        if upload_id in self._held:
            return False
        self._held.add(upload_id)
        return True

    async def release(self, upload_id: str) -> None:
        self._held.discard(upload_id)
