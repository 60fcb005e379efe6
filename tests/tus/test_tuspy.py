"""The real tuspy client: 128 MiB in 5 MiB chunks, killed mid-way, resumed by a new process."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.tus.conftest import Target, multipart_uploads, staged_files

MiB = 1024 * 1024
SIZE = 128 * MiB  # twice the growth bound: holding the file whole would break it; more proves no more
GROWTH_BOUND = 64 * MiB  # a few parts and chunks in flight
KILL_AFTER = 40 * MiB
WAIT_BOUND_SECONDS = 180  # a bound for a hang on the loaded machine, not a speed requirement
UPLOADER = Path(__file__).with_name("tuspy_upload.py")


@pytest.fixture(scope="module")
def big_file(tmp_path_factory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("tuspy") / "big.bin"
    hasher = hashlib.sha256()
    with open(path, "wb") as handle:
        for _ in range(SIZE // (8 * MiB)):
            block = os.urandom(8 * MiB)
            hasher.update(block)
            handle.write(block)
    return path, hasher.hexdigest()


def run_uploader(target: Target, path: Path, url_store: Path) -> subprocess.Popen[str]:
    server = target.server
    return subprocess.Popen(
        [
            sys.executable,
            str(UPLOADER),
            server.url,
            server.token(),
            str(path),
            str(url_store),
            target.space_id,
            target.uri,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stored_url(url_store: Path) -> str | None:
    try:
        table = json.loads(url_store.read_text()).get("_default", {})
    except (OSError, ValueError):
        return None
    return next((row["url"] for row in table.values()), None)


def settled_offset(target: Target, url: str) -> int:
    """The upload's offset once it stops moving."""
    last, deadline = -1, time.monotonic() + 20
    while time.monotonic() < deadline:
        offset = int(target.head(url).headers["upload-offset"])
        if offset == last:
            return offset
        last = offset
        time.sleep(0.3)
    raise AssertionError(f"the offset of {url} kept moving")


def test_tuspy_resumes_after_the_uploader_is_killed(target: Target, big_file, tmp_path, request):
    path, sha256 = big_file
    baseline = target.server.rss()
    url_store = tmp_path / "tus-urls.json"
    first = run_uploader(target, path, url_store)
    try:
        deadline = time.monotonic() + WAIT_BOUND_SECONDS
        while (url := stored_url(url_store)) is None:
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        while int(target.head(url).headers["upload-offset"]) < KILL_AFTER:
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)  # mid-PATCH, most likely: sending takes most of the time
    finally:
        first.kill()
        first.wait()
    offset = settled_offset(target, url)  # once the server has seen the dropped connection
    assert KILL_AFTER <= offset < SIZE
    assert target.download().status_code == 404  # nothing is visible before the last byte

    second = run_uploader(target, path, url_store)  # a new process, finding the URL in the store
    out, err = second.communicate(timeout=WAIT_BOUND_SECONDS)
    assert second.returncode == 0, err
    lines = dict(line.split(" ", 1) for line in out.splitlines())
    assert int(lines["start"]) == offset  # it resumed, it did not start over
    assert lines["done"] == url

    hasher = hashlib.sha256()
    with target.client.stream(
        "GET", "/api/files/stream/download", params={"space_id": target.space_id, "uri": target.uri}
    ) as download:
        assert download.status_code == 200
        assert download.headers["etag"] == f'"{sha256}"'
        assert download.headers["content-type"] == "application/x-test"
        for chunk in download.iter_bytes(MiB):
            hasher.update(chunk)
    assert hasher.hexdigest() == sha256
    assert any(sha256 in str(value) for value in target.node().values())
    assert staged_files(target.server, url) == []
    assert multipart_uploads(target.server, request) == []
    # memory stays near one part whatever the file size
    growth = peak_rss(target.server.pid) - baseline
    assert growth < GROWTH_BOUND, f"server peak RSS grew by {growth / MiB:.0f} MiB"


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")
