"""SIGTERM lets downloads finish (up to SHUTDOWN_GRACE_SECONDS) and aborts uploads cleanly; kill -9
loses no acknowledged write. Each test runs its own server process, since it stops it."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time

import httpx

from tests.faults.backends import backend  # noqa: F401  (local and S3)
from tests.faults.state import (
    LocalStoreView,
    assert_consistent,
    connect,
    content_facts,
    make_file_nodes,
    make_space,
    raw_request_head,
    read_response_head,
)
from tests.fixtures.seaweedfs import seaweedfs  # noqa: F401
from tests.fixtures.servers import start_server

MiB = 1024 * 1024
# uvicorn re-raises the SIGTERM it handled once it has shut down, so a clean exit reads as -SIGTERM.
CLEAN_EXIT = (0, -signal.SIGTERM)


def _upload(api: httpx.Client, space: str, uri: str, data: bytes) -> dict:
    response = api.post("/api/files/stream/upload", params={"space_id": space, "uri": uri}, content=data)
    assert response.status_code == 200, response.text
    return response.json()


def _start_download(server, space: str, uri: str):
    sock = connect(server.url)
    path = f"/api/files/stream/download?space_id={space}&uri={uri}"
    sock.sendall(raw_request_head("GET", path, server.url, server.token(), {}))
    status, first = read_response_head(sock)
    assert status == 200
    return sock, first


# Grace periods far longer than any step of a test takes, even on a loaded machine: "the server did not
# wait for the grace period" is then shown by its exit coming long before it, not by a tight time window.
LONG_GRACE_SECONDS = 600
EXIT_BOUND_SECONDS = 180  # how long a test waits for an exit that must come (a bound for a hang)


def _wait_exit(server, timeout: float) -> float:
    started = time.monotonic()
    server.process.wait(timeout)
    return time.monotonic() - started


def test_sigterm_lets_a_slow_download_finish(server_factory):
    server = server_factory({"VITALGRAPH_SHUTDOWN_GRACE_SECONDS": str(LONG_GRACE_SECONDS)})
    data = os.urandom(16 * MiB)
    with server.client() as api:
        space = make_space(api)
        [uri] = make_file_nodes(api, space, 1)
        _upload(api, space, uri, data)
    sock, received = _start_download(server, space, uri)
    server.process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert server.process.poll() is None, "the server quit with a download in flight"
    while len(received) < len(data):  # the client reads slowly: at most 1 MiB per 20 ms
        piece = sock.recv(MiB)
        assert piece, f"download cut short at {len(received)} of {len(data)} bytes"
        received += piece
        time.sleep(0.02)
    sock.close()
    assert hashlib.sha256(received).digest() == hashlib.sha256(data).digest()
    assert _wait_exit(server, EXIT_BOUND_SECONDS) < LONG_GRACE_SECONDS / 2  # it did not sit out the grace
    assert server.process.returncode in CLEAN_EXIT, server.log()


def test_sigterm_cuts_a_stalled_download_at_the_grace_deadline(server_factory):
    server = server_factory({"VITALGRAPH_SHUTDOWN_GRACE_SECONDS": "1"})
    with server.client() as api:
        space = make_space(api)
        [uri] = make_file_nodes(api, space, 1)
        _upload(api, space, uri, os.urandom(64 * MiB))
    sock, _ = _start_download(server, space, uri)  # and then never reads on
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    server.process.wait(EXIT_BOUND_SECONDS)  # the grace ran out: the stalled download did not hold it
    assert time.monotonic() - started > 0.9  # and it was given its grace first
    sock.close()


def test_sigterm_aborts_an_upload_and_keeps_the_previous_content(server_factory, backend):
    server = server_factory({**backend.env, "VITALGRAPH_SHUTDOWN_GRACE_SECONDS": str(LONG_GRACE_SECONDS)})
    store = backend.view(server)
    old = os.urandom(MiB)
    with server.client() as api:
        space = make_space(api)
        [uri] = make_file_nodes(api, space, 1)
        _upload(api, space, uri, old)
    sock = connect(server.url)
    path = f"/api/files/stream/upload?space_id={space}&uri={uri}"
    sock.sendall(
        raw_request_head("POST", path, server.url, server.token(), {"Content-Length": str(64 * MiB)})
    )
    sock.sendall(
        os.urandom(16 * MiB)
    )  # then the client stalls, as a slow one would (on S3: 3 parts, multipart)
    deadline = time.monotonic() + 10
    while not store.staging():
        assert time.monotonic() < deadline, "the upload should be staging by now"
        time.sleep(0.05)
    server.process.send_signal(signal.SIGTERM)
    status, body = read_response_head(sock)
    assert status == 503
    while not body.endswith(b"}"):
        body += sock.recv(65536)
    assert "shutting down" in json.loads(body)["detail"]
    sock.close()
    assert _wait_exit(server, EXIT_BOUND_SECONDS) < LONG_GRACE_SECONDS / 2, (
        "an upload must not hold the server for the grace period"
    )
    assert server.process.returncode in CLEAN_EXIT, server.log()

    assert store.staging() == []
    restarted = start_server(
        server.data_dir, {k: v for k, v in server.env.items() if k.startswith("VITALGRAPH_")}
    )
    try:
        with restarted.client() as api:
            shas = assert_consistent(api, space, store)
        assert shas == {uri: hashlib.sha256(old).hexdigest()}
    finally:
        restarted.stop()


def test_kill_9_loses_no_acknowledged_write(server_factory):
    server = server_factory()
    acknowledged: dict[str, str] = {}
    with server.client() as api:
        space = make_space(api)
        uris = make_file_nodes(api, space, 30)
        for n, uri in enumerate(uris[:20]):
            acknowledged[uri] = _upload(api, space, uri, os.urandom(1000 + n * 4096))["sha256"]
        renamed = api.put(
            "/api/files",
            params={"space_id": space},
            json=[
                {
                    "@id": uris[25],
                    "@type": "http://vital.ai/ontology/vital#FileNode",
                    "http://vital.ai/ontology/vital-core#hasName": [{"@value": "renamed"}],
                }
            ],
        )
        assert renamed.status_code == 200
    server.process.send_signal(signal.SIGKILL)  # straight after the last acknowledgement
    server.process.wait(10)

    restarted = start_server(
        server.data_dir, {k: v for k, v in server.env.items() if k.startswith("VITALGRAPH_")}
    )
    try:
        with restarted.client() as api:
            facts = content_facts(api, space)
            assert set(facts) == set(uris)
            assert assert_consistent(api, space, LocalStoreView(server.data_dir)) == acknowledged
            node = api.get("/api/files", params={"space_id": space, "uri": uris[25]}).json()
            assert "renamed" in json.dumps(node)
    finally:
        restarted.stop()
