"""Fault campaign (bounded): clients cut at random byte offsets, the server killed with -9 mid-transfer,
interrupted downloads resumed. After each, nothing may be lost or left behind:
- no staging file and no blob that no file node references (after `vitalgraph gc` for kills);
- every node that says it has content serves exactly the bytes of the SHA-256 it records, and a node
  whose new upload failed still has its previous content.

Sizes here keep `make test` quick; benchmarks/faults.py runs the same tests with more of everything
(VITALGRAPH_FAULT_UPLOADS, VITALGRAPH_FAULT_KILLS, VITALGRAPH_FAULT_SEED).
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

from tests.client.test_network_faults import FaultyProxy
from tests.faults.state import (
    assert_consistent,
    connect,
    content_facts,
    make_file_nodes,
    make_space,
    raw_request_head,
)
from tests.fixtures.servers import ADMIN_PASSWORD, start_server
from vitalgraph.client import VitalGraphClient

KiB, MiB = 1024, 1024 * 1024
UPLOADS = int(os.environ.get("VITALGRAPH_FAULT_UPLOADS", "20"))
KILLS = int(os.environ.get("VITALGRAPH_FAULT_KILLS", "3"))
SEED = int(os.environ.get("VITALGRAPH_FAULT_SEED", "20261201"))


def _env(server) -> dict[str, str]:
    return {k: v for k, v in server.env.items() if k.startswith("VITALGRAPH_")}


def _upload(api, space: str, uri: str, data: bytes) -> str:
    response = api.post("/api/files/stream/upload", params={"space_id": space, "uri": uri}, content=data)
    assert response.status_code == 200, response.text
    return response.json()["sha256"]


def _seed_previous_content(api, space: str, uris: list[str], rng: random.Random) -> dict[str, str | None]:
    """Half the nodes get content first: a failed new upload must leave it intact."""
    expected: dict[str, str | None] = {}
    for n, uri in enumerate(uris):
        expected[uri] = _upload(api, space, uri, rng.randbytes(rng.randint(1, 64 * KiB))) if n % 2 else None
    return expected


def _abort(sock: socket.socket, reset: bool) -> None:
    if reset:  # RST instead of FIN: the server sees a connection error, not an orderly end
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _partial_upload(server, space: str, uri: str, data: bytes, cut: int, mode: str) -> socket.socket:
    """Send the request and the first `cut` bytes of its body; the caller then kills the connection."""
    sock = connect(server.url)
    query = f"space_id={space}&uri={uri}"
    if mode == "multipart":
        boundary = "fault-boundary"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        body = head + data + f"\r\n--{boundary}--\r\n".encode()
        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(body)),
        }
        sock.sendall(
            raw_request_head("POST", f"/api/files/upload?{query}", server.url, server.token(), headers)
        )
        sock.sendall(body[: len(head) + cut])
    elif mode == "chunked":
        headers = {"Transfer-Encoding": "chunked", "Content-Type": "application/octet-stream"}
        sock.sendall(
            raw_request_head("POST", f"/api/files/stream/upload?{query}", server.url, server.token(), headers)
        )
        sent = 0
        while sent < cut:
            piece = data[sent : sent + 64 * KiB]
            frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
            sock.sendall(frame if sent + len(piece) <= cut else frame[: 8 + cut - sent])
            sent += len(piece)
    else:
        headers = {"Content-Length": str(len(data)), "Content-Type": "application/octet-stream"}
        sock.sendall(
            raw_request_head("PUT", f"/api/files/stream/upload?{query}", server.url, server.token(), headers)
        )
        sock.sendall(data[:cut])
    return sock


def _wait_for(condition, timeout: float = 15, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_uploads_cut_at_random_byte_offsets_lose_and_leave_nothing(server_factory, backend):
    rng = random.Random(SEED)
    server = server_factory(backend.env)
    store = backend.view(server)
    largest = 12 * MiB if backend.name == "s3" else 3 * MiB  # on S3, past the 5 MiB part: multipart uploads
    with server.client() as api:
        space = make_space(api)
        uris = make_file_nodes(api, space, UPLOADS)
        expected = _seed_previous_content(api, space, uris, rng)
    modes = ["raw", "chunked", "multipart"]
    for n, uri in enumerate(uris):
        data = rng.randbytes(rng.randint(2, largest))
        cut = rng.randint(0, len(data) - 1)  # never the whole body
        sock = _partial_upload(server, space, uri, data, cut, modes[n % 3])
        time.sleep(rng.uniform(0, 0.05))
        _abort(sock, reset=rng.random() < 0.5)
        _wait_for(lambda: not store.staging(), what=f"upload {n} to clean up its unfinished upload")
    with server.client() as api:
        assert {u: (f[0] if f else None) for u, f in content_facts(api, space).items()} == expected
        assert_consistent(api, space, store)
        # and the server is fine: a complete upload to a node that was hit still works
        fresh = rng.randbytes(100 * KiB)
        assert _upload(api, space, uris[0], fresh) == hashlib.sha256(fresh).hexdigest()


class _SlowSender(threading.Thread):
    """Streams an upload in small pieces until the server dies under it."""

    def __init__(self, server, space: str, uri: str, size: int) -> None:
        super().__init__(daemon=True)
        self.sock = connect(server.url)
        head = {"Content-Length": str(size), "Content-Type": "application/octet-stream"}
        self.sock.sendall(
            raw_request_head(
                "PUT",
                f"/api/files/stream/upload?space_id={space}&uri={uri}",
                server.url,
                server.token(),
                head,
            )
        )
        self.size = size

    def run(self) -> None:
        piece = os.urandom(128 * KiB)
        sent = 0
        try:
            while sent + len(piece) < self.size:
                self.sock.sendall(piece)
                sent += len(piece)
                time.sleep(0.01)
        except OSError:
            pass


def test_kill_9_mid_transfer_then_gc_loses_and_leaves_nothing(server_factory, backend):
    rng = random.Random(SEED + 1)
    server = server_factory(backend.env)
    store = backend.view(server)
    with server.client() as api:
        space = make_space(api)
        *uris, big_uri = make_file_nodes(api, space, 7)
        expected = _seed_previous_content(api, space, uris, rng)
        expected[big_uri] = _upload(api, space, big_uri, rng.randbytes(32 * MiB))
    for kill in range(KILLS):
        senders = [_SlowSender(server, space, uri, 256 * MiB) for uri in uris]
        for sender in senders:
            sender.start()
        reader = connect(server.url)  # and a download in flight, too
        reader.sendall(
            raw_request_head(
                "GET",
                f"/api/files/stream/download?space_id={space}&uri={big_uri}",
                server.url,
                server.token(),
                {},
            )
        )
        _wait_for(lambda: len(store.staging()) == len(uris), what="every upload to be staging")
        time.sleep(rng.uniform(0.05, 0.5))
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(10)
        for sender in senders:
            sender.sock.close()
            sender.join(10)
        reader.close()
        assert len(store.staging()) == len(uris)  # the crash left them: gc's job

        gc = subprocess.run(
            [
                sys.executable,
                "-m",
                "vitalgraph.cli",
                "gc",
                "--data-dir",
                str(server.data_dir),
                "--stale-upload-seconds",
                "0",
                "--orphan-min-age-seconds",
                "0",
            ],
            env={**os.environ, **_env(server)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert gc.returncode == 0, gc.stderr
        assert f"removed {len(uris)} unfinished uploads" in gc.stdout
        assert store.staging() == []

        server = start_server(server.data_dir, _env(server))
        try:
            with server.client() as api:
                assert {u: (f[0] if f else None) for u, f in content_facts(api, space).items()} == expected
                assert_consistent(api, space, store)
        finally:
            if kill == KILLS - 1:
                server.stop()


def _download_prefix(server, space: str, uri: str, upto: int) -> tuple[bytes, str]:
    """Read the first `upto` bytes of a download, then drop the connection; returns them and the ETag."""
    sock = connect(server.url)
    sock.sendall(
        raw_request_head(
            "GET", f"/api/files/stream/download?space_id={space}&uri={uri}", server.url, server.token(), {}
        )
    )
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(64 * KiB)
    head, _, got = data.partition(b"\r\n\r\n")
    etag = next(
        line.split(b":", 1)[1].strip().decode()
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"etag:")
    )
    while len(got) < upto:
        got += sock.recv(min(64 * KiB, upto - len(got)))
    _abort(sock, reset=True)
    return got[:upto], etag


def test_interrupted_downloads_resume_to_the_right_bytes(server_factory, tmp_path):
    rng = random.Random(SEED + 2)
    server = server_factory()
    data = rng.randbytes(12 * MiB + 7)
    with server.client() as api:
        space = make_space(api)
        [uri] = make_file_nodes(api, space, 1)
        _upload(api, space, uri, data)
        # raw HTTP: cut at random offsets, then ask for the rest with Range + If-Range
        for _ in range(UPLOADS // 2):
            offset = rng.randint(1, len(data) - 1)
            head, etag = _download_prefix(server, space, uri, offset)
            rest = api.get(
                "/api/files/stream/download",
                params={"space_id": space, "uri": uri},
                headers={"Range": f"bytes={offset}-", "If-Range": etag},
            )
            assert rest.status_code == 206
            assert hashlib.sha256(head + rest.content).digest() == hashlib.sha256(data).digest()
        # If-Range with an outdated ETag gets the whole new content, never a mix of old and new
        head, etag = _download_prefix(server, space, uri, 1000)
        replaced = rng.randbytes(3 * MiB)
        _upload(api, space, uri, replaced)
        rest = api.get(
            "/api/files/stream/download",
            params={"space_id": space, "uri": uri},
            headers={"Range": "bytes=1000-", "If-Range": etag},
        )
        assert rest.status_code == 200 and rest.content == replaced
        data = replaced

    # the library client, through a proxy that cuts the connection at a random byte
    for n in range(3):
        proxy = FaultyProxy(server.url, after=rng.randint(64 * KiB, len(data) - 1))
        try:
            with VitalGraphClient(
                proxy.url, username="admin", password=ADMIN_PASSWORD, retry_backoff=0.01
            ) as client:
                result = client.files.download_file_stream(space, None, uri, tmp_path / f"d{n}.bin")
        finally:
            proxy.close()
        assert proxy.faults_left == 0 and result.resumed == 1
        assert (tmp_path / f"d{n}.bin").read_bytes() == data

    # the server killed mid-download and restarted: the download resumes from where it stopped
    head, etag = _download_prefix(server, space, uri, rng.randint(1, len(data) - 1))
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(10)
    server = start_server(server.data_dir, _env(server))
    try:
        with server.client() as api:
            rest = api.get(
                "/api/files/stream/download",
                params={"space_id": space, "uri": uri},
                headers={"Range": f"bytes={len(head)}-", "If-Range": etag},
            )
        assert rest.status_code == 206 and head + rest.content == data
    finally:
        server.stop()
