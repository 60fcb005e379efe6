"""The local store makes a completed write durable: the file, then every directory entry leading to it."""

from __future__ import annotations

import os

import pytest

from vitalgraph.blobs import local
from vitalgraph.blobs.local import LocalBlobStore

UPLOAD_ID = "0123456789abcdef0123456789abcdef"


async def _chunks():
    yield b"a" * 1000
    yield b"b" * 1000


def _record_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, the path of every file or directory the local store fsyncs, in order."""
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(local.os, "fsync", recording_fsync)
    return synced


@pytest.mark.anyio
async def test_write_fsyncs_file_then_new_directories_then_the_renamed_entry(tmp_path, monkeypatch):
    synced = _record_fsyncs(monkeypatch)
    store = LocalBlobStore(tmp_path / "blobs")
    await store.open()
    try:
        written = await store.write("spaces/aa/bb/key1", _chunks())
    finally:
        await store.close()
    root = tmp_path / "blobs"
    assert written.size == 2000
    assert synced[0].startswith(str(root / ".staging")), "the data must be synced before the rename"
    # each directory created for the key is recorded in its parent, and the rename in the last one
    assert synced[1:] == [
        str(root),
        str(root / "spaces"),
        str(root / "spaces/aa"),
        str(root / "spaces/aa/bb"),
    ]
    assert (root / "spaces/aa/bb/key1").read_bytes() == b"a" * 1000 + b"b" * 1000


@pytest.mark.anyio
async def test_finishing_a_resumable_upload_syncs_new_directories_then_the_renamed_entry(
    tmp_path, monkeypatch
):
    store = LocalBlobStore(tmp_path / "blobs")
    await store.open()
    root = tmp_path / "blobs"
    try:
        await store.begin_upload(UPLOAD_ID, "spaces/cc/dd/key2")
        await store.append_upload(UPLOAD_ID, 0, _chunks())
        synced = _record_fsyncs(monkeypatch)  # from here on: what finishing syncs
        written = await store.finish_upload(UPLOAD_ID)
    finally:
        await store.close()
    assert written.size == 2000
    assert synced == [str(root), str(root / "spaces"), str(root / "spaces/cc"), str(root / "spaces/cc/dd")]
    assert (root / "spaces/cc/dd/key2").read_bytes() == b"a" * 1000 + b"b" * 1000
