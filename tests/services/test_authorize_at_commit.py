"""Authorization at commit: an upload's space and its user's write grant are checked again when the
bytes are in. A refused upload answers why and leaves no blob; deleting a space or a file removes
in-flight uploads' bytes at once (not at gc). On both blob stores."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import anyio
import pytest

from vitalgraph.config import load_settings
from vitalgraph.errors import ConflictError, NotFoundError, PermissionDeniedError
from vitalgraph.model import FileNode
from vitalgraph.services.access import Permission
from vitalgraph.services.accounts import Role
from vitalgraph.services.auth import Principal
from vitalgraph.services.blob_keys import ALL_SPACES_PREFIX
from vitalgraph.services.container import Services

pytestmark = pytest.mark.anyio
URI = "http://example.org/commit/file"
WRITER = Principal("writer-a", Role.WRITER)
OTHER = Principal("writer-b", Role.WRITER)
DATA = os.urandom(200_000)


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
async def services(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[Services]:
    extra = request.getfixturevalue("s3_settings") if request.param == "s3" else {}
    started = await Services.start(
        load_settings(DATA_DIR=tmp_path, ADMIN_PASSWORD="pw", GC_INTERVAL_SECONDS=0, **extra),
        collect_garbage=False,
    )
    for user in (WRITER, OTHER):
        await started.auth.create_user(user.username, "a long enough password", Role.WRITER)
    await started.access.create_space(WRITER, "shared", None, "")
    await started.files.create_files("shared", None, [FileNode(URI=URI, name="file")])
    yield started
    await started.stop()


async def blobs_left(services: Services) -> list[str]:
    return [stat.key async for stat in services.blobs.list_keys(ALL_SPACES_PREFIX)]


class PausedBody:
    """Half the bytes, then waits until `resume` is set, then the rest: the moment mid-upload."""

    def __init__(self) -> None:
        self.halfway = anyio.Event()
        self.resume = anyio.Event()

    async def __call__(self) -> AsyncIterator[bytes]:
        yield DATA[: len(DATA) // 2]
        self.halfway.set()
        await self.resume.wait()
        yield DATA[len(DATA) // 2 :]


async def upload_with(services: Services, body: PausedBody, meanwhile, user: Principal = WRITER):
    """Run an upload as `user`, do `meanwhile` when it is half-way, return its outcome."""
    outcome: dict[str, object] = {}

    async def upload() -> None:
        try:
            target = await services.files.upload_target("shared", None, URI)
            outcome["result"] = await services.files.upload_content(
                target,
                body(),
                content_type=None,
                filename=None,
                authorize=lambda: services.access.check_user_may_write(user.username, "shared"),
            )
        except Exception as exc:  # noqa: BLE001  (the test inspects it)
            outcome["error"] = exc
        finally:
            body.halfway.set()  # an upload that failed early must not leave the test waiting

    async with anyio.create_task_group() as group:
        group.start_soon(upload)
        await body.halfway.wait()
        await meanwhile()
        body.resume.set()
    return outcome


def as_if_on_another_replica(services: Services) -> None:
    """Deletions on another replica cannot reach this server's uploads in flight: only the commit's
    checks stand between such an upload and the space or node it was aimed at."""
    services.spaces.on_deleted.clear()
    services.files.on_node_deleted.clear()
    services.files.cancel_uploads = lambda matches: 0  # type: ignore[method-assign]


async def staging_is_empty(services: Services) -> bool:
    from vitalgraph.blobs.local import LocalBlobStore

    if isinstance(services.blobs, LocalBlobStore):
        return not any(services.blobs.staging.glob("*.part"))
    client = services.blobs.client  # type: ignore[attr-defined]
    listed = await client.list_multipart_uploads(Bucket=services.blobs.bucket, Prefix=services.blobs.prefix)  # type: ignore[attr-defined]
    return not listed.get("Uploads")


async def test_space_deleted_and_created_anew_by_another_user_mid_upload(services):
    as_if_on_another_replica(services)
    body = PausedBody()

    async def replace_space() -> None:
        await services.access.delete_space("shared")
        await services.access.create_space(OTHER, "shared", None, "someone else's now")
        await services.files.create_files("shared", None, [FileNode(URI=URI, name="theirs")])

    outcome = await upload_with(services, body, replace_space)
    error = outcome.get("error")
    assert isinstance(error, ConflictError), outcome
    assert "deleted and created anew" in str(error) and "'shared'" in str(error)
    theirs = await services.files.get_file("shared", None, URI)
    assert (theirs.name, theirs.blobKey, theirs.sha256) == ("theirs", None, None)  # nothing leaked in
    assert await blobs_left(services) == []  # the refused upload's blob went at once


@pytest.mark.parametrize("where", ["this server", "another replica"])
async def test_space_deleted_mid_upload(services, where):
    if where == "another replica":
        as_if_on_another_replica(services)
    seen: dict[str, bool] = {}

    async def delete_space() -> None:
        await services.access.delete_space("shared")
        await anyio.sleep(0.2)
        seen["staging empty at once"] = await staging_is_empty(services)

    outcome = await upload_with(services, PausedBody(), delete_space)
    error = outcome.get("error")
    assert isinstance(error, NotFoundError) and "was deleted during the upload" in str(error), outcome
    assert await blobs_left(services) == [] and await staging_is_empty(services)
    if where == "this server":  # the upload was stopped when its space went, not when it ended
        assert seen["staging empty at once"]


async def test_file_deleted_mid_upload_is_stopped_at_once(services):
    seen: dict[str, bool] = {}

    async def delete_file() -> None:
        await services.files.delete_files("shared", None, [URI])
        await anyio.sleep(0.2)
        seen["staging empty at once"] = await staging_is_empty(services)

    outcome = await upload_with(services, PausedBody(), delete_file)
    assert isinstance(outcome.get("error"), NotFoundError), outcome
    assert seen["staging empty at once"] and await blobs_left(services) == []


async def test_grant_revoked_mid_upload(services):
    await services.access.grant("shared", OTHER.username, Permission.WRITE)
    before = await services.files.get_file("shared", None, URI)
    outcome = await upload_with(
        services, PausedBody(), lambda: services.access.revoke("shared", OTHER.username), user=OTHER
    )
    error = outcome.get("error")
    assert isinstance(error, PermissionDeniedError), outcome
    assert "writer-b" in str(error) and "refused" in str(error)
    after = await services.files.get_file("shared", None, URI)
    assert (after.blobKey, after.nodeVersion) == (before.blobKey, before.nodeVersion)
    assert await blobs_left(services) == []


async def test_a_grant_kept_lets_the_upload_commit(services):
    outcome = await upload_with(services, PausedBody(), anyio.lowlevel.checkpoint)
    assert "result" in outcome, outcome
    [key] = await blobs_left(services)
    assert (await services.files.get_file("shared", None, URI)).blobKey == key


# --- resumable uploads ---------------------------------------------------------------------------------


async def chunks(data: bytes):
    yield data


async def staged(services: Services) -> list[str]:
    return await services.blobs.staged_upload_ids()  # type: ignore[attr-defined]


async def test_tus_upload_refused_at_commit_when_the_grant_was_revoked(services):
    await services.access.grant("shared", OTHER.username, Permission.WRITE)
    upload = await services.tus.create(OTHER.username, {"space_id": "shared", "file_uri": URI}, len(DATA))
    await services.tus.append(upload.id, OTHER.username, 0, chunks(DATA[:1000]))
    await services.access.revoke("shared", OTHER.username)
    with pytest.raises(PermissionDeniedError, match="writer-b"):
        await services.tus.append(upload.id, OTHER.username, 1000, chunks(DATA[1000:]))
    assert await blobs_left(services) == [] and await staged(services) == []
    with pytest.raises(NotFoundError):
        await services.tus.status(upload.id, OTHER.username)  # the upload is over


@pytest.mark.parametrize("target", ["space", "file"])
async def test_deleting_the_target_removes_in_flight_tus_uploads_at_once(services, target):
    upload = await services.tus.create(WRITER.username, {"space_id": "shared", "file_uri": URI}, len(DATA))
    await services.tus.append(upload.id, WRITER.username, 0, chunks(DATA[:1000]))
    assert await staged(services) == [upload.id]
    if target == "space":
        await services.access.delete_space("shared")
    else:
        await services.files.delete_files("shared", None, [URI])
    assert await staged(services) == []  # at once, not at gc
    with pytest.raises(NotFoundError):
        await services.tus.status(upload.id, WRITER.username)
    assert await blobs_left(services) == []


async def test_space_deleted_while_an_upload_stores_its_last_bytes_leaves_no_blob(services):
    """Found by benchmarks/hostile.py: the space's deletion cancels the upload, but a store's last step
    (a rename on a thread, S3's CompleteMultipartUpload) cannot be interrupted; the blob landed after
    the space's bytes were released, the cancelled upload raised without releasing it: an orphan."""
    real_write = services.blobs.write
    paused, resume = anyio.Event(), anyio.Event()

    async def write_that_ends_uninterruptibly(key, chunks, **kwargs):
        with anyio.CancelScope(shield=True):  # the last step runs on even when cancelled
            paused.set()
            await resume.wait()
            written = await real_write(key, chunks, **kwargs)
        await anyio.sleep(0)  # ...and the cancellation is delivered after it
        return written

    services.blobs.write = write_that_ends_uninterruptibly  # type: ignore[method-assign]
    outcome: dict[str, object] = {}

    async def whole() -> AsyncIterator[bytes]:
        yield DATA

    async def upload() -> None:
        try:
            await services.files.upload_content(
                await services.files.upload_target("shared", None, URI),
                whole(),
                content_type=None,
                filename=None,
            )
        except NotFoundError as exc:
            outcome["error"] = exc

    async with anyio.create_task_group() as group:
        group.start_soon(upload)
        await paused.wait()
        await services.access.delete_space("shared")  # cancels the upload, releases the space's bytes
        resume.set()
    assert "was deleted during the upload" in str(outcome.get("error")), outcome
    assert await blobs_left(services) == []
