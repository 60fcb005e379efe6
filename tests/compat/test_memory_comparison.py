"""Peak memory of the older client's file methods, 200 MiB each way, against a real server.

Each method runs in its own process (so one's peak cannot hide another's) and reports how far its
peak RSS rose above where it stood just before the transfer. The streaming methods must stay
within a few chunks; `download_file_content` without a destination returns the bytes and
`pump_file(use_streaming=False)` keeps the older buffering, so both hold the whole file by design.
The figures are printed (run with -s) and recorded in docs/performance.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.servers import ADMIN_PASSWORD

MiB = 1024 * 1024
SIZE = 200 * MiB
# Peak-memory bounds over 200 MiB each way: `make test` leaves it out; `.ci/run measurements` runs it.
pytestmark = pytest.mark.measurement
STREAMING_LIMIT = 64 * MiB  # a few 1 MiB chunks, the hashing thread's buffers and allocator slack

CHILD = r"""
import asyncio, json, sys, uuid
import psutil
from vitalgraph.client.vitalgraph_client import VitalGraphClient
from vitalgraph.model import FileNode
from vitalgraph.model.spaces_model import Space

method, source, target = sys.argv[1], sys.argv[2], sys.argv[3]

def peak_rss():
    # VmHWM, this program's own peak: ru_maxrss would start at the RSS of the process that started
    # this one (Linux carries it across fork and exec), so a large test worker looked like growth.
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024

async def main():
    client = VitalGraphClient()
    await client.open()
    space = "mem-" + uuid.uuid4().hex[:8]
    await client.spaces.create_space(Space(space=space, space_name="mem"))
    src, dst = "urn:mem:src", "urn:mem:dst"
    await client.files.create_file(space, [FileNode(src), FileNode(dst)])
    if method.startswith(("download", "pump")):
        await client.files.upload_file_stream_async(space, None, src, source)
    before = psutil.Process().memory_info().rss
    if method == "upload_file_content":
        result = await client.files.upload_file_content(space, None, src, source)
        assert result.is_success and result.file_size == EXPECTED_SIZE, result
    elif method == "upload_file_stream_async":
        result = await client.files.upload_file_stream_async(space, None, src, source)
        assert result.file_size == EXPECTED_SIZE
    elif method == "download_file_content (bytes)":
        data = await client.files.download_file_content(space, None, src)
        assert len(data) == EXPECTED_SIZE
    elif method == "download_file_stream_async":
        result = await client.files.download_file_stream_async(space, None, src, target)
        assert result.size == EXPECTED_SIZE
    elif method == "pump_file(use_streaming=False)":
        result = await client.files.pump_file(space, None, src, space, None, dst, use_streaming=False)
        assert result["upload_result"]["size"] == EXPECTED_SIZE
    elif method == "pump_file (server-side copy)":
        result = await client.files.pump_file(space, None, src, space, None, dst)
        assert result["upload_result"]["size"] == EXPECTED_SIZE
    peak = peak_rss()
    await client.spaces.delete_space(space)
    await client.close()
    print(json.dumps({"method": method, "before": before, "peak": peak}))

asyncio.run(main())
""".replace("EXPECTED_SIZE", str(SIZE))

METHODS = {
    "upload_file_content": True,
    "upload_file_stream_async": True,
    "download_file_content (bytes)": False,
    "download_file_stream_async": True,
    "pump_file(use_streaming=False)": False,
    "pump_file (server-side copy)": True,
}


@pytest.fixture(scope="module")
def payload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("memory") / "payload.bin"
    with open(path, "wb") as handle:
        for _ in range(SIZE // MiB):
            handle.write(os.urandom(MiB))
    return path


def run_child(method: str, payload: Path, server) -> dict:
    env = {**os.environ, "VITALGRAPH_CLIENT_ENVIRONMENT": "local", "LOCAL_CLIENT_SERVER_URL": server.url}
    env.update({"LOCAL_CLIENT_AUTH_USERNAME": "admin", "LOCAL_CLIENT_AUTH_PASSWORD": ADMIN_PASSWORD})
    target = payload.with_name(f"out-{abs(hash(method))}.bin")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, method, str(payload), str(target)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    target.unlink(missing_ok=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_peak_rss_of_buffering_and_streaming_methods(payload: Path, local_server) -> None:
    rows = []
    for method, streams in METHODS.items():
        report = run_child(method, payload, local_server)
        growth = report["peak"] - report["before"]
        rows.append((method, streams, growth, report["peak"]))
        print(
            f"{method:34s} peak RSS {report['peak'] / MiB:7.1f} MiB, +{growth / MiB:6.1f} MiB during the transfer"
        )
    for method, streams, growth, _ in rows:
        if streams:
            assert growth < STREAMING_LIMIT, (
                f"{method} grew by {growth / MiB:.0f} MiB moving {SIZE // MiB} MiB"
            )
        else:
            assert growth >= SIZE * 0.9, f"{method} should hold the file; grew by {growth / MiB:.0f} MiB"
