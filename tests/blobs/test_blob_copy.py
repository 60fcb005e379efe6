"""BlobStore.copy: the bytes are copied inside the store (a hard link or copy on disk, CopyObject or
UploadPartCopy on S3), hashed as they land, and a failed copy leaves nothing behind."""

from __future__ import annotations

import hashlib
import os
import random

import pytest

from tests.blobs.conftest import MiB, StagingProbe, make_s3_store
from vitalgraph.blobs.base import BlobStore
from vitalgraph.blobs.local import LocalBlobStore
from vitalgraph.errors import NotFoundError

pytestmark = pytest.mark.anyio


async def _one(data: bytes):
    yield data


async def stored(store: BlobStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in store.read(key)])


async def test_copy_gives_identical_bytes_under_a_new_key(blob_store: BlobStore) -> None:
    data = random.Random(3).randbytes(3 * MiB + 17)
    await blob_store.write("spaces/a/src", _one(data))
    written = await blob_store.copy("spaces/a/src", "spaces/b/dst")
    assert (written.key, written.size, written.sha256) == (
        "spaces/b/dst",
        len(data),
        hashlib.sha256(data).hexdigest(),
    )
    assert await stored(blob_store, "spaces/b/dst") == data
    await blob_store.delete("spaces/a/src")  # the copy does not depend on its source
    assert await stored(blob_store, "spaces/b/dst") == data


async def test_copy_of_a_missing_key_is_not_found_and_leaves_nothing(
    blob_store: BlobStore, staging: StagingProbe
) -> None:
    with pytest.raises(NotFoundError):
        await blob_store.copy("spaces/a/none", "spaces/b/dst")
    with pytest.raises(NotFoundError):
        await blob_store.stat("spaces/b/dst")
    assert staging.unfinished() == []


async def test_local_copy_is_a_hard_link(tmp_path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    await store.open()
    try:
        await store.write("spaces/a/src", _one(b"x" * 1000))
        await store.copy("spaces/a/src", "spaces/b/dst")
        src, dst = store._path("spaces/a/src"), store._path("spaces/b/dst")
        assert os.stat(src).st_ino == os.stat(dst).st_ino
        assert list(store.staging.iterdir()) == []
    finally:
        await store.close()


async def test_s3_copy_above_the_copyobject_limit_uses_uploadpartcopy(s3_server, s3_prefix) -> None:
    store = make_s3_store(s3_server.settings(prefix=s3_prefix), S3_PART_SIZE=5 * MiB)
    store.copy_object_limit = 1 * MiB  # stands in for S3's 5 GiB CopyObject limit
    store.copy_part_size = 5 * MiB  # S3's smallest part
    await store.open()
    try:
        data = random.Random(5).randbytes(12 * MiB + 3)
        await store.write("spaces/a/big", _one(data))
        calls = []
        real = store.client.upload_part_copy

        async def counted(**kwargs):
            calls.append(kwargs["CopySourceRange"])
            return await real(**kwargs)

        store.client.upload_part_copy = counted
        written = await store.copy("spaces/a/big", "spaces/b/big")
        assert calls == [
            f"bytes=0-{5 * MiB - 1}",
            f"bytes={5 * MiB}-{10 * MiB - 1}",
            f"bytes={10 * MiB}-{len(data) - 1}",
        ]
        assert written.sha256 == hashlib.sha256(data).hexdigest()
        assert await stored(store, "spaces/b/big") == data
        assert StagingProbe(store, s3_server).unfinished() == []
    finally:
        await store.close()
