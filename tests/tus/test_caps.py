"""Per-user caps on open tus uploads and the bytes they reserve (issue 12, finding 9): 429 naming the
cap, counted from the upload records every process sharing DATA_DIR/tus sees; on both blob stores."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Iterator

import anyio
import httpx
import pytest

from tests.fixtures.servers import RunningServer
from tests.tus.conftest import TUS, Target, make_target, server_env
from tests.tus.test_access import _user
from vitalgraph.config import load_settings
from vitalgraph.errors import TooManyRequestsError
from vitalgraph.model import FileNode
from vitalgraph.services.container import Services
from vitalgraph.services.tus import TusService
from vitalgraph.services.upload_locks import GraphUploadLocks

MAX_UPLOADS = 3
MAX_BYTES = 100_000


@pytest.fixture(scope="module", params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def capped_server(request: pytest.FixtureRequest, server_factory) -> RunningServer:
    env = server_env(
        request.param,
        request,
        VITALGRAPH_TUS_MAX_UPLOADS_PER_USER=str(MAX_UPLOADS),
        VITALGRAPH_TUS_MAX_BYTES_PER_USER=str(MAX_BYTES),
    )
    return server_factory(env, name=f"tus-capped-{request.param}-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def target(capped_server: RunningServer) -> Iterator[Target]:
    with capped_server.client() as admin:
        yield make_target(capped_server, admin)


@pytest.fixture
def user(target: Target) -> Iterator[Target]:
    """The target space, seen by a fresh writer with a write grant on it (a count of their own)."""
    client = _user(target.client, target.server.url, "writer")
    grant = target.client.put(
        f"/api/spaces/{target.space_id}/grants/{client.username}", json={"level": "write"}
    )
    assert grant.status_code == 200, grant.text
    with client:
        yield Target(target.server, client, target.space_id, target.uri)


def assert_429(response: httpx.Response, *fragments: str) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    for fragment in fragments:
        assert fragment in response.json()["detail"], response.json()["detail"]


def test_open_uploads_are_capped_per_user(user: Target, target: Target) -> None:
    urls = [user.new_upload(10) for _ in range(MAX_UPLOADS)]
    assert_429(user.create(10), f"TUS_MAX_UPLOADS_PER_USER={MAX_UPLOADS}", "3 unfinished resumable uploads")
    assert target.create(10).status_code == 201  # another user is not held back
    assert user.client.delete(urls.pop(), headers=TUS).status_code == 204  # terminating frees a place
    urls.append(user.new_upload(10))
    assert user.patch(urls.pop(), 0, b"0123456789").status_code == 204  # so does finishing
    assert user.create(10).status_code == 201
    assert_429(user.create(10), "TUS_MAX_UPLOADS_PER_USER")


def test_reserved_bytes_are_capped_per_user(user: Target) -> None:
    first = user.new_upload(MAX_BYTES - 100)
    assert_429(user.create(101), f"TUS_MAX_BYTES_PER_USER={MAX_BYTES}", f"{MAX_BYTES - 100} bytes reserved")
    assert user.create(100).status_code == 201  # exactly up to the cap
    assert_429(user.create(1), "TUS_MAX_BYTES_PER_USER")
    assert user.client.delete(first, headers=TUS).status_code == 204
    assert user.create(MAX_BYTES - 100).status_code == 201


def test_a_deferred_length_upload_stages_no_more_than_the_cap(user: Target) -> None:
    user.new_upload(MAX_BYTES // 2)
    url = user.new_upload(None)
    response = user.patch(url, 0, b"x" * MAX_BYTES)
    assert_429(response, "TUS_MAX_BYTES_PER_USER")
    offset = int(user.head(url).headers["upload-offset"])
    assert offset <= MAX_BYTES // 2  # what it staged still fits beside the other upload
    assert_429(user.patch(url, offset, b"", **{"Upload-Length": str(MAX_BYTES)}), "TUS_MAX_BYTES_PER_USER")
    assert user.patch(url, offset, b"y" * 10, **{"Upload-Length": str(offset + 10)}).status_code == 204


# --- in-process: the count is taken from the shared records, and creates do not race past it ----
@pytest.fixture
async def services(tmp_path):
    started = await Services.start(
        load_settings(
            DATA_DIR=tmp_path, ADMIN_PASSWORD="pw", GC_INTERVAL_SECONDS=0, TUS_MAX_UPLOADS_PER_USER=3
        )
    )
    await started.spaces.create("caps")
    await started.files.create_files("caps", None, [FileNode(URI="http://example.org/caps")])
    yield started
    await started.stop()


TARGET = {"space_id": "caps", "file_uri": "http://example.org/caps"}


@pytest.mark.anyio
async def test_concurrent_creates_do_not_pass_the_cap(services) -> None:
    results = await asyncio.gather(
        *(services.tus.create("alice", dict(TARGET), 10) for _ in range(10)), return_exceptions=True
    )
    assert sum(not isinstance(r, Exception) for r in results) == 3
    assert all(isinstance(r, TooManyRequestsError) for r in results if isinstance(r, Exception))


def another_replica(services) -> TusService:
    """A TusService with its own process state (locks, in-process lock) on the same stores."""
    return TusService(
        services.files,
        services.blobs,
        max_size=None,
        expiry_seconds=60,
        locks=GraphUploadLocks(services.graph),
        max_uploads_per_user=3,
    )


@pytest.mark.anyio
async def test_concurrent_creates_through_two_replicas_do_not_pass_the_cap(services) -> None:
    replicas = [services.tus, another_replica(services)]
    results = await asyncio.gather(
        *(replicas[n % 2].create("carol", dict(TARGET), 10) for n in range(10)), return_exceptions=True
    )
    assert sum(not isinstance(r, Exception) for r in results) == 3, results
    assert all(isinstance(r, TooManyRequestsError) for r in results if isinstance(r, Exception))


@pytest.mark.anyio
async def test_a_user_waiting_for_their_turn_holds_up_no_other_user(services) -> None:
    other = another_replica(services)
    turn = "caps-" + hashlib.sha256(b"erin").hexdigest()
    assert await other.locks.try_acquire(turn)  # erin's create is under way on another replica
    try:
        waiting = asyncio.create_task(services.tus.create("erin", dict(TARGET), 10))
        await asyncio.sleep(0.1)
        with anyio.fail_after(2):  # not CAP_TURN_SECONDS behind erin
            await services.tus.create("frank", dict(TARGET), 10)
        assert not waiting.done()
    finally:
        await other.locks.release(turn)
    assert (await waiting).owner == "erin"


@pytest.mark.anyio
async def test_a_second_process_on_the_same_records_counts_the_first_ones_uploads(services) -> None:
    first, second = services.tus, another_replica(services)
    for _ in range(2):
        await first.create("bob", dict(TARGET), 10)
    await second.create("bob", dict(TARGET), 10)
    with pytest.raises(TooManyRequestsError, match="TUS_MAX_UPLOADS_PER_USER=3"):
        await second.create("bob", dict(TARGET), 10)
    with pytest.raises(TooManyRequestsError):
        await first.create("bob", dict(TARGET), 10)
