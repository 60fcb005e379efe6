"""Progress logging for large transfers: one INFO line every N MiB, with the rate so far."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

from vitalgraph.blobs.chunking import close_stream

logger = logging.getLogger("vitalgraph.transfer")
MiB = 1024 * 1024


async def logged_transfer(
    chunks: AsyncIterator[bytes], *, label: str, every_mib: int
) -> AsyncIterator[bytes]:
    started = time.monotonic()
    done = 0
    next_mark = every_mib * MiB
    try:
        async for chunk in chunks:
            done += len(chunk)
            if done >= next_mark:
                elapsed = max(time.monotonic() - started, 1e-6)
                logger.info("%s: %d MiB so far, %.0f MiB/s", label, done // MiB, done / MiB / elapsed)
                next_mark += every_mib * MiB
            yield chunk
    finally:
        await close_stream(chunks)
    if done >= every_mib * MiB:
        elapsed = max(time.monotonic() - started, 1e-6)
        logger.info(
            "%s: done, %d MiB in %.1f s (%.0f MiB/s)", label, done // MiB, elapsed, done / MiB / elapsed
        )
