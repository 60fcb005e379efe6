"""File versions under the fault campaign, on both blob stores: the server killed with -9 while several
writers replace their files again and again. After gc and a restart every file's current content is
its last acknowledged upload or the one in flight, its versions are exactly the contents before that,
newest first and trimmed at FILE_VERSIONS_KEPT (none lost, none doubled), each version's bytes match
its SHA-256, and the store holds exactly the blobs nodes and versions name: 0 lost, 0 orphans.
(About a minute per store: gc runs once the blob claims the killed server held have expired.)"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time

import httpx

from tests.faults.state import make_file_nodes, make_space
from tests.fixtures.servers import start_server

KEPT = 2
# A claim the kill left behind holds its blob until it expires: shorter than the default 60 s so that
# the test waits less, still far above how long a live release holds one.
BLOB_CLAIM_TTL_SECONDS = 8
WRITERS = 4


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _replace_until_killed(server, space: str, uri: str, sent: list[bytes], acked: list[bytes]) -> None:
    """Upload new content to one node, one after the other, until the server dies."""
    with server.client() as api:
        n = 0
        while True:
            data = f"{uri} content {n}\n".encode() * (1 + n % 50)
            sent.append(data)
            try:
                response = api.post(
                    "/api/files/stream/upload", params={"space_id": space, "uri": uri}, content=data
                )
            except httpx.HTTPError:
                return
            if response.status_code != 200:
                return
            acked.append(data)
            n += 1


def _versions(api: httpx.Client, space: str, uri: str) -> list[dict]:
    response = api.get("/api/files/versions", params={"space_id": space, "uri": uri})
    assert response.status_code == 200, response.text
    return response.json()["versions"]


def _download(api: httpx.Client, space: str, uri: str, version: int | None = None) -> bytes:
    params = {"space_id": space, "uri": uri, **({"version": version} if version is not None else {})}
    response = api.get("/api/files/stream/download", params=params)
    assert response.status_code == 200, response.text
    return response.content


def test_kill_9_during_replaces_keeps_every_version_once_and_leaves_no_orphan(server_factory, backend):
    server = server_factory(
        {
            **backend.env,
            "VITALGRAPH_FILE_VERSIONS_KEPT": str(KEPT),
            "VITALGRAPH_BLOB_CLAIM_TTL_SECONDS": str(BLOB_CLAIM_TTL_SECONDS),
        }
    )
    store = backend.view(server)
    env = {k: v for k, v in server.env.items() if k.startswith("VITALGRAPH_")}
    with server.client() as api:
        space = make_space(api)
        uris = make_file_nodes(api, space, WRITERS)
    sent: dict[str, list[bytes]] = {uri: [] for uri in uris}
    acked: dict[str, list[bytes]] = {uri: [] for uri in uris}
    writers = [
        threading.Thread(target=_replace_until_killed, args=(server, space, uri, sent[uri], acked[uri]))
        for uri in uris
    ]
    for writer in writers:
        writer.start()
    deadline = time.monotonic() + 60
    while min(len(a) for a in acked.values()) < KEPT + 3:  # every file has versions to lose
        assert time.monotonic() < deadline, "the writers made no progress"
        time.sleep(0.05)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(10)
    killed = time.monotonic()
    for writer in writers:
        writer.join(30)
    # a release the kill cut short leaves its blob's claim behind until it expires; till then gc (and
    # any release) leaves that blob alone, as it must: it cannot tell a dead holder from a slow one
    time.sleep(max(0.0, killed + BLOB_CLAIM_TTL_SECONDS + 1 - time.monotonic()))
    gc = subprocess.run(
        [sys.executable, "-m", "vitalgraph.cli", "gc", "--data-dir", str(server.data_dir)]
        + ["--stale-upload-seconds", "0", "--orphan-min-age-seconds", "0"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert gc.returncode == 0, gc.stderr
    server = start_server(server.data_dir, env)
    try:
        with server.client() as api:
            for uri in uris:
                history = (
                    acked[uri] + sent[uri][len(acked[uri]) :]
                )  # the acknowledged, then the one in flight
                current = _download(api, space, uri)
                assert current in (acked[uri][-1], *sent[uri][len(acked[uri]) :]), uri
                position = len(history) - 1 - history[::-1].index(current)
                kept = _versions(api, space, uri)
                expected = history[max(0, position - KEPT) : position][::-1]
                assert [v["sha256"] for v in kept] == [_sha(d) for d in expected], uri
                assert len({v["version"] for v in kept}) == len(kept)
                for version, data in zip(kept, expected, strict=True):
                    assert _download(api, space, uri, version["version"]) == data
            report = api.get("/api/admin/verify", params={"orphan_min_age_seconds": 0}).json()
            assert (report["ok"], report["missing"], report["orphaned"]) == (True, [], []), report
            assert store.staging() == []
            # every blob is a node's or a version's: the store holds at most that many, none else
            assert len(store.stored()) <= len(uris) * (KEPT + 1)
            for uri in uris:
                assert api.delete("/api/files", params={"space_id": space, "uri": uri}).status_code == 200
            assert store.stored() == {}  # deleting the nodes released their versions too
    finally:
        server.stop()
