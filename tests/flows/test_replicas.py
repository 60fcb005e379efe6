"""Three `vitalgraph serve` replicas on one SeaweedFS bucket and one oxigraph server, and a client that
sends every request to the next replica in turn (a round-robin load balancer, done by the test itself):
any replica serves any request, and nothing is lost or left behind.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from tests.api.conftest import file_node_jsonld, make_space
from tests.fixtures.oxigraph import OxigraphServer
from tests.fixtures.seaweedfs import SeaweedFS
from tests.fixtures.servers import ADMIN_PASSWORD, RunningServer

pytestmark = [pytest.mark.s3, pytest.mark.sparql, pytest.mark.replicas]

MiB = 1024 * 1024
PART = 5 * MiB  # the replicas' S3 part size
TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = {"Content-Type": "application/offset+octet-stream"}
MAX_FAILURES = 4
LOCK_FREED_WITHIN_SECONDS = 40  # the lock of a killed replica expires (15 s) and is taken over


def replica_env(seaweed: SeaweedFS, oxigraph: OxigraphServer, prefix: str) -> dict[str, str]:
    return {
        **seaweed.server_env(prefix, S3_PART_SIZE=str(PART)),
        "VITALGRAPH_GRAPH_BACKEND": "sparql",
        "VITALGRAPH_SPARQL_QUERY_URL": oxigraph.query_url,
        "VITALGRAPH_SPARQL_UPDATE_URL": oxigraph.update_url,
        "VITALGRAPH_JWT_SECRET": "one-secret-shared-by-every-replica-0123456789",
        "VITALGRAPH_GC_INTERVAL_SECONDS": "0",
        "VITALGRAPH_LOGIN_MAX_FAILURES": str(MAX_FAILURES),
    }


@dataclass
class Fleet:
    """The replicas, and clients that take turns over them."""

    servers: list[RunningServer]
    seaweed: SeaweedFS
    prefix: str
    env: dict[str, str]
    start: object = field(repr=False)
    _turns: Iterator[int] = field(default_factory=lambda: itertools.count())

    def client(self, index: int) -> httpx.Client:
        server = self.servers[index]
        return httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {self.servers[0].token()}"}, timeout=120
        )

    def next(self) -> httpx.Client:
        """The next replica in round-robin order."""
        return self.client(next(self._turns) % len(self.servers))

    def objects(self, under: str = "") -> list[str]:
        pages = (
            self.seaweed.boto_client()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self.seaweed.bucket, Prefix=f"{self.prefix}/{under}")
        )
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def unfinished_uploads(self) -> list[str]:
        response = self.seaweed.boto_client().list_multipart_uploads(
            Bucket=self.seaweed.bucket, Prefix=f"{self.prefix}/"
        )
        return [upload["Key"] for upload in response.get("Uploads", [])]


@pytest.fixture(scope="module")
def fleet(server_factory, seaweedfs, oxigraph_server) -> Fleet:
    prefix = f"replicas-{uuid.uuid4().hex[:10]}"
    env = replica_env(seaweedfs, oxigraph_server, prefix)
    servers = [server_factory(env, name=f"{prefix}-{n}") for n in range(3)]
    return Fleet(servers, seaweedfs, prefix, env, server_factory)


@dataclass
class Target:
    space_id: str
    uri: str

    def metadata(self) -> str:
        import base64

        values = {"space_id": self.space_id, "file_uri": self.uri, "filename": "data.bin"}
        return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def new_target(client: httpx.Client) -> Target:
    space_id = make_space(client)
    uri = f"http://example.org/{space_id}/file/{uuid.uuid4().hex}"
    response = client.post("/api/files", params={"space_id": space_id}, json=file_node_jsonld(uri))
    assert response.status_code == 201, response.text
    return Target(space_id, uri)


def new_upload(client: httpx.Client, target: Target, length: int) -> str:
    response = client.post(
        "/api/files/tus/", headers={**TUS, "Upload-Length": str(length), "Upload-Metadata": target.metadata()}
    )
    assert response.status_code == 201, response.text
    return urlpath(response.headers["location"])


def urlpath(url: str) -> str:
    return httpx.URL(url).path


def offset_of(client: httpx.Client, path: str) -> int:
    response = client.head(path, headers=TUS)
    assert response.status_code == 200, response.text
    return int(response.headers["upload-offset"])


def patch(client: httpx.Client, path: str, offset: int, data) -> httpx.Response:
    return client.patch(path, content=data, headers={**TUS, **CHUNK, "Upload-Offset": str(offset)})


def download(client: httpx.Client, target: Target, headers: dict[str, str] | None = None) -> httpx.Response:
    return client.get(
        "/api/files/stream/download", params={"space_id": target.space_id, "uri": target.uri}, headers=headers
    )


def assert_nothing_left_behind(fleet: Fleet, target: Target, content: bytes, blobs_before: list[str]) -> None:
    """The node's bytes are `content`; the upload added exactly one object (no orphan, nothing lost),
    and no resumable state or unfinished multipart upload remains."""
    with fleet.next() as client:
        response = download(client, target)
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == hashlib.sha256(content).hexdigest()
    added = sorted(set(fleet.objects("spaces/")) - set(blobs_before))
    assert len(added) == 1 and len(fleet.objects("spaces/")) == len(blobs_before) + 1, added
    assert fleet.objects(".resumable/") == []
    assert fleet.unfinished_uploads() == []


def test_a_tus_upload_alternates_replicas_on_every_patch(fleet: Fleet):
    before = fleet.objects("spaces/")
    data = os.urandom(3 * PART + 4321)
    with fleet.next() as client:
        target = new_target(client)
        path = new_upload(client, target, len(data))
    offset, step = 0, 2 * MiB + 17  # pieces that end inside and across S3 parts
    while offset < len(data):
        with fleet.next() as here, fleet.next() as there:
            assert offset_of(here, path) == offset  # asked one replica, sent through the next
            response = patch(there, path, offset, data[offset : offset + step])
            assert response.status_code == 204, response.text
            offset = int(response.headers["upload-offset"])
    assert_nothing_left_behind(fleet, target, data, before)


def test_a_replica_killed_mid_patch_and_the_upload_resumes_through_another(fleet: Fleet):
    before = fleet.objects("spaces/")
    victim = fleet.start(fleet.env, name=f"{fleet.prefix}-victim")  # type: ignore[operator]
    data = os.urandom(2 * PART + 999)
    with fleet.client(0) as client:
        target = new_target(client)
        path = new_upload(client, target, len(data))
    go_on = threading.Event()

    def body() -> Iterator[bytes]:
        yield data[: PART + MiB]  # a whole part reaches the bucket, then the sender stalls
        go_on.wait(60)
        yield data[PART + MiB : PART + 2 * MiB]

    def send() -> None:
        with httpx.Client(
            base_url=victim.url, headers={"Authorization": f"Bearer {fleet.servers[0].token()}"}
        ) as c:
            try:
                patch(c, path, 0, body())
            except httpx.HTTPError:
                pass  # the replica died under it

    sender = threading.Thread(target=send)
    sender.start()
    try:
        deadline = time.monotonic() + 30
        with fleet.client(1) as other:
            while offset_of(other, path) < PART:
                assert time.monotonic() < deadline, "the first part never reached the bucket"
                time.sleep(0.1)
            victim.process.kill()  # SIGKILL mid-PATCH: no cleanup, its lock stays until it expires
            victim.process.wait(10)
            offset = offset_of(other, path)
            assert offset == PART  # the part stored survives; the bytes that were only in memory do not
            deadline = time.monotonic() + LOCK_FREED_WITHIN_SECONDS
            while True:
                response = patch(other, path, offset, data[offset:])
                if response.status_code != 409:
                    break
                assert time.monotonic() < deadline, "the dead replica's lock never expired"
                time.sleep(1)
            assert response.status_code == 204, response.text
    finally:
        go_on.set()
        sender.join(30)
    assert_nothing_left_behind(fleet, target, data, before)


def test_two_patches_to_one_upload_through_two_replicas_do_not_run_at_once(fleet: Fleet):
    before = fleet.objects("spaces/")
    data = os.urandom(PART + 100)
    with fleet.client(0) as client:
        target = new_target(client)
        path = new_upload(client, target, len(data))
    go_on = threading.Event()
    results: list[httpx.Response] = []

    def body() -> Iterator[bytes]:
        yield data[: PART + 1]
        go_on.wait(30)
        yield data[PART + 1 : PART + 50]

    sender = threading.Thread(target=lambda: results.append(patch(fleet.client(0), path, 0, body())))
    sender.start()
    try:
        with fleet.client(1) as other:
            deadline = time.monotonic() + 30
            while offset_of(other, path) == 0:
                assert time.monotonic() < deadline
                time.sleep(0.1)
            second = patch(other, path, offset_of(other, path), data[PART + 1 :])
            assert second.status_code == 409, second.text
            assert "in progress" in second.json()["detail"]
            with fleet.client(2) as third:
                assert third.delete(path, headers=TUS).status_code == 409
    finally:
        go_on.set()
        sender.join(30)
    assert results[0].status_code == 204, results[0].text
    with fleet.client(2) as client:
        assert patch(client, path, PART + 50, data[PART + 50 :]).status_code == 204
    assert_nothing_left_behind(fleet, target, data, before)


def test_a_download_is_resumed_through_another_replica(fleet: Fleet):
    data = os.urandom(PART + 12345)
    with fleet.next() as client:
        target = new_target(client)
        response = client.post(
            "/api/files/stream/upload",
            params={"space_id": target.space_id, "uri": target.uri},
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert response.status_code == 200, response.text
    half = len(data) // 2
    with fleet.client(0) as first, fleet.client(1) as second:
        start = download(first, target, {"Range": f"bytes=0-{half - 1}"})
        assert start.status_code == 206
        rest = download(second, target, {"Range": f"bytes={half}-", "If-Range": start.headers["etag"]})
    assert rest.status_code == 206
    assert start.headers["etag"] == rest.headers["etag"]  # the content's SHA-256: the same on every replica
    assert start.content + rest.content == data


def failed_login(client: httpx.Client, username: str) -> int:
    return client.post("/api/login", data={"username": username, "password": "wrong"}).status_code


def test_the_login_throttle_trips_at_the_same_count_as_with_one_replica(fleet: Fleet):
    username = f"mallory-{uuid.uuid4().hex[:8]}"
    clients = [httpx.Client(base_url=server.url) for server in fleet.servers]
    try:
        statuses = [failed_login(clients[n % 3], username) for n in range(MAX_FAILURES)]
        assert statuses == [401] * MAX_FAILURES  # each replica saw only some of them
        for client in clients:
            assert failed_login(client, username) == 429  # every replica counts all of them
        assert (
            clients[1].post("/api/login", data={"username": "admin", "password": ADMIN_PASSWORD}).status_code
            == 200
        )
    finally:
        for client in clients:
            client.close()


def test_concurrent_uploads_to_one_node_through_different_replicas_serialize(fleet: Fleet):
    """Each upload's commit is a compare-and-set on the node's version in the shared graph store: they
    land one after another (versions 1..N, one each), the node ends on one of them, and every other
    upload's bytes are released (no orphan)."""
    before = fleet.objects("spaces/")
    with fleet.client(0) as client:
        target = new_target(client)
    contents = [os.urandom(PART + n * 1000 + 1) for n in range(3)]
    barrier = threading.Barrier(len(contents))
    responses: list[httpx.Response] = [None] * len(contents)  # type: ignore[list-item]

    def upload(n: int) -> None:
        with fleet.client(n % len(fleet.servers)) as client:
            barrier.wait()
            responses[n] = client.post(
                "/api/files/stream/upload",
                params={"space_id": target.space_id, "uri": target.uri},
                content=contents[n],
                headers={"Content-Type": "application/octet-stream"},
            )

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(len(contents))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert [r.status_code for r in responses] == [200] * len(contents), [r.text for r in responses]
    versions = sorted(r.json()["version"] for r in responses)
    assert versions == [versions[0] + n for n in range(len(contents))]  # one after another
    last = max(responses, key=lambda r: r.json()["version"])
    winner = contents[responses.index(last)]
    assert_nothing_left_behind(fleet, target, winner, before)
