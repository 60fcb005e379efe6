"""Client throughput: AsyncVitalGraphClient (aiohttp and httpx transports) and VitalGraphClient (urllib3
and httpx transports) next to curl, uploading and downloading one file against the same server in one run.
Results and the reading of them: docs/performance.md, Client. Profile a row with py-spy (bench extra).

Run:  .venv/bin/python -m benchmarks.client [--size 1G] [--rounds 2] [--server-url URL --username U --password P]
Without --server-url it starts a server (tests.fixtures.servers.start_server) in a temporary directory.
Uploads read the file from disk; downloads verify the SHA-256 (unless the row says otherwise) and hand
the bytes to a consumer that drops them, so disk writes do not count.
MB/s = 10^6 bytes per second, the best of `--rounds`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import psutil

from benchmarks._common import parse_size
from vitalgraph.client import AsyncVitalGraphClient, VitalGraphClient
from vitalgraph.client.binary import AsyncBinaryConsumer, BinaryConsumer
from vitalgraph.model import FileNode

MiB = 1024 * 1024
SPACE = "client-benchmark"
URI = "http://example.org/benchmark/file"


class Discard(BinaryConsumer):
    def consume(self, data: bytes) -> None:
        pass

    def finalize(self) -> None:
        pass


class AsyncDiscard(AsyncBinaryConsumer):
    async def consume(self, data: bytes) -> None:
        pass

    async def finalize(self) -> None:
        pass


@dataclass
class Row:
    name: str
    seconds: dict[str, list[float]] = field(default_factory=lambda: {"upload": [], "download": []})
    cpu: dict[str, list[float]] = field(default_factory=lambda: {"upload": [], "download": []})


@dataclass
class Target:
    url: str
    username: str
    password: str

    def credentials(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password}


def timed(row: Row, direction: str, run: Callable[[], object]) -> None:
    process = psutil.Process()
    cpu_before = sum(process.cpu_times()[:2])
    started = time.perf_counter()
    run()
    row.seconds[direction].append(time.perf_counter() - started)
    row.cpu[direction].append(sum(process.cpu_times()[:2]) - cpu_before)


def sync_client(target: Target, row: Row, path: Path, backend: str) -> None:
    with VitalGraphClient(target.url, http_backend=backend, **target.credentials()) as client:
        timed(row, "upload", lambda: client.files.upload_file_stream(SPACE, None, URI, path))
        timed(row, "download", lambda: client.files.download_file_stream(SPACE, None, URI, Discard()))


def async_client(target: Target, row: Row, path: Path, backend: str, verify: bool = True) -> None:
    async def run() -> None:
        async with AsyncVitalGraphClient(
            target.url, http_backend=backend, verify_checksum=verify, **target.credentials()
        ) as client:
            loop = asyncio.get_running_loop()
            for direction, transfer in (
                ("upload", lambda: client.files.upload_file_stream(SPACE, None, URI, path)),
                ("download", lambda: client.files.download_file_stream(SPACE, None, URI, AsyncDiscard())),
            ):
                process = psutil.Process()
                cpu_before, started = sum(process.cpu_times()[:2]), loop.time()
                await transfer()
                row.seconds[direction].append(loop.time() - started)
                row.cpu[direction].append(sum(process.cpu_times()[:2]) - cpu_before)

    asyncio.run(run())


def access_token(target: Target) -> str:
    with VitalGraphClient(target.url, **target.credentials()) as client:
        client.open()
        return client.http.auth.tokens.access_token


def curl(target: Target, row: Row, path: Path) -> None:
    token = access_token(target)
    query = urlencode({"space_id": SPACE, "uri": URI})
    auth = ["-H", f"Authorization: Bearer {token}"]
    upload = [
        "curl",
        "-sS",
        "--fail",
        "-o",
        "/dev/null",
        *auth,
        "-H",
        "Content-Type: application/octet-stream",
        "-T",
        str(path),
        f"{target.url}/api/files/stream/upload?{query}",
    ]
    download = [
        "curl",
        "-sS",
        "--fail",
        "-o",
        "/dev/null",
        *auth,
        f"{target.url}/api/files/stream/download?{query}",
    ]
    for direction, command in (("upload", upload), ("download", download)):
        started = time.perf_counter()
        subprocess.run(command, check=True)
        row.seconds[direction].append(time.perf_counter() - started)
        row.cpu[direction].append(float("nan"))  # curl's own CPU is not this process's


def curl_openssl(target: Target, row: Row, path: Path, expected_sha256: str) -> None:
    """curl doing what the verifying clients do: OpenSSL's SHA-256 of the file runs beside the upload,
    and the download is piped through it (its digest checked against `expected_sha256`)."""
    token = access_token(target)
    query = urlencode({"space_id": SPACE, "uri": URI})
    curl_base = ["curl", "-sS", "--fail", "-H", f"Authorization: Bearer {token}"]
    upload_url, download_url = (f"{target.url}/api/files/stream/{a}?{query}" for a in ("upload", "download"))
    upload = [*curl_base, "-o", "/dev/null", "-H", "Content-Type: application/octet-stream", "-T", str(path)]
    started = time.perf_counter()
    hashing = subprocess.Popen(["openssl", "dgst", "-sha256", "-r", str(path)], stdout=subprocess.PIPE)
    subprocess.run([*upload, upload_url], check=True)
    digest = hashing.communicate()[0].split()[0].decode()
    row.seconds["upload"].append(time.perf_counter() - started)
    started = time.perf_counter()
    fetch = subprocess.Popen([*curl_base, download_url], stdout=subprocess.PIPE)
    hashing = subprocess.Popen(
        ["openssl", "dgst", "-sha256", "-r"], stdin=fetch.stdout, stdout=subprocess.PIPE
    )
    assert fetch.stdout is not None
    fetch.stdout.close()  # openssl holds the pipe now: curl sees EPIPE should openssl die
    downloaded = hashing.communicate()[0].split()[0].decode()
    if fetch.wait() != 0 or hashing.returncode != 0:
        raise RuntimeError(f"curl | openssl failed: curl {fetch.returncode}, openssl {hashing.returncode}")
    row.seconds["download"].append(time.perf_counter() - started)
    if digest != expected_sha256 or downloaded != expected_sha256:
        raise RuntimeError(
            f"curl + openssl: SHA-256 {digest} up, {downloaded} down, expected {expected_sha256}"
        )
    for direction in ("upload", "download"):
        row.cpu[direction].append(float("nan"))  # curl's and openssl's CPU are not this process's


def cli(target: Target, row: Row, path: Path, scratch: Path) -> None:
    """`vitalgraph files upload` and `download` (the sync client, SHA-256 verified) as a user runs them.
    The download writes `scratch/cli-download` (the CLI has no discard mode), removed afterwards."""
    command = [
        str(Path(sys.executable).with_name("vitalgraph")),
        "files",
        "--server-url",
        target.url,
        "--token",
        access_token(target),
    ]
    destination = scratch / "cli-download"
    for direction, arguments in (
        ("upload", ["upload", SPACE, URI, str(path)]),
        ("download", ["download", "--no-resume", SPACE, URI, str(destination)]),
    ):
        started = time.perf_counter()
        done = subprocess.run([*command, *arguments], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(
                f"vitalgraph files {direction} exited {done.returncode}: {done.stderr[-2000:]}"
            )
        row.seconds[direction].append(time.perf_counter() - started)
        row.cpu[direction].append(float("nan"))
    destination.unlink()


def write_payload(path: Path, size: int) -> None:
    block = os.urandom(16 * MiB)
    with open(path, "wb") as file:
        for offset in range(0, size, len(block)):
            file.write(block[: min(len(block), size - offset)])


def prepare(target: Target) -> None:
    with VitalGraphClient(target.url, **target.credentials()) as client:
        existing = {space.space_id for space in client.spaces.list_spaces().spaces}
        if SPACE in existing:
            client.spaces.delete_space(SPACE)
        client.spaces.create_space(SPACE)
        client.files.create_file(SPACE, [FileNode(URI, name="benchmark.bin")])


def report(rows: list[Row], size: int) -> None:
    print(
        f"\n{size / MiB:.0f} MiB, best of {len(rows[0].seconds['upload'])} round(s); MB/s = 10^6 B/s; "
        "CPU = this process's CPU seconds"
    )
    print(f"{'client':<28}{'upload MB/s':>12}{'CPU s':>8}{'download MB/s':>15}{'CPU s':>8}")
    for row in rows:
        cells = []
        for direction in ("upload", "download"):
            best = min(range(len(row.seconds[direction])), key=row.seconds[direction].__getitem__)
            cells.append(
                f"{size / row.seconds[direction][best] / 1e6:>{12 if direction == 'upload' else 15}.0f}"
            )
            cpu = row.cpu[direction][best]
            cells.append(f"{'' if cpu != cpu else f'{cpu:.1f}':>8}")
        print(f"{row.name:<28}{''.join(cells)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1G", help="file size, e.g. 256M, 1G (default 1G)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--server-url")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password")
    args = parser.parse_args()
    size = parse_size(args.size)
    workdir = Path(tempfile.mkdtemp(prefix="vitalgraph-client-bench-"))
    server = None
    try:
        if args.server_url:
            target = Target(args.server_url, args.username, args.password)
        else:
            from tests.fixtures.servers import ADMIN_PASSWORD, start_server

            (workdir / "data").mkdir()
            server = start_server(workdir / "data", {"VITALGRAPH_TRANSFER_LOG_EVERY_MIB": "100000"})
            target = Target(server.url, "admin", ADMIN_PASSWORD)
        prepare(target)
        payload = workdir / "payload.bin"
        write_payload(payload, size)
        rows = [
            Row("curl"),
            Row("async client (aiohttp)"),
            Row("  same, verify_checksum off"),
            Row("async client (httpx)"),
            Row("sync client (urllib3)"),
            Row("sync client (httpx)"),
        ]
        for round_number in range(args.rounds):
            print(f"round {round_number + 1}/{args.rounds} ...", flush=True)
            curl(target, rows[0], payload)
            async_client(target, rows[1], payload, "aiohttp")
            async_client(target, rows[2], payload, "aiohttp", verify=False)
            async_client(target, rows[3], payload, "httpx")
            sync_client(
                target, rows[4], payload, "aiohttp"
            )  # the default backend: urllib3 for the sync client
            sync_client(target, rows[5], payload, "httpx")
        report(rows, size)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
