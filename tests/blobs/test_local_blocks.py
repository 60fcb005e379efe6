"""The local store's write blocks: `chunk_size` for an upload on its own, at most 128 KiB once more than
CROWDED_WRITES run at once (under 50 concurrent transfers that keeps the event loop's turns short)."""

from __future__ import annotations

import hashlib

import anyio
import pytest

from vitalgraph.blobs import local
from vitalgraph.blobs.local import CROWDED_BLOCK, CROWDED_WRITES, LocalBlobStore

MiB = 1024 * 1024
pytestmark = pytest.mark.anyio


def _piece(n: int) -> bytes:
    return bytes([n % 251]) * (64 * 1024)


async def _slow_body(pieces: int, started: anyio.Event | None = None):
    for n in range(pieces):
        yield _piece(n)
        if started is not None and n == 0:
            started.set()
        await anyio.sleep(0.002)


async def test_a_lone_upload_uses_chunk_size_blocks_and_a_crowd_uses_small_ones(tmp_path, monkeypatch):
    blocks: dict[str, list[int]] = {}
    real_append = local._StagedFile.append

    def recording_append(self, block: bytes) -> None:
        blocks.setdefault(self.path.name, []).append(len(block))
        real_append(self, block)

    monkeypatch.setattr(local._StagedFile, "append", recording_append)
    store = LocalBlobStore(tmp_path / "blobs", chunk_size=MiB)
    await store.open()
    try:
        alone = await store.write("alone", _slow_body(48))  # 3 MiB
        assert list(blocks.values()) == [[MiB] * 3]
        blocks.clear()

        written = {}
        async with anyio.create_task_group() as group:
            for n in range(CROWDED_WRITES + 2):
                started = anyio.Event()

                async def write(key: str = f"crowd{n}", started: anyio.Event = started) -> None:
                    written[key] = await store.write(key, _slow_body(32, started))  # 2 MiB each

                group.start_soon(write)
                await started.wait()  # the writes begin one after another, all overlapping
    finally:
        await store.close()
    sizes = sorted(max(b) for b in blocks.values())
    assert sizes == [CROWDED_BLOCK] * 2 + [MiB] * CROWDED_WRITES  # the 5th and 6th started crowded
    expected = hashlib.sha256(b"".join(_piece(n) for n in range(32))).hexdigest()
    assert {w.sha256 for w in written.values()} == {expected} and alone.size == 3 * MiB
    assert all((tmp_path / "blobs" / key).stat().st_size == 2 * MiB for key in written)
