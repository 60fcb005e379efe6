"""Real network faults between a client and a real server: a TCP proxy that cuts the connection in
the middle of a download, or changes one byte of it."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
import threading
from collections.abc import Iterator

import pytest

from tests.client.conftest import CREDENTIALS
from tests.fixtures.servers import RunningServer
from vitalgraph.client import AsyncVitalGraphClient, ChecksumMismatchError, VitalGraphClient
from vitalgraph.model import FileNode

MiB = 1024 * 1024
DATA = os.urandom(8 * MiB + 99)
SHA = hashlib.sha256(DATA).hexdigest()


class FaultyProxy:
    """Forwards TCP connections to the server. The first connection on which the server sends more
    than `after` bytes is cut at that byte, or (with `flip`) has that byte changed."""

    def __init__(self, server_url: str, *, after: int, flip: bool = False) -> None:
        host, port = server_url.removeprefix("http://").split(":")
        self.target = (host, int(port))
        self.after = after
        self.flip = flip
        self.faults_left = 1
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                caller, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            threading.Thread(target=self._forward, args=(caller, upstream, False), daemon=True).start()
            threading.Thread(target=self._forward, args=(upstream, caller, True), daemon=True).start()

    def _forward(self, source: socket.socket, sink: socket.socket, from_server: bool) -> None:
        seen = 0
        try:
            while data := source.recv(MiB):
                if from_server and seen <= self.after < seen + len(data) and self._take_fault():
                    cut = self.after - seen
                    if not self.flip:
                        sink.sendall(data[:cut])
                        break
                    data = data[:cut] + bytes([data[cut] ^ 0x01]) + data[cut + 1 :]
                seen += len(data)
                sink.sendall(data)
        except OSError:
            pass
        for sock in (sink, source):  # shutdown, not just close: it also wakes the other direction's recv()
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _take_fault(self) -> bool:
        with self._lock:
            if self.faults_left:
                self.faults_left -= 1
                return True
            return False


@pytest.fixture(scope="module")
def stored(local_server: RunningServer) -> Iterator[tuple[str, str]]:
    with VitalGraphClient(local_server.url, **CREDENTIALS) as client:
        space = f"faults-{os.getpid()}"
        client.spaces.create_space(space)
        uri = f"http://example.org/{space}/big"
        client.files.create_file(space, [FileNode(uri)])
        client.files.upload_file_stream(space, None, uri, DATA)
        yield space, uri
        client.spaces.delete_space(space)


def download_through(proxy: FaultyProxy, backend: str, space: str, uri: str, target) -> object:
    options = {**CREDENTIALS, "retry_backoff": 0.01}
    if backend == "sync":
        with VitalGraphClient(proxy.url, **options) as client:
            return client.files.download_file_stream(space, None, uri, target)

    async def run() -> object:
        async with AsyncVitalGraphClient(proxy.url, http_backend=backend, **options) as client:
            return await client.files.download_file_stream(space, None, uri, target)

    return asyncio.run(run())


@pytest.mark.parametrize("backend", ["sync", "aiohttp", "httpx"])
def test_download_survives_a_cut_connection(local_server, stored, tmp_path, backend):
    proxy = FaultyProxy(local_server.url, after=3 * MiB)
    try:
        result = download_through(proxy, backend, *stored, tmp_path / "big.bin")
    finally:
        proxy.close()
    assert proxy.faults_left == 0, "the proxy never cut the connection"
    assert result.resumed == 1
    assert hashlib.sha256((tmp_path / "big.bin").read_bytes()).hexdigest() == SHA


@pytest.mark.parametrize("backend", ["sync", "aiohttp"])
def test_a_changed_byte_on_the_wire_is_detected(local_server, stored, tmp_path, backend):
    proxy = FaultyProxy(local_server.url, after=5 * MiB, flip=True)
    try:
        with pytest.raises(ChecksumMismatchError) as mismatch:
            download_through(proxy, backend, *stored, tmp_path / "big.bin")
    finally:
        proxy.close()
    assert mismatch.value.expected == SHA
    assert not (tmp_path / "big.bin").exists() and not (tmp_path / "big.bin.part").exists()
