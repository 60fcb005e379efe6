"""The BlobStore contract, run against every store (local directory and S3 on SeaweedFS)."""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import AsyncIterator, Callable

import anyio
import pytest

from tests.blobs.conftest import StagingProbe, part_size
from vitalgraph.blobs.base import BlobStore
from vitalgraph.errors import NotFoundError, PayloadTooLargeError, UploadIncompleteError

pytestmark = pytest.mark.anyio


class ClientWentAway(Exception):
    """What the request stream raises when the uploading client disconnects."""


def payload(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


async def pieces(data: bytes, seed: int = 1, largest: int = 300_000) -> AsyncIterator[bytes]:
    """`data` in random-sized pieces, as a request body arrives."""
    rng = random.Random(seed)
    offset = 0
    while offset < len(data):
        step = rng.randint(1, largest)
        yield data[offset : offset + step]
        offset += step
        await asyncio.sleep(0)


async def failing_after(data: bytes, error: BaseException) -> AsyncIterator[bytes]:
    async for piece in pieces(data):
        yield piece
    raise error


async def read_all(store: BlobStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in store.read(key, start, end)])


async def keys_of(store: BlobStore, prefix: str = "") -> list[str]:
    return sorted([stat.key async for stat in store.list_keys(prefix)])


async def assert_left_nothing(store: BlobStore, staging: StagingProbe, key: str) -> None:
    assert await keys_of(store) == []
    assert await anyio.to_thread.run_sync(staging.unfinished) == []
    with pytest.raises(NotFoundError):
        await store.stat(key)


SIZES: dict[str, Callable[[int], int]] = {
    "empty": lambda part: 0,
    "one_byte": lambda part: 1,
    "one_part": lambda part: part,
    "part_plus_one": lambda part: part + 1,
    "several_parts": lambda part: 3 * part + 12_345,
}


@pytest.mark.parametrize("size_name", SIZES)
async def test_write_then_read_returns_the_same_bytes(blob_store: BlobStore, size_name: str) -> None:
    data = payload(SIZES[size_name](part_size(blob_store)))
    key = f"round/{size_name}"

    written = await blob_store.write(key, pieces(data), expected_size=len(data))

    assert (written.key, written.size, written.sha256) == (key, len(data), hashlib.sha256(data).hexdigest())
    assert (await blob_store.stat(key)).size == len(data)
    assert await read_all(blob_store, key) == data
    assert await keys_of(blob_store) == [key]


async def test_concurrent_writes_do_not_mix(blob_store: BlobStore) -> None:
    datas = {f"parallel/{i}": payload(2 * part_size(blob_store) + 1000 * i, seed=i) for i in range(4)}

    written = await asyncio.gather(
        *(blob_store.write(key, pieces(data, seed=7)) for key, data in datas.items())
    )

    assert [w.sha256 for w in written] == [hashlib.sha256(d).hexdigest() for d in datas.values()]
    for key, data in datas.items():
        assert await read_all(blob_store, key) == data


async def test_read_streams_pieces_no_larger_than_the_chunk_size(blob_store: BlobStore) -> None:
    data = payload(2 * part_size(blob_store) + 5)
    await blob_store.write("chunked", pieces(data))

    sizes = [len(chunk) async for chunk in blob_store.read("chunked")]

    assert sum(sizes) == len(data)
    assert max(sizes) <= blob_store.chunk_size  # type: ignore[attr-defined]


async def test_read_returns_the_requested_byte_ranges(blob_store: BlobStore) -> None:
    data = payload(2 * part_size(blob_store) + 1000)
    size = len(data)
    await blob_store.write("ranged", pieces(data))
    ranges = {
        "start": (0, 99),
        "middle": (size // 2 - 500, size // 2 + 500),
        "end": (size - 100, size - 1),
        "open end": (size - 12_345, None),
        "single byte": (777, 777),
        "whole": (0, None),
        "end past the size": (size - 10, size + 100),
    }
    for name, (start, end) in ranges.items():
        expected = data[start : None if end is None else end + 1]
        assert await read_all(blob_store, "ranged", start, end) == expected, name


async def test_range_starting_past_the_end_is_empty(blob_store: BlobStore) -> None:
    await blob_store.write("short", pieces(b"0123456789"))
    assert await read_all(blob_store, "short", 10, None) == b""
    assert await read_all(blob_store, "short", 50, 60) == b""
    assert await read_all(blob_store, "short", 5, 3) == b""


async def test_missing_key_is_not_found(blob_store: BlobStore) -> None:
    with pytest.raises(NotFoundError):
        await blob_store.stat("no/such/key")
    with pytest.raises(NotFoundError):
        await read_all(blob_store, "no/such/key")
    with pytest.raises(NotFoundError):
        await read_all(blob_store, "no/such/key", 10, 20)
    assert await blob_store.delete("no/such/key") is False


async def test_iterator_failing_mid_stream_leaves_nothing(
    blob_store: BlobStore, staging: StagingProbe
) -> None:
    data = payload(
        2 * part_size(blob_store) + part_size(blob_store) // 2
    )  # past the first part: upload begun
    error = ClientWentAway("client disconnected")

    with pytest.raises(ClientWentAway) as raised:
        await blob_store.write("failed/stream", failing_after(data, error))

    assert raised.value is error
    await assert_left_nothing(blob_store, staging, "failed/stream")


async def test_crossing_max_size_mid_stream_raises_and_leaves_nothing(
    blob_store: BlobStore, staging: StagingProbe
) -> None:
    part = part_size(blob_store)
    data = payload(4 * part)
    consumed = 0

    async def counted() -> AsyncIterator[bytes]:
        nonlocal consumed
        async for piece in pieces(data):
            consumed += len(piece)
            yield piece

    with pytest.raises(PayloadTooLargeError):
        await blob_store.write("too/large", counted(), max_size=2 * part + 1)

    assert consumed < 4 * part  # refused as soon as the limit was crossed, not after the whole body
    await assert_left_nothing(blob_store, staging, "too/large")


@pytest.mark.parametrize("announced_parts", [3.5, 2.2], ids=["body_shorter", "body_longer"])
async def test_body_not_matching_expected_size_raises_and_leaves_nothing(
    blob_store: BlobStore, staging: StagingProbe, announced_parts: float
) -> None:
    part = part_size(blob_store)
    data = payload(int(2.5 * part))  # announcing 2.2 parts: the excess shows only once the first part is sent

    with pytest.raises(UploadIncompleteError):
        await blob_store.write("wrong/size", pieces(data), expected_size=int(announced_parts * part))

    await assert_left_nothing(blob_store, staging, "wrong/size")


async def test_cancelled_write_leaves_nothing(blob_store: BlobStore, staging: StagingProbe) -> None:
    data = payload(2 * part_size(blob_store) + 10)  # enough for the first part to be on its way
    never = asyncio.Event()

    async def stalls_after_data() -> AsyncIterator[bytes]:
        async for piece in pieces(data):
            yield piece
        await never.wait()  # the client stops sending and then disconnects
        yield b"unreachable"

    task = asyncio.create_task(blob_store.write("cancelled/write", stalls_after_data()))
    with anyio.fail_after(10):
        while not await anyio.to_thread.run_sync(staging.unfinished):
            await asyncio.sleep(0.02)  # wait until the write is visibly in progress
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    await assert_left_nothing(blob_store, staging, "cancelled/write")


async def test_delete_delete_prefix_and_list_keys(blob_store: BlobStore) -> None:
    for key in ["a/1", "a/2", "a/sub/3", "b/1", "ab/1"]:
        await blob_store.write(key, pieces(key.encode()))

    assert await keys_of(blob_store, "a/") == ["a/1", "a/2", "a/sub/3"]
    assert [s.size for s in [stat async for stat in blob_store.list_keys("b/")]] == [3]
    assert await blob_store.delete_prefix("a/") == 3
    assert await keys_of(blob_store) == ["ab/1", "b/1"]
    assert await blob_store.delete("b/1") is True
    assert await blob_store.delete("b/1") is False
    assert await blob_store.delete_prefix("nothing/") == 0
    assert await blob_store.delete_prefix("") == 1
    assert await keys_of(blob_store) == []


async def test_stat_reports_size_and_a_recent_time(blob_store: BlobStore) -> None:
    await blob_store.write("timed", pieces(b"x" * 1234))
    stat = await blob_store.stat("timed")
    assert stat.key == "timed" and stat.size == 1234
    assert abs(stat.modified.timestamp() - time.time()) < 60


async def test_clean_staging_removes_old_unfinished_writes_and_keeps_fresh_ones(
    blob_store: BlobStore, staging: StagingProbe
) -> None:
    await blob_store.write("kept", pieces(b"finished writes are not staging"))
    await staging.abandon_write(age_seconds=2.0)  # S3 reports upload start times to the second
    (old,) = staging.unfinished()
    await staging.abandon_write()

    assert await blob_store.clean_staging(older_than_seconds=1.5) == 1
    remaining = staging.unfinished()
    assert len(remaining) == 1 and old not in remaining
    assert await blob_store.clean_staging(older_than_seconds=0) == 1
    assert staging.unfinished() == []
    assert await keys_of(blob_store) == ["kept"]


@pytest.mark.parametrize("bad_key", ["../x", "/abs", "A", "", "a/../../x", "a//b", "a/", "x\x00y"])
async def test_invalid_keys_are_refused_and_write_nothing(
    blob_store: BlobStore, staging: StagingProbe, bad_key: str
) -> None:
    before = staging.all_objects()

    with pytest.raises(ValueError):
        await blob_store.write(bad_key, pieces(b"escape attempt"))
    with pytest.raises(ValueError):
        await read_all(blob_store, bad_key)
    with pytest.raises(ValueError):
        await blob_store.stat(bad_key)
    with pytest.raises(ValueError):
        await blob_store.delete(bad_key)

    assert staging.all_objects() == before
    assert await keys_of(blob_store) == []


async def test_a_pinned_blob_reads_one_version_even_when_its_key_is_released(blob_store: BlobStore):
    """Every range of a pinned read comes from the version opened: the local store keeps serving it
    after the key is released; a store that cannot says NotFoundError. Never other bytes."""
    from vitalgraph.blobs.local import LocalBlobStore

    data = payload(700_000, seed=5)
    await blob_store.write("pins/one", pieces(data))
    pinned = await blob_store.open_pinned("pins/one")
    try:
        assert pinned.size == len(data)
        assert b"".join([c async for c in pinned.read(10, 99_999)]) == data[10:100_000]
        await blob_store.delete("pins/one")
        await blob_store.write("pins/two", pieces(payload(700_000, seed=6)))
        try:
            later = b"".join([c async for c in pinned.read(500_000, 699_999)])
        except NotFoundError as exc:
            assert not isinstance(blob_store, LocalBlobStore)
            assert "released during the download" in str(exc)
        else:
            assert later == data[500_000:]
    finally:
        await pinned.close()
        await pinned.close()  # idempotent
    with pytest.raises(NotFoundError):
        await blob_store.open_pinned("pins/one")
