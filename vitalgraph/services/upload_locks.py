"""Who may work on a resumable upload right now: one request at a time, across every server.

A PATCH holds its upload for its whole body; a second PATCH, a HEAD that would complete the upload, a
DELETE or expiry meanwhile find it taken and step back (409, or skip). The lock is a claim in the graph
store (`GraphStore.claim`), which every server sharing the store sees, so a PATCH through one replica
keeps out a PATCH to the same upload through any other. A claim lasts LOCK_TTL_SECONDS and is renewed
while its request runs, so the lock of a server that died mid-PATCH frees itself that long after.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Protocol

import anyio

from vitalgraph.graph.base import GraphStore

logger = logging.getLogger("vitalgraph.tus")

LOCKS_GRAPH = "urn:vitalgraph:locks"
LOCK_TTL_SECONDS = 15.0
RENEW_EVERY_SECONDS = LOCK_TTL_SECONDS / 3


class UploadLocks(Protocol):
    """The one interface TusService locks uploads through."""

    async def try_acquire(self, upload_id: str) -> bool:
        """Take the upload; False when someone holds it."""
        ...

    async def release(self, upload_id: str) -> None:
        """Give the upload back (only the holder calls this)."""
        ...


class GraphUploadLocks:
    """Upload locks as claims in the shared graph store, renewed while held."""

    def __init__(self, graph_store: GraphStore, *, ttl_seconds: float = LOCK_TTL_SECONDS) -> None:
        self.graph_store = graph_store
        self.ttl_seconds = ttl_seconds
        self._held: dict[str, tuple[str, asyncio.Task[None]]] = {}  # upload id -> (owner, renewal)

    async def try_acquire(self, upload_id: str) -> bool:
        if upload_id in self._held:  # this process holds it already
            return False
        owner = uuid.uuid4().hex  # one per holder: a claim by the same owner would renew, not refuse
        if not await self.graph_store.claim(LOCKS_GRAPH, _key(upload_id), owner, self.ttl_seconds):
            return False
        self._held[upload_id] = (owner, asyncio.create_task(self._renew(upload_id, owner)))
        return True

    async def _renew(self, upload_id: str, owner: str) -> None:
        while True:
            await asyncio.sleep(self.ttl_seconds / 3)
            try:
                if not await self.graph_store.claim(LOCKS_GRAPH, _key(upload_id), owner, self.ttl_seconds):
                    logger.warning(
                        "lost the lock of upload %s (another server took it after it expired)", upload_id
                    )
                    return
            except Exception:  # the graph store is down for a moment: try again at the next turn
                logger.warning("could not renew the lock of upload %s", upload_id, exc_info=True)

    async def release(self, upload_id: str) -> None:
        held = self._held.pop(upload_id, None)
        if held is None:
            return
        owner, renewal = held
        renewal.cancel()
        with anyio.CancelScope(shield=True):
            await asyncio.gather(renewal, return_exceptions=True)
            await self.graph_store.release(LOCKS_GRAPH, _key(upload_id), owner)


def _key(upload_id: str) -> str:
    return f"tus-upload:{upload_id}"
