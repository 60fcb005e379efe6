"""Direct-to-S3 uploads on SeaweedFS: parts PUT straight to presigned URLs, checked by the server before
the node changes. Every refusal aborts the multipart upload and leaves no object and no state."""

from __future__ import annotations

import base64
import hashlib
import os
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from vitalgraph.config import load_settings
from vitalgraph.errors import FeatureDisabledError, InvalidInputError, NotFoundError, PermissionDeniedError
from vitalgraph.model import FileNode
from vitalgraph.services.access import Permission
from vitalgraph.services.accounts import Role
from vitalgraph.services.auth import Principal
from vitalgraph.services.blob_keys import ALL_SPACES_PREFIX
from vitalgraph.services.container import Services
from vitalgraph.services.direct_uploads import DirectStart

pytestmark = pytest.mark.anyio
URI = "http://example.org/direct/file"
WRITER = Principal("writer-a", Role.WRITER)
OTHER = Principal("writer-b", Role.WRITER)
PART = 5 * 1024 * 1024
DATA = os.urandom(PART + 1000)  # two parts: a full one and a short last one


def b64sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def parts_of(data: bytes, size: int = PART) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


async def make_services(tmp_path, **settings) -> Services:
    started = await Services.start(
        load_settings(DATA_DIR=tmp_path, ADMIN_PASSWORD="pw", GC_INTERVAL_SECONDS=0, **settings),
        collect_garbage=False,
    )
    for user in (WRITER, OTHER):
        await started.auth.create_user(user.username, "a long enough password", Role.WRITER)
    await started.access.create_space(WRITER, "shared", None, "")
    await started.files.create_files("shared", None, [FileNode(URI=URI, name="file")])
    return started


@pytest.fixture
async def services(tmp_path, s3_settings) -> AsyncIterator[Services]:
    started = await make_services(tmp_path, **s3_settings)
    yield started
    await started.stop()


async def start(services: Services, data: bytes = DATA, **overrides) -> DirectStart:
    values = {
        "size": len(data),
        "part_size": PART,
        "part_sha256s": [b64sha(p) for p in parts_of(data)],
        "sha256": hashlib.sha256(data).hexdigest(),
        "content_type": "application/octet-stream",
        "filename": "big.bin",
    }
    values.update(overrides)
    return await services.direct.start(WRITER.username, "shared", None, URI, **values)


async def put(begun: DirectStart, number: int, body: bytes) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.put(begun.part_urls[number - 1], content=body, headers=begun.headers[number - 1])


async def left_behind(services: Services) -> tuple[list[str], list[str], list[str]]:
    """Blobs under the spaces, unfinished multipart uploads, direct-upload state objects."""
    blobs = [stat.key async for stat in services.blobs.list_keys(ALL_SPACES_PREFIX)]
    store = services.blobs
    uploads = await store.client.list_multipart_uploads(  # type: ignore[attr-defined]
        Bucket=store.bucket,  # type: ignore[attr-defined]
        Prefix=store.session.object_prefix(""),  # type: ignore[attr-defined]
    )
    states = [upload_id async for upload_id in services.direct._s3.upload_ids()]  # type: ignore[union-attr]
    return blobs, [u["Key"] for u in uploads.get("Uploads", [])], states


async def node(services: Services) -> FileNode:
    return await services.files.get_file("shared", None, URI)


async def test_happy_path_commits_the_verified_bytes(services):
    begun = await start(services)
    assert len(begun.part_urls) == 2
    assert "x-amz-checksum-sha256" in begun.part_urls[0]  # signed into the URL, not a free header
    for number, body in enumerate(parts_of(DATA), start=1):
        assert (await put(begun, number, body)).status_code == 200
    result = await services.direct.complete(WRITER.username, begun.upload.id)
    assert (result.size, result.sha256) == (len(DATA), hashlib.sha256(DATA).hexdigest())
    stored = await node(services)
    assert (stored.fileLength, stored.sha256, stored.fileName) == (len(DATA), result.sha256, "big.bin")
    assert b"".join([chunk async for chunk in services.blobs.read(result_key(stored))]) == DATA
    blobs, uploads, states = await left_behind(services)
    assert (len(blobs), uploads, states) == (1, [], [])


async def test_a_part_whose_bytes_differ_from_its_signed_checksum_is_refused_by_s3(services):
    begun = await start(services)
    first = parts_of(DATA)[0]
    tampered = await put(begun, 1, b"X" + first[1:])
    assert tampered.status_code == 400 and "BadDigest" in tampered.text
    async with httpx.AsyncClient(timeout=30) as http:  # dropping the signed header breaks the signature
        assert (await http.put(begun.part_urls[0], content=first)).status_code == 403
    assert (await put(begun, 2, parts_of(DATA)[1])).status_code == 200
    with pytest.raises(InvalidInputError, match=r"part\(s\) 1 of 2 were not uploaded"):
        await services.direct.complete(WRITER.username, begun.upload.id)
    assert await left_behind(services) == ([], [], [])
    assert (await node(services)).blobKey is None


async def test_altered_part_that_reached_the_store_is_refused_at_completion(services):
    """A part that reached the store without its checksum (here: sent with the server's own credentials)
    and whose bytes differ: SeaweedFS refuses the completion, which names each part's planned SHA-256."""
    begun = await start(services)
    await upload_part_behind_the_servers_back(services, begun, 1, b"Y" + parts_of(DATA)[0][1:])
    assert (await put(begun, 2, parts_of(DATA)[1])).status_code == 200
    with pytest.raises(InvalidInputError, match=r"S3 refused the parts \(BadDigest"):
        await services.direct.complete(WRITER.username, begun.upload.id)
    assert await left_behind(services) == ([], [], [])
    assert (await node(services)).blobKey is None


async def test_the_read_back_checks_each_part_itself(services):
    """For a store that would complete anyway: the server's own per-part SHA-256 on read-back."""
    begun = await start(services)
    written = await services.blobs.write(begun.upload.key, one_chunk(b"Z" + DATA[1:]))
    assert written.size == len(DATA)
    with pytest.raises(InvalidInputError, match="part 1's bytes do not have the SHA-256 announced"):
        await services.direct._read_back(begun.upload)
    assert (await left_behind(services))[0] == []  # the object was released


async def one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def upload_part_behind_the_servers_back(
    services: Services, begun: DirectStart, number: int, body: bytes
) -> None:
    store = services.blobs
    await store.client.upload_part(  # type: ignore[attr-defined]
        Bucket=store.bucket,  # type: ignore[attr-defined]
        Key=store.session.object_key(begun.upload.key),  # type: ignore[attr-defined]
        UploadId=begun.upload.s3_upload_id,
        PartNumber=number,
        Body=body,
    )


async def test_missing_part_is_refused_and_aborted(services):
    begun = await start(services)
    assert (await put(begun, 1, parts_of(DATA)[0])).status_code == 200
    with pytest.raises(
        InvalidInputError, match=r"part\(s\) 2 of 2 were not uploaded; the upload was aborted"
    ):
        await services.direct.complete(WRITER.username, begun.upload.id)
    assert await left_behind(services) == ([], [], [])
    with pytest.raises(NotFoundError):  # the upload is gone for good
        await services.direct.complete(WRITER.username, begun.upload.id)


async def test_extra_part_is_refused_and_aborted(services):
    begun = await start(services)
    for number, body in enumerate(parts_of(DATA), start=1):
        assert (await put(begun, number, body)).status_code == 200
    await upload_part_behind_the_servers_back(services, begun, 3, b"one more")
    with pytest.raises(InvalidInputError, match=r"part\(s\) 3 were not planned \(the upload has 2\)"):
        await services.direct.complete(WRITER.username, begun.upload.id)
    assert await left_behind(services) == ([], [], [])


async def test_wrong_total_size_is_refused(services):
    """The last part's checksum is of 999 bytes while the announced size wants 1000: S3 takes the part
    (its bytes match its checksum), the server refuses the size."""
    short = DATA[:-1]
    begun = await start(
        services,
        DATA,
        part_sha256s=[b64sha(p) for p in parts_of(short)],
        sha256=None,
    )
    for number, body in enumerate(parts_of(short), start=1):
        assert (await put(begun, number, body)).status_code == 200
    with pytest.raises(InvalidInputError, match="part 2 holds 999 bytes, 1000 were planned"):
        await services.direct.complete(WRITER.username, begun.upload.id)
    assert await left_behind(services) == ([], [], [])


async def test_whole_file_sha256_that_differs_is_refused_after_read_back(services):
    begun = await start(services, sha256=hashlib.sha256(b"something else").hexdigest())
    for number, body in enumerate(parts_of(DATA), start=1):
        assert (await put(begun, number, body)).status_code == 200
    with pytest.raises(InvalidInputError, match="the file's SHA-256 is"):
        await services.direct.complete(WRITER.username, begun.upload.id)
    assert await left_behind(services) == ([], [], [])
    assert (await node(services)).blobKey is None


async def test_crash_before_complete_is_cleaned_by_gc_once_expired(services):
    begun = await start(services)
    assert (await put(begun, 1, parts_of(DATA)[0])).status_code == 200
    # the server "crashes": nothing but the bucket remembers the upload; a fresh service finds it
    report = await services.maintenance.collect_garbage(
        stale_upload_seconds=3600, orphan_min_age_seconds=3600
    )
    assert report.expired_direct_uploads_removed == 0  # not expired yet: kept
    assert len((await left_behind(services))[2]) == 1
    assert await services.direct.remove_expired(now=time.time() + 7 * 24 * 3600) == 1
    assert await left_behind(services) == ([], [], [])


async def test_the_state_lives_in_the_bucket_not_in_the_process(tmp_path, s3_settings):
    """Started by one process, completed by the next one (a restart, or another replica)."""
    first = await make_services(tmp_path, **s3_settings)
    try:
        begun = await start(first)
        for number, body in enumerate(parts_of(DATA), start=1):
            assert (await put(begun, number, body)).status_code == 200
    finally:
        await first.stop()
    second = await Services.start(
        load_settings(DATA_DIR=tmp_path, ADMIN_PASSWORD="pw", GC_INTERVAL_SECONDS=0, **s3_settings),
        collect_garbage=False,
    )
    try:
        result = await second.direct.complete(WRITER.username, begun.upload.id)
        assert result.sha256 == hashlib.sha256(DATA).hexdigest()
        assert await left_behind(second) == (
            [result_key(await second.files.get_file("shared", None, URI))],
            [],
            [],
        )
    finally:
        await second.stop()


def result_key(stored: FileNode) -> str:
    assert stored.blobKey is not None
    return stored.blobKey


async def test_space_deleted_mid_upload_is_refused_at_commit(services):
    begun = await start(services)
    for number, body in enumerate(parts_of(DATA), start=1):
        assert (await put(begun, number, body)).status_code == 200
    await services.access.delete_space("shared")
    with pytest.raises(NotFoundError, match="was deleted during the upload"):
        await services.direct.complete(WRITER.username, begun.upload.id)
    blobs, uploads, states = await left_behind(services)
    assert (blobs, uploads, states) == ([], [], [])


async def test_write_grant_revoked_mid_upload_is_refused_at_commit(services):
    await services.access.grant("shared", OTHER.username, Permission.WRITE)
    begun = await services.direct.start(
        OTHER.username,
        "shared",
        None,
        URI,
        size=len(DATA),
        part_size=PART,
        part_sha256s=[b64sha(p) for p in parts_of(DATA)],
    )
    for number, body in enumerate(parts_of(DATA), start=1):
        assert (await put(begun, number, body)).status_code == 200
    with pytest.raises(NotFoundError):  # another user cannot complete (or see) it
        await services.direct.complete(WRITER.username, begun.upload.id)
    await services.access.revoke("shared", OTHER.username)
    with pytest.raises(PermissionDeniedError):
        await services.direct.complete(OTHER.username, begun.upload.id)
    assert await left_behind(services) == ([], [], [])
    assert (await node(services)).blobKey is None


async def test_status_lists_the_parts_held_for_resume(services):
    begun = await start(services)
    assert (await put(begun, 2, parts_of(DATA)[1])).status_code == 200
    again, done = await services.direct.status(WRITER.username, begun.upload.id)
    assert done == [2]
    assert again.upload.id == begun.upload.id and len(again.part_urls) == 2
    assert (await put(again, 1, parts_of(DATA)[0])).status_code == 200
    assert (await services.direct.complete(WRITER.username, begun.upload.id)).size == len(DATA)


async def test_abort_removes_the_parts_and_the_state(services):
    begun = await start(services)
    assert (await put(begun, 1, parts_of(DATA)[0])).status_code == 200
    await services.direct.abort(WRITER.username, begun.upload.id)
    assert await left_behind(services) == ([], [], [])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"part_sha256s": [b64sha(b"x")]}, "make 2 parts, but 1 part SHA-256"),
        ({"part_sha256s": ["not base64!", b64sha(b"x")]}, "part 1's SHA-256 must be 32 bytes"),
        ({"part_size": 1024}, "part_size 1024 must be between"),
        ({"size": 0}, "size must be at least 1 byte"),
        ({"sha256": "ABC"}, "sha256 must be 64 lowercase hex digits"),
    ],
)
async def test_bad_plans_are_refused_before_anything_starts(services, overrides, message):
    with pytest.raises(InvalidInputError, match=message):
        await start(services, **overrides)
    assert await left_behind(services) == ([], [], [])


async def test_local_store_says_direct_uploads_are_not_offered(tmp_path):
    local = await make_services(tmp_path)
    try:
        with pytest.raises(FeatureDisabledError, match="need the S3 blob store"):
            await start(local)
    finally:
        await local.stop()


async def test_switched_off_says_so(tmp_path, s3_settings):
    off = await make_services(tmp_path, DIRECT_UPLOADS_ENABLED=False, **s3_settings)
    try:
        with pytest.raises(FeatureDisabledError, match="DIRECT_UPLOADS_ENABLED=false"):
            await start(off)
    finally:
        await off.stop()
