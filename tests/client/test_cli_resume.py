"""`vitalgraph files download` across runs: a real CLI process is interrupted with SIGINT (Ctrl-C) mid-body,
keeps NAME.part and its ETag, and the next run continues with If-Range, or starts over if the file changed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.servers import ADMIN_PASSWORD
from vitalgraph.client import VitalGraphClient
from vitalgraph.model import FileNode

MiB = 1024 * 1024
FILE_SIZE = 8 * MiB
PASS_BYTES = 3 * MiB  # what the proxy lets through before it stalls the download
WAIT_SECONDS = 120  # an upper bound on waiting for an event, never a window a result must fall in


class StallingProxy:
    """A loopback TCP proxy that passes `budget` bytes from the server, then holds the rest back."""

    def __init__(self, target_port: int, budget: int) -> None:
        self.target_port = target_port
        self.budget = budget
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.closed = threading.Event()
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            self.sockets += [client, server]
            threading.Thread(target=self._pipe, args=(client, server, None), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, self.budget), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, budget: int | None) -> None:
        try:
            while data := source.recv(64 * 1024 if budget is None else min(64 * 1024, budget) or 1):
                if budget is not None:
                    if budget == 0:
                        self.closed.wait()  # hold the rest back until the test ends
                        return
                    budget -= len(data)
                sink.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        self.closed.set()
        for sock in [self.listener, *self.sockets]:
            sock.close()


@pytest.fixture
def shared(local_server, tmp_path) -> Iterator[dict]:
    with VitalGraphClient(local_server.url, username="admin", password=ADMIN_PASSWORD) as client:
        space = f"resume-{os.urandom(4).hex()}"
        client.spaces.create_space(space)
        uri = "http://example.org/resume/big"
        client.files.create_file(space, [FileNode(uri, name="big.bin")])
        content = os.urandom(FILE_SIZE)
        client.files.upload_file_stream(space, None, uri, content)
        yield {"client": client, "space": space, "uri": uri, "content": content, "server": local_server}
        client.spaces.delete_space(space)


def cli(server_url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "vitalgraph.cli", "files", "--server-url", server_url, *args]


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITALGRAPH_")}
    env.update(VITALGRAPH_CLIENT_USERNAME="admin", VITALGRAPH_CLIENT_PASSWORD=ADMIN_PASSWORD)
    return env


def interrupted_download(shared: dict, target: Path, *extra: str) -> subprocess.CompletedProcess:
    """Run the CLI through a stalling proxy, wait until part of the file is on disk, then Ctrl-C it."""
    proxy = StallingProxy(int(shared["server"].url.rsplit(":", 1)[1]), PASS_BYTES)
    part = target.with_name(target.name + ".part")
    try:
        process = subprocess.Popen(
            cli(
                f"http://127.0.0.1:{proxy.port}",
                "download",
                shared["space"],
                shared["uri"],
                str(target),
                *extra,
            ),
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + WAIT_SECONDS
        while not (part.exists() and part.stat().st_size >= MiB):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the download never got going"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=WAIT_SECONDS)
    finally:
        proxy.close()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def download(shared: dict, target: Path, *extra: str) -> subprocess.CompletedProcess:
    command = cli(shared["server"].url, "download", shared["space"], shared["uri"], str(target), *extra)
    return subprocess.run(command, env=cli_env(), capture_output=True, text=True, timeout=WAIT_SECONDS)


def test_an_interrupted_download_continues_in_the_next_run(shared, tmp_path):
    target = tmp_path / "big.bin"
    stopped = interrupted_download(shared, target)
    assert stopped.returncode == 130, stopped.stderr
    part, etag = tmp_path / "big.bin.part", tmp_path / "big.bin.part.etag"
    kept = part.stat().st_size
    assert MiB <= kept < FILE_SIZE and f"kept {kept} bytes" in stopped.stderr
    assert part.read_bytes() == shared["content"][:kept]
    assert (
        etag.read_text().strip().strip('"')
        == shared["client"].files.get_content_info(shared["space"], None, shared["uri"]).sha256
    )
    assert not target.exists()

    finished = download(shared, target)
    assert finished.returncode == 0, finished.stderr
    assert f"continued the interrupted download from byte {kept} of {FILE_SIZE}" in finished.stdout
    assert target.read_bytes() == shared["content"]
    assert not part.exists() and not etag.exists()


def test_a_file_changed_on_the_server_starts_over_and_says_so(shared, tmp_path):
    target = tmp_path / "big.bin"
    assert interrupted_download(shared, target).returncode == 130
    replaced = os.urandom(FILE_SIZE // 2)
    shared["client"].files.upload_file_stream(shared["space"], None, shared["uri"], replaced)
    finished = download(shared, target)
    assert finished.returncode == 0, finished.stderr
    assert "the file changed on the server since the interrupted download: started over" in finished.stdout
    assert "continued" not in finished.stdout
    assert target.read_bytes() == replaced


def test_a_part_that_does_not_add_up_is_discarded_not_continued(shared, tmp_path):
    target = tmp_path / "big.bin"
    assert interrupted_download(shared, target).returncode == 130
    part = tmp_path / "big.bin.part"
    part.write_bytes(b"x" * part.stat().st_size)  # same length, other bytes: the SHA-256 check must catch it
    failed = download(shared, target)
    assert failed.returncode == 1 and "SHA-256" in failed.stderr
    assert not part.exists() and not target.exists()
    assert download(shared, target).returncode == 0 and target.read_bytes() == shared["content"]


def test_no_resume_starts_from_the_first_byte_and_keeps_nothing(shared, tmp_path):
    target = tmp_path / "big.bin"
    assert interrupted_download(shared, target).returncode == 130
    finished = download(shared, target, "--no-resume")
    assert finished.returncode == 0 and "continued" not in finished.stdout
    assert target.read_bytes() == shared["content"]
    target.unlink()
    stopped = interrupted_download(shared, target, "--no-resume")
    assert stopped.returncode == 130 and "nothing kept" in stopped.stderr
    assert not (tmp_path / "big.bin.part").exists()
