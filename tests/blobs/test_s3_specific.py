"""Behaviour only the S3 store has: credentials, reachability, memory bounds, buckets, presigning, outages.

The tests that take `s3_store` run on every S3 server of the tests (SeaweedFS, JuiceFS, Ceph radosgw);
the others on SeaweedFS."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import httpx
import psutil
import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.blobs.conftest import make_s3_store
from tests.fixtures.juicefs import JuiceFSGateway
from tests.fixtures.seaweedfs import S3Server, SeaweedFS
from vitalgraph.blobs.chunking import SizeGuard
from vitalgraph.blobs.s3 import S3BlobStore
from vitalgraph.blobs.s3.multipart import cut_parts
from vitalgraph.errors import StorageUnavailableError
from vitalgraph.services.disposition import content_disposition

pytestmark = [pytest.mark.anyio, pytest.mark.s3]

MiB = 1024 * 1024


@pytest.fixture
async def s3_store(s3_server: S3Server, s3_prefix: str) -> AsyncIterator[S3BlobStore]:
    """The store on each S3 server of the tests (SeaweedFS, JuiceFS, Ceph radosgw)."""
    store = make_s3_store(s3_server.settings(prefix=s3_prefix), S3_PART_SIZE=5 * MiB)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def small_pieces(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


async def stalled_after(data: bytes, release: asyncio.Event) -> AsyncIterator[bytes]:
    """Sends `data`, then waits for `release` before ending: a write caught in the middle."""
    async for piece in small_pieces(data):
        yield piece
    await release.wait()


def unfinished_uploads(server: S3Server, store: S3BlobStore) -> list[dict[str, Any]]:
    response = server.boto_client().list_multipart_uploads(Bucket=store.bucket, Prefix=f"{store.prefix}/")
    return response.get("Uploads", [])


async def wait_for_upload_to_start(server: S3Server, store: S3BlobStore) -> None:
    with anyio.fail_after(10):
        while not await anyio.to_thread.run_sync(unfinished_uploads, server, store):
            await asyncio.sleep(0.02)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def peak_rss_growth() -> Iterator[dict[str, int]]:
    """Samples this process's RSS every 5 ms; yields a dict whose 'growth' is filled in on exit."""
    process = psutil.Process()
    baseline = process.memory_info().rss
    result = {"growth": 0}
    peak = baseline
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.005):
            peak = max(peak, process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield result
    finally:
        done.set()
        sampler.join()
        result["growth"] = max(peak, process.memory_info().rss) - baseline


# ------------------------------------------------------------------ opening


@pytest.mark.parametrize(
    ("override", "code"),
    [
        ({"S3_ACCESS_KEY_ID": "nobody"}, "InvalidAccessKeyId"),
        ({"S3_SECRET_ACCESS_KEY": "wrong"}, "SignatureDoesNotMatch"),
    ],
    ids=["unknown_key", "wrong_secret"],
)
async def test_wrong_credentials_fail_open_quickly_with_a_clear_message(
    s3_settings: dict[str, Any], override: dict[str, str], code: str
) -> None:
    store = make_s3_store(s3_settings, **override)
    started = time.monotonic()

    with pytest.raises(StorageUnavailableError) as raised:
        await store.open()

    assert time.monotonic() - started < 5
    message = str(raised.value)
    assert f"S3 at {s3_settings['S3_ENDPOINT_URL']} rejected the credentials ({code})" in message
    assert "\n" not in message


async def test_unreachable_endpoint_fails_open_within_seconds(s3_settings: dict[str, Any]) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    store = make_s3_store(s3_settings, S3_ENDPOINT_URL=endpoint)
    started = time.monotonic()

    with pytest.raises(StorageUnavailableError) as raised:
        await store.open()

    assert time.monotonic() - started < 8
    assert str(raised.value).startswith(f"S3 endpoint {endpoint} is unreachable: ")
    assert "\n" not in str(raised.value)


async def test_missing_credentials_are_named_in_the_error(
    s3_settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    store = make_s3_store(s3_settings, S3_ACCESS_KEY_ID=None, S3_SECRET_ACCESS_KEY=None)

    with pytest.raises(StorageUnavailableError, match="no usable S3 credentials .*set S3_ACCESS_KEY_ID"):
        await store.open()


async def test_missing_bucket_is_created_when_allowed(seaweedfs: SeaweedFS) -> None:
    bucket = f"vg-auto-{uuid.uuid4().hex[:12]}"
    store = make_s3_store(seaweedfs.settings(S3_BUCKET=bucket, S3_CREATE_BUCKET=True))
    await store.open()
    try:
        written = await store.write("in/new/bucket", small_pieces(b"hello"))
        assert written.size == 5
        assert (
            seaweedfs.boto_client().get_object(Bucket=bucket, Key="in/new/bucket")["Body"].read() == b"hello"
        )
        await store.open()  # idempotent, and a second opener finds the bucket in place
    finally:
        await store.delete_prefix("")
        await store.close()
        seaweedfs.boto_client().delete_bucket(Bucket=bucket)


async def test_missing_bucket_without_create_is_a_clear_error(seaweedfs: SeaweedFS) -> None:
    bucket = f"vg-absent-{uuid.uuid4().hex[:12]}"
    store = make_s3_store(seaweedfs.settings(S3_BUCKET=bucket, S3_CREATE_BUCKET=False))

    with pytest.raises(StorageUnavailableError) as raised:
        await store.open()

    assert str(raised.value) == f"S3 bucket {bucket} does not exist and S3_CREATE_BUCKET is false"


# ------------------------------------------------------------------ layout and listing


def test_prefix_setting_is_normalised_and_checked() -> None:
    assert S3BlobStore(bucket="b", prefix="/Tenant-1/blobs/").prefix == "Tenant-1/blobs"
    for bad in ("a//b", "a/../b", "with space"):
        with pytest.raises(ValueError, match="S3_PREFIX"):
            S3BlobStore(bucket="b", prefix=bad)


async def test_keys_are_stored_under_the_prefix(s3_store: S3BlobStore, s3_server: S3Server) -> None:
    await s3_store.write("a/b", small_pieces(b"data"))
    s3_server.boto_client().put_object(
        Bucket=s3_store.bucket, Key=f"{s3_store.prefix}-sibling/a/b", Body=b"other"
    )

    listed = s3_server.boto_client().list_objects_v2(Bucket=s3_store.bucket, Prefix=f"{s3_store.prefix}/")
    assert [item["Key"] for item in listed["Contents"]] == [f"{s3_store.prefix}/a/b"]
    assert [stat.key async for stat in s3_store.list_keys()] == ["a/b"]  # the sibling prefix is not ours
    assert await s3_store.delete_prefix("") == 1
    assert s3_server.boto_client().get_object(Bucket=s3_store.bucket, Key=f"{s3_store.prefix}-sibling/a/b")


async def test_delete_prefix_and_list_keys_span_several_pages(
    s3_store: S3BlobStore, s3_server: S3Server
) -> None:
    keys = [f"many/{i:05d}" for i in range(1010)]  # over one ListObjects page and one DeleteObjects batch
    client = s3_server.boto_client()

    def put(key: str) -> None:
        client.put_object(Bucket=s3_store.bucket, Key=f"{s3_store.prefix}/{key}", Body=b"")

    with anyio.fail_after(60):
        async with anyio.create_task_group() as group:
            limiter = anyio.CapacityLimiter(16)
            for key in keys:
                group.start_soon(lambda k=key: anyio.to_thread.run_sync(put, k, limiter=limiter))

    assert [stat.key async for stat in s3_store.list_keys("many/")] == keys
    assert await s3_store.delete_prefix("many/") == len(keys)
    assert [stat async for stat in s3_store.list_keys()] == []


async def test_reader_pausing_longer_than_the_timeout_still_gets_every_byte(
    s3_settings: dict[str, Any],
) -> None:
    """A slow client stalls our reads; that must not count as the S3 server being slow."""
    data = os.urandom(24 * MiB)  # more than the socket buffers hold, so the server is made to wait
    writer = make_s3_store(s3_settings)  # the default timeout: a busy S3 server may take over 1 s per part
    await writer.open()
    try:
        await writer.write("paused", small_pieces(data, size=MiB))
    finally:
        await writer.close()
    store = make_s3_store(s3_settings, S3_TIMEOUT_SECONDS=1.0)
    await store.open()
    try:
        received = bytearray()
        async for chunk in store.read("paused"):
            if not received:
                await asyncio.sleep(2.5)
            received += chunk
    finally:
        await store.close()
    assert received == data


async def test_reader_stopping_early_releases_the_connection(s3_store: S3BlobStore) -> None:
    await s3_store.write("abandoned/read", small_pieces(os.urandom(12 * MiB), size=MiB))

    for _ in range(3):  # each abandoned read must give its connection back, or the pool would drain
        reader = s3_store.read("abandoned/read")
        assert await anext(reader)
        await reader.aclose()

    # aiobotocore internals (3.x): the only place a leaked connection shows
    connector = s3_store.client._endpoint.http_session._sessions[None].connector
    assert not connector._acquired  # nothing left checked out of the pool
    assert (await s3_store.stat("abandoned/read")).size == 12 * MiB


# ------------------------------------------------------------------ deleting many keys


def count_calls(store: S3BlobStore, operation: str) -> list[dict[str, Any]]:
    """The calls `store` makes to one S3 operation from now on (their arguments), passed through."""
    calls: list[dict[str, Any]] = []
    real = getattr(store.client, operation)

    async def counted(**kwargs: Any) -> Any:
        calls.append(kwargs)
        return await real(**kwargs)

    setattr(store.client, operation, counted)
    return calls


def refusing(code: str, status: int) -> Any:
    async def refuse(**kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "X")

    return refuse


async def test_delete_prefix_uses_deleteobjects_until_the_server_refuses_it(
    s3_store: S3BlobStore, s3_server: S3Server
) -> None:
    """JuiceFS refuses DeleteObjects (it wants a Content-MD5): the store learns it once and deletes one
    key per request from then on; the other servers get one DeleteObjects per batch."""
    batches, singles = count_calls(s3_store, "delete_objects"), count_calls(s3_store, "delete_object")
    for key in ("a/1", "a/2", "a/3"):
        await s3_store.write(key, small_pieces(b"x"))
    assert await s3_store.delete_prefix("a/") == 3
    for key in ("b/1", "b/2"):
        await s3_store.write(key, small_pieces(b"y"))
    assert await s3_store.delete_prefix("b/") == 2

    assert [stat async for stat in s3_store.list_keys()] == []
    if isinstance(s3_server, JuiceFSGateway):
        assert (len(batches), len(singles), s3_store.multi_delete) == (1, 5, False)
    else:
        assert (len(batches), len(singles), s3_store.multi_delete) == (2, 0, True)


async def test_a_server_answering_not_implemented_gets_one_delete_per_key(
    s3_settings: dict[str, Any],
) -> None:
    store = make_s3_store(s3_settings)
    await store.open()
    try:
        for key in ("a/1", "a/2"):
            await store.write(key, small_pieces(b"x"))
        store.client.delete_objects = refusing("NotImplemented", 501)
        assert await store.delete_prefix("a/") == 2
        assert [stat async for stat in store.list_keys()] == []
        assert store.multi_delete is False
    finally:
        await store.close()


async def test_other_deleteobjects_failures_are_raised_and_do_not_switch_to_single_deletes(
    s3_settings: dict[str, Any],
) -> None:
    store = make_s3_store(s3_settings)
    await store.open()
    try:
        await store.write("a/1", small_pieces(b"x"))
        store.client.delete_objects = refusing("AccessDenied", 403)
        with pytest.raises(StorageUnavailableError, match="AccessDenied"):
            await store.delete_prefix("a/")
        assert store.multi_delete is True
        assert [stat.key async for stat in store.list_keys()] == ["a/1"]
    finally:
        await store.close()


async def test_one_by_one_deletion_tries_every_key_and_then_raises(s3_settings: dict[str, Any]) -> None:
    store = make_s3_store(s3_settings)
    await store.open()
    try:
        for key in ("a/1", "a/2", "a/3"):
            await store.write(key, small_pieces(b"x"))
        store.multi_delete = False  # as after a refusal
        real = store.client.delete_object

        async def failing_on_a2(**kwargs: Any) -> Any:
            if kwargs["Key"].endswith("/a/2"):
                raise ClientError({"Error": {"Code": "InternalError"}}, "DeleteObject")
            return await real(**kwargs)

        store.client.delete_object = failing_on_a2
        with pytest.raises(StorageUnavailableError, match="a/2"):
            await store.delete_prefix("a/")
        assert [stat.key async for stat in store.list_keys()] == ["a/2"]
    finally:
        await store.close()


# ------------------------------------------------------------------ unfinished uploads


async def test_clean_staging_spares_uploads_this_process_is_writing(
    s3_store: S3BlobStore, s3_server: S3Server
) -> None:
    data = os.urandom(11 * MiB)
    release = asyncio.Event()
    task = asyncio.create_task(s3_store.write("live", stalled_after(data, release)))
    await wait_for_upload_to_start(s3_server, s3_store)

    assert await s3_store.clean_staging(older_than_seconds=0) == 0
    assert len(unfinished_uploads(s3_server, s3_store)) == 1
    release.set()
    written = await task

    assert written.sha256 == hashlib.sha256(data).hexdigest()
    assert unfinished_uploads(s3_server, s3_store) == []


async def test_close_aborts_uploads_still_running(s3_settings: dict[str, Any], seaweedfs: SeaweedFS) -> None:
    store = make_s3_store(s3_settings, S3_PART_SIZE=5 * MiB)
    await store.open()
    task = asyncio.create_task(
        store.write("interrupted", stalled_after(os.urandom(11 * MiB), asyncio.Event()))
    )
    await wait_for_upload_to_start(seaweedfs, store)

    await store.close()  # server shutdown while a client is still uploading

    assert unfinished_uploads(seaweedfs, store) == []
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize(("size_mib", "final_call"), [(1, "put_object"), (11, "complete_multipart_upload")])
async def test_cancelled_while_the_final_request_runs_leaves_nothing(
    s3_store: S3BlobStore, s3_server: S3Server, size_mib: int, final_call: str
) -> None:
    """The server may apply the last request after we stop waiting: the write must undo it."""
    real_call = getattr(s3_store.client, final_call)
    applied = asyncio.Event()

    async def applied_then_slow(**kwargs: Any) -> Any:
        response = await real_call(**kwargs)
        applied.set()
        await asyncio.sleep(0.5)  # the response is still on its way when the client disconnects
        return response

    setattr(s3_store.client, final_call, applied_then_slow)
    task = asyncio.create_task(s3_store.write("late/cancel", small_pieces(os.urandom(size_mib * MiB))))
    with anyio.fail_after(10):
        await applied.wait()
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert [stat async for stat in s3_store.list_keys()] == []
    assert unfinished_uploads(s3_server, s3_store) == []


@settings(max_examples=200, deadline=None)
@given(piece_sizes=st.lists(st.integers(min_value=0, max_value=40), max_size=30), part=st.integers(1, 16))
def test_cut_parts_keeps_every_byte_in_order_in_full_parts(piece_sizes: list[int], part: int) -> None:
    data = os.urandom(sum(piece_sizes))
    offsets = [sum(piece_sizes[:i]) for i in range(len(piece_sizes) + 1)]
    guard = SizeGuard(None, None)

    async def source() -> AsyncIterator[bytes]:
        for start, end in zip(offsets, offsets[1:], strict=False):
            yield data[start:end]

    async def cut() -> list[bytes]:
        return [body.getvalue() async for body in cut_parts(source(), part, guard)]

    parts = asyncio.run(cut())
    assert b"".join(parts) == data and guard.count == len(data)
    assert all(len(p) == part for p in parts[:-1]) and all(0 < len(p) <= part for p in parts)


def test_part_size_grows_to_fit_a_known_size_into_ten_thousand_parts() -> None:
    store = S3BlobStore(bucket="b", part_size=8 * MiB)
    assert store._part_size_for(None) == 8 * MiB
    assert store._part_size_for(8 * MiB * 10_000) == 8 * MiB
    grown = store._part_size_for(200 * 1024 * MiB)
    assert grown % MiB == 0 and grown * 10_000 >= 200 * 1024 * MiB and grown < 22 * MiB


# ------------------------------------------------------------------ memory


async def test_large_write_and_read_keep_memory_bounded(s3_settings: dict[str, Any]) -> None:
    """150 MiB through default-sized parts: memory follows part size x parts in flight, not file size.

    Measured here: upload RSS growth 55-62 MiB, download under 1 MiB.
    """
    store = make_s3_store(s3_settings)  # 8 MiB parts, 4 in flight
    total_mib = 150
    seed = os.urandom(MiB)

    async def generated() -> AsyncIterator[bytes]:
        for i in range(total_mib):
            yield i.to_bytes(8, "big") + seed[8:]

    expected = hashlib.sha256()
    for i in range(total_mib):
        expected.update(i.to_bytes(8, "big") + seed[8:])

    await store.open()
    try:
        await store.write(
            "warm-up", small_pieces(os.urandom(20 * MiB))
        )  # first-use allocations out of the way
        with peak_rss_growth() as upload:
            written = await store.write("large", generated(), expected_size=total_mib * MiB)
        with peak_rss_growth() as download:
            received = hashlib.sha256()
            async for chunk in store.read("large"):
                received.update(chunk)
    finally:
        await store.close()

    assert written.size == total_mib * MiB
    assert written.sha256 == received.hexdigest() == expected.hexdigest()
    parts_held = store.max_concurrency + 2  # in flight, plus one held back and one being filled
    bound = store.part_size * parts_held + 32 * MiB  # 80 MiB, well under the 150 MiB file
    assert upload["growth"] < bound, f"upload grew RSS by {upload['growth'] / MiB:.0f} MiB"
    assert download["growth"] < 32 * MiB, f"download grew RSS by {download['growth'] / MiB:.0f} MiB"


# ------------------------------------------------------------------ presigned URLs


async def test_presigned_url_downloads_the_bytes_with_plain_httpx(s3_store: S3BlobStore) -> None:
    data = os.urandom(300_000)
    await s3_store.write("shared/report", small_pieces(data))

    url = await s3_store.presign_download(
        "shared/report",
        60,
        content_disposition=content_disposition("Q3 report é.pdf"),
        content_type="application/pdf",
    )
    async with httpx.AsyncClient() as http:
        whole = await http.get(url)
        part = await http.get(url, headers={"Range": "bytes=100-199"})
        tampered = await http.get(
            url.replace("shared%2Freport", "shared%2Fother").replace("shared/report", "shared/other")
        )

    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["content-type"] == "application/pdf"
    assert whole.headers["content-disposition"] == content_disposition("Q3 report é.pdf")
    assert part.status_code == 206 and part.content == data[100:200]
    assert tampered.status_code == 403


async def test_presign_refuses_lifetimes_sigv4_cannot_sign(s3_store: S3BlobStore) -> None:
    with pytest.raises(ValueError):
        await s3_store.presign_download("k", 0)
    with pytest.raises(ValueError):
        await s3_store.presign_download("k", 8 * 24 * 3600)


# ------------------------------------------------------------------ outages


async def test_server_stopped_mid_read_raises_storage_unavailable(private_seaweedfs: SeaweedFS) -> None:
    store = make_s3_store(private_seaweedfs.settings(prefix="outage"))
    await store.open()
    try:
        await store.write("big", small_pieces(os.urandom(64 * MiB), size=MiB))
        reader = store.read("big")
        first = await anext(reader)
        assert first
        private_seaweedfs.process.kill()
        private_seaweedfs.process.wait()

        started = time.monotonic()
        with pytest.raises(StorageUnavailableError, match="failed while reading big"):
            async for _ in reader:
                pass
        with pytest.raises(StorageUnavailableError, match=r"failed while checking big: .*connect"):
            await store.stat("big")
        assert time.monotonic() - started < 15
    finally:
        await store.close()


async def test_server_stopped_mid_write_raises_storage_unavailable(private_seaweedfs: SeaweedFS) -> None:
    store = make_s3_store(private_seaweedfs.settings(prefix="outage"), S3_PART_SIZE=5 * MiB)
    await store.open()

    async def server_dies_midway() -> AsyncIterator[bytes]:
        for i in range(40):
            if i == 12:  # two parts sent, a third filling up
                private_seaweedfs.process.kill()
                await anyio.to_thread.run_sync(private_seaweedfs.process.wait)
            yield os.urandom(MiB)

    started = time.monotonic()
    try:
        with pytest.raises(StorageUnavailableError) as raised:
            await store.write("doomed", server_dies_midway())
        assert "failed while uploading part" in str(raised.value), str(raised.value)
        assert time.monotonic() - started < 30
    finally:
        await store.close()


async def test_parts_in_flight_are_capped_across_all_uploads(s3_settings: dict[str, Any]) -> None:
    """S3_MAX_PARTS_IN_FLIGHT bounds concurrent UploadPart calls over every upload, not per upload."""
    store = make_s3_store(s3_settings, S3_PART_SIZE=5 * MiB, S3_MAX_CONCURRENCY=4, S3_MAX_PARTS_IN_FLIGHT=2)
    await store.open()
    try:
        real_upload_part = store.client.upload_part
        in_flight, peak = 0, 0

        async def counted(**kwargs: Any) -> Any:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            try:
                await asyncio.sleep(0.05)  # long enough for every waiting part to pile up here
                return await real_upload_part(**kwargs)
            finally:
                in_flight -= 1

        store.client.upload_part = counted
        payloads = {f"capped/{n}": os.urandom(16 * MiB) for n in range(3)}  # 3 uploads x 4 parts
        await asyncio.gather(*(store.write(key, small_pieces(data)) for key, data in payloads.items()))
        assert peak == 2
        for key, data in payloads.items():
            assert b"".join([chunk async for chunk in store.read(key)]) == data
    finally:
        await store.close()
