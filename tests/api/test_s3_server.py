"""The server on the S3 store, where S3 itself misbehaves: bad credentials, no endpoint, an outage mid-transfer.

The files API suite already runs on both stores (see conftest.py); these are the cases only S3 has.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from tests.api.conftest import S3_SERVER_PART_SIZE, FileSlot, blob_probe, file_node_jsonld, make_space
from tests.fixtures.seaweedfs import SeaweedFS
from tests.fixtures.servers import ADMIN_PASSWORD, RunningServer, free_port

pytestmark = pytest.mark.s3

MiB = 1024 * 1024


def _new_slot(server: RunningServer) -> FileSlot:
    client = server.client()
    space = make_space(client)
    uri = f"http://example.org/{space}/file"
    assert (
        client.post("/api/files", params={"space_id": space}, json=file_node_jsonld(uri)).status_code == 201
    )
    return FileSlot(space, uri, client)


def _wait_until(condition, timeout: float = 15, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what}: not met within {timeout} s")


# --- a client that goes away, and a limit crossed mid-stream, while a multipart upload runs ------------
def test_disconnect_mid_upload_aborts_the_multipart_upload(s3_server: RunningServer) -> None:
    slot = _new_slot(s3_server)
    probe = blob_probe(s3_server)
    before = probe.objects()
    url = urlsplit(s3_server.url)
    head = (
        f"PUT /api/files/stream/upload?{urlencode(slot.params)} HTTP/1.1\r\nHost: {url.netloc}\r\n"
        f"Authorization: Bearer {s3_server.token()}\r\nContent-Length: {100 * MiB}\r\n\r\n"
    ).encode()
    with socket.create_connection((url.hostname, url.port)) as sock:
        sock.sendall(head)
        for _ in range(3 * S3_SERVER_PART_SIZE // MiB):
            sock.sendall(os.urandom(MiB))
        _wait_until(lambda: probe.unfinished(), what="a multipart upload begun")  # the test is not vacuous
    _wait_until(lambda: not probe.unfinished(), what="the multipart upload aborted")
    assert probe.objects() == before
    assert slot.download().status_code == 404  # the node never pointed at anything


@pytest.fixture(scope="module")
def limited_s3_server(server_factory, seaweedfs: SeaweedFS) -> RunningServer:
    env = seaweedfs.server_env(
        "api-s3-limited", MAX_STREAMING_FILE_SIZE=str(12 * MiB), S3_PART_SIZE=str(5 * MiB)
    )
    return server_factory(env, name="s3-limited")


def test_limit_crossed_after_parts_were_sent_is_413_and_leaves_nothing(
    limited_s3_server: RunningServer,
) -> None:
    slot = _new_slot(limited_s3_server)
    probe = blob_probe(limited_s3_server)
    before = probe.objects()

    def body() -> Iterator[bytes]:  # no Content-Length: the limit is found only as the bytes arrive
        for _ in range(20):
            yield os.urandom(MiB)

    response = slot.client.post("/api/files/stream/upload", params=slot.params, content=body())
    assert response.status_code == 413
    assert "MAX_STREAMING_FILE_SIZE" in response.json()["detail"]
    _wait_until(lambda: not probe.unfinished(), what="the multipart upload aborted")
    assert probe.objects() == before
    assert slot.download().status_code == 404


# --- refusing to start --------------------------------------------------------------------------------
def _serve(env: dict[str, str], data_dir, timeout: float = 60) -> tuple[subprocess.CompletedProcess, float]:  # type: ignore[no-untyped-def]
    command = [
        sys.executable,
        "-m",
        "vitalgraph.cli",
        "serve",
        "--port",
        str(free_port()),
        "--data-dir",
        str(data_dir),
        "--log-level",
        "warning",
    ]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VITALGRAPH_")}
    started = time.monotonic()
    result = subprocess.run(
        command,
        env={**clean, "VITALGRAPH_ADMIN_PASSWORD": ADMIN_PASSWORD, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return result, time.monotonic() - started


def test_wrong_credentials_stop_serve_with_one_clear_line(seaweedfs: SeaweedFS, tmp_path) -> None:
    env = seaweedfs.server_env("refused", S3_SECRET_ACCESS_KEY="not-the-secret")
    result, _ = _serve(env, tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("vitalgraph: cannot start: S3 at ")
    assert "rejected the credentials" in lines[0] and "S3_SECRET_ACCESS_KEY" in lines[0]
    assert "not-the-secret" not in result.stderr


def test_unreachable_endpoint_stops_serve_within_seconds(tmp_path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    env = {
        "VITALGRAPH_BLOB_BACKEND": "s3",
        "VITALGRAPH_S3_ENDPOINT_URL": nobody,
        "VITALGRAPH_S3_ACCESS_KEY_ID": "k",
        "VITALGRAPH_S3_SECRET_ACCESS_KEY": "s",
    }
    result, elapsed = _serve(env, tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith(
        f"vitalgraph: cannot start: S3 endpoint {nobody} is unreachable"
    )
    assert elapsed < 15, f"took {elapsed:.1f} s"  # Python start-up included


# --- S3 going away while the server runs -----------------------------------------------------------
@pytest.fixture
def doomed_s3(private_seaweedfs: SeaweedFS, server_factory) -> Iterator[tuple[SeaweedFS, RunningServer]]:
    """A server on a SeaweedFS of its own, which the test kills."""
    server = server_factory(
        private_seaweedfs.server_env("doomed", S3_PART_SIZE=str(5 * MiB)), name=f"doomed-{free_port()}"
    )
    yield private_seaweedfs, server
    server.stop()


def _kill(seaweed: SeaweedFS) -> None:
    """Gone at once, as when the S3 host dies: no graceful end to the transfers in flight."""
    os.killpg(seaweed.process.pid, signal.SIGKILL)
    seaweed.process.wait(10)


def _assert_clear_503(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    detail = response.json()["detail"]
    assert "S3 endpoint" in detail or "S3 at" in detail, detail


def test_s3_stopped_mid_upload_is_503_or_a_cut_connection_then_503(doomed_s3) -> None:
    seaweed, server = doomed_s3
    slot = _new_slot(server)
    sent = threading.Event()

    def body() -> Iterator[bytes]:
        for i in range(200):
            if i == 20:
                sent.set()
            yield os.urandom(MiB)
            if i >= 20:
                time.sleep(0.02)

    killer = threading.Thread(target=lambda: (sent.wait(30), _kill(seaweed)))
    killer.start()
    started = time.monotonic()
    try:
        response = slot.client.post(
            "/api/files/stream/upload", params=slot.params, content=body(), timeout=60
        )
    except httpx.TransportError:
        response = None  # the server gave up and cut the connection: never a 200
    killer.join()
    assert time.monotonic() - started < 45
    if response is not None:
        _assert_clear_503(response)
    _assert_clear_503(slot.upload(b"later"))
    with server.client() as api:
        node = api.get("/api/files", params=slot.params).json()  # the graph store still answers
    assert "http://vital.ai/ontology/vital#hasFileLength" not in node


def test_s3_stopped_mid_download_cuts_the_connection_then_503(doomed_s3) -> None:
    seaweed, server = doomed_s3
    slot = _new_slot(server)
    size = 64 * MiB
    assert slot.upload(os.urandom(MiB) * 64).status_code == 200
    received = 0
    started = time.monotonic()
    with pytest.raises(httpx.TransportError):
        with slot.client.stream(
            "GET", "/api/files/stream/download", params=slot.params, timeout=30
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-length"] == str(size)
            for chunk in response.iter_bytes():
                received += len(chunk)
                if received >= 2 * MiB and seaweed.process.poll() is None:
                    _kill(seaweed)
    assert received < size  # cut short, and the client knows it: never a download that looks complete
    assert time.monotonic() - started < 45
    _assert_clear_503(slot.download())
    _assert_clear_503(slot.download({"Range": "bytes=0-9"}))
