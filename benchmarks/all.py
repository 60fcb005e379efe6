"""Every comparison of issue #18 side by side in one run: one table of ratios against their targets, charts.

    make bench                                                    # the defaults below
    make bench BENCH_ARGS=--quick                                 # 1M and 4M, 1 repetition: ~2 minutes
    .venv/bin/python benchmarks/all.py --sizes 1M,100M,1G --repeat 3 --clients 1,10,50,100

One process tree: a minimal Starlette app and VitalGraph on the local store (benchmarks/transfer.py),
SeaweedFS started under `nice -n 10` with VitalGraph on it and the direct S3 clients of
benchmarks/s3_store.py (aiobotocore, obstore), the verifying clients against curl + `openssl dgst -sha256`
(benchmarks/client.py), and metadata GETs timed while N transfers run on the S3 store (benchmarks/load.py).
Within each repetition every path and its baseline run one after the other, the order rotating; a ratio
is the median over repetitions of VitalGraph / baseline measured in the same repetition. Throughput
targets are judged at sizes of 100 MiB and up (below that the figures measure per-request overhead).
Writes results.json and PNG charts (throughput and ratio against size, metadata p99 against concurrent
transfers) to --out. Exits 0 when targets are missed (they are listed); non-zero only if something broke.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if not __package__:  # run as a script (`python benchmarks/all.py`, as `make bench` does)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from benchmarks import client, load, transfer  # noqa: E402
from benchmarks._common import MiB, format_size, median, parse_size, parse_sizes  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
SEAWEEDFS_NICENESS = 10
TARGET_MIN_SIZE = 100 * MiB  # throughput targets are judged from this size up
METADATA_P99_TARGET_MS = 50.0
METADATA_TARGET_MAX_CLIENTS = 50  # the target: p99 while 50 transfers run
QUICK = {"sizes": "1M,4M", "repeat": 1, "clients": "1,4", "load_size": "16M"}
DEFAULTS = {"sizes": "1M,100M,1G,5G", "repeat": 3, "clients": "1,10,50,100", "load_size": "100M"}
# VitalGraph / baseline at least this (throughput); from issue #18.
GOALS: dict[str, float | None] = {
    "local store upload": 1.0,
    "local store download": 1.0,
    "S3 store upload": 0.95,
    "S3 store download": 0.95,
    "async client upload": 1.0,
    "async client download": 1.0,
    "sync client upload": 1.0,
    "sync client download": 1.0,
    # The CLI is reported, not judged (the issue asks only that it be reported apart): each run is a new
    # process, ~0.5 s of Python start-up and imports that curl does not pay.
    "CLI upload": None,
    "CLI download": None,
}
BASELINES = {
    "local store": {"minimal": "minimal Starlette app"},
    "S3 store": {"direct-aiobotocore": "aiobotocore direct", "direct-obstore": "obstore direct"},
}
CLIENTS = ("async client", "sync client", "CLI")
CURL = "curl + openssl dgst"


@dataclass
class Figure:
    """One row of the table: a path at one size (or one number of concurrent transfers)."""

    path: str  # e.g. "S3 store upload"
    size: int  # bytes per transfer
    clients: int  # concurrent transfers (1 for the throughput rows)
    unit: str  # "MB/s" or "ms"
    ours: float  # VitalGraph's median
    baseline: float  # the baseline's median
    baseline_name: str
    ratio: float | None  # median over repetitions of ours / baseline (throughput rows)
    target: str
    met: bool | None  # None: not judged at this size or count
    runs: dict[str, list[float]] = field(default_factory=dict)  # every repetition's figure, per side

    @property
    def at(self) -> str:
        return f"{self.clients} x {format_size(self.size)}" if self.unit == "ms" else format_size(self.size)


def throughput_figure(
    path: str, size: int, ours: Sequence[float], baselines: dict[str, Sequence[float]]
) -> Figure:
    """VitalGraph's MB/s per repetition against the fastest baseline of the same repetition."""
    repetitions = min([len(ours), *(len(runs) for runs in baselines.values())])
    if repetitions == 0:
        raise RuntimeError(f"{path} at {format_size(size)}: no measurement")
    best = [max(baselines, key=lambda name: baselines[name][i]) for i in range(repetitions)]  # noqa: B023
    best_speeds = [baselines[name][i] for i, name in enumerate(best)]
    goal = GOALS[path]
    ratio = median(ours[i] / best_speeds[i] for i in range(repetitions))
    judged = goal is not None and size >= TARGET_MIN_SIZE
    winners = Counter(best).most_common()
    return Figure(
        path=path,
        size=size,
        clients=1,
        unit="MB/s",
        ours=median(ours[:repetitions]),
        baseline=median(best_speeds),
        baseline_name=" / ".join(name for name, _ in winners),
        ratio=ratio,
        target=_throughput_target(goal, judged),
        met=ratio >= goal if judged else None,
        runs={"VitalGraph": list(ours), **{name: list(runs) for name, runs in baselines.items()}},
    )


def _throughput_target(goal: float | None, judged: bool) -> str:
    if goal is None:
        return "(reported)"
    return f">= {goal:.2f}" if judged else f"(>= {goal:.2f} from {format_size(TARGET_MIN_SIZE)})"


def metadata_figure(report: load.LoadReport) -> Figure:
    # no probe inside the load window (transfers too short to time): nothing to judge
    judged = report.transfers <= METADATA_TARGET_MAX_CLIENTS and report.probe_count > 0
    return Figure(
        path="metadata GET p99, S3 store, under load",
        size=report.size,
        clients=report.transfers,
        unit="ms",
        ours=report.probe_p99_ms,
        baseline=report.health_p99_ms,
        baseline_name="/health p99 (the event loop alone)",
        ratio=None,
        target=f"<= {METADATA_P99_TARGET_MS:.0f} ms"
        if judged
        else f"(<= {METADATA_P99_TARGET_MS:.0f} ms up to {METADATA_TARGET_MAX_CLIENTS})",
        met=report.probe_p99_ms <= METADATA_P99_TARGET_MS if judged else None,
        runs={"p50": [report.probe_p50_ms], "max": [report.probe_max_ms], "probes": [report.probe_count]},
    )


# --- measuring ------------------------------------------------------------------------------------------
def transfer_figures(samples: Sequence[transfer.Sample], size: int) -> list[Figure]:
    """Local store and S3 store rows from one measure_size run over all the transfer targets."""

    def speeds(label: str, direction: str) -> list[float]:
        return [s.mb_per_s for s in samples if (s.label, s.direction, s.size) == (label, direction, size)]

    figures = []
    for store, ours in (("local store", "vitalgraph"), ("S3 store", "vitalgraph-s3")):
        for direction in ("upload", "download"):
            baselines = {name: speeds(label, direction) for label, name in BASELINES[store].items()}
            figures.append(
                throughput_figure(f"{store} {direction}", size, speeds(ours, direction), baselines)
            )
    return figures


def measure_clients(
    target: client.Target, payload: transfer.Payload, repeat: int, scratch: Path
) -> list[Figure]:
    """The async client, the sync client and the CLI (all verifying SHA-256) against curl + openssl."""
    runs = {
        CURL: lambda row: client.curl_openssl(target, row, payload.path, payload.sha256),
        "async client": lambda row: client.async_client(target, row, payload.path, "aiohttp"),
        "sync client": lambda row: client.sync_client(target, row, payload.path, "aiohttp"),
        "CLI": lambda row: client.cli(target, row, payload.path, scratch),
    }
    rows = {name: client.Row(name) for name in runs}
    names = list(runs)
    for repetition in range(repeat):
        for name in transfer.rotated(names, repetition):
            runs[name](rows[name])
            seconds = rows[name].seconds
            print(
                f"  [{repetition + 1}/{repeat}] {format_size(payload.size)} {name:<20} "
                f"up {payload.size / seconds['upload'][-1] / 1e6:6.0f} MB/s  "
                f"down {payload.size / seconds['download'][-1] / 1e6:6.0f} MB/s",
                file=sys.stderr,
                flush=True,
            )

    def speeds(name: str, direction: str) -> list[float]:
        return [payload.size / seconds / 1e6 for seconds in rows[name].seconds[direction]]

    return [
        throughput_figure(
            f"{name} {direction}", payload.size, speeds(name, direction), {CURL: speeds(CURL, direction)}
        )
        for name in CLIENTS
        for direction in ("upload", "download")
    ]


def start_servers(run_dir: Path, stack: contextlib.ExitStack, max_clients: int) -> dict[str, Any]:
    """SeaweedFS (niced), the minimal app, VitalGraph on the local store and VitalGraph on SeaweedFS."""
    from tests.fixtures.seaweedfs import start_seaweedfs

    seaweed = start_seaweedfs(run_dir / "seaweedfs", bucket="vitalgraph-bench", niceness=SEAWEEDFS_NICENESS)
    stack.callback(seaweed.stop)
    servers: dict[str, Any] = {"seaweedfs": seaweed}
    s3_settings = {**seaweed.settings(prefix="bench-vg"), **load.server_settings(max_clients)}
    for name, start in (
        ("minimal", lambda: transfer.start_minimal(run_dir)),
        ("vitalgraph", lambda: transfer.start_vitalgraph(run_dir, "vitalgraph")),
        ("vitalgraph-s3", lambda: transfer.start_vitalgraph(run_dir, "vitalgraph-s3", settings=s3_settings)),
    ):
        servers[name] = start()
        stack.callback(servers[name].stop)
    return servers


def transfer_targets(servers: dict[str, Any]) -> list[transfer.Target]:
    seaweed = servers["seaweedfs"]
    return [
        transfer.MinimalTarget("minimal", servers["minimal"]),
        transfer.VitalGraphTarget("vitalgraph", servers["vitalgraph"]),
        transfer.VitalGraphTarget("vitalgraph-s3", servers["vitalgraph-s3"]),
        transfer.DirectS3Target("direct-aiobotocore", seaweed, "aiobotocore"),
        transfer.DirectS3Target("direct-obstore", seaweed, "obstore"),
    ]


def measure_load(server: transfer.ServerProcess, clients: Sequence[int], size: int) -> list[Figure]:
    login = {"username": "admin", "password": transfer.ADMIN_PASSWORD}
    answer = httpx.post(f"{server.url}/api/login", data=login, timeout=60)
    answer.raise_for_status()
    token = answer.json()["access_token"]
    figures = []
    for count in clients:
        report = load.run_load(server.url, token, transfers=count, size=size, server_pid=server.pid)
        if report.failures:
            raise RuntimeError(f"{count} transfers under load: {report.failures[:3]}")
        print(
            f"  {count} x {format_size(size)} transfers: metadata p50 {report.probe_p50_ms:.0f} ms, "
            f"p99 {report.probe_p99_ms:.0f} ms over {report.probe_count} probes",
            file=sys.stderr,
            flush=True,
        )
        figures.append(metadata_figure(report))
    return figures


def run(args: argparse.Namespace) -> dict[str, Any]:
    started, load_start = time.time(), os.getloadavg()
    figures: list[Figure] = []
    skipped: list[str] = []
    with transfer.run_directory(args.workdir, args.keep) as run_dir, contextlib.ExitStack() as stack:
        servers = start_servers(run_dir, stack, max(args.clients))
        targets = transfer_targets(servers)
        client_target = client.Target(servers["vitalgraph"].url, "admin", transfer.ADMIN_PASSWORD)
        client.prepare(client_target)
        print(transfer.warm_up(targets, run_dir), file=sys.stderr)
        for size in args.sizes:
            needed, free = transfer.disk_needed(size, 5), shutil.disk_usage(run_dir).free
            if needed > free:
                skipped.append(
                    f"{format_size(size)}: needs {needed / MiB:.0f} MiB free, has {free / MiB:.0f}"
                )
                print(f"skipping {skipped[-1]}", file=sys.stderr)
                continue
            payload = transfer.write_payload(run_dir, size)
            try:
                samples = transfer.measure_size(targets, payload, args.repeat, run_dir)
                figures += transfer_figures(samples, size)
                figures += measure_clients(client_target, payload, args.repeat, run_dir)
            finally:
                payload.path.unlink()
        figures += measure_load(servers["vitalgraph-s3"], args.clients, args.load_size)
    return {
        "machine": machine(),
        "load_average_start": list(load_start),
        "load_average_end": list(os.getloadavg()),
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(started)),
        "seconds": round(time.time() - started, 1),
        "seaweedfs_niceness": SEAWEEDFS_NICENESS,
        "repeat": args.repeat,
        "skipped": skipped,
        "figures": [asdict(figure) for figure in figures],
    }


# --- reporting ------------------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    """Cores, RAM and CPU model from /proc (what the figures were measured on)."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
        platform.processor() or "unknown CPU",
    )
    meminfo = Path("/proc/meminfo").read_text()
    mem_kib = next(int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal:"))
    return {
        "cores": os.cpu_count(),
        "ram_gib": round(mem_kib / 1024 / 1024, 1),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def _number(value: float, unit: str) -> str:
    return f"{value:.1f} {unit}" if unit == "ms" or value < 10 else f"{value:.0f} {unit}"


def table(results: dict[str, Any]) -> str:
    """The one table, then the machine, the load average and the missed targets."""
    m = results["machine"]
    lines = [
        f"Machine: {m['cores']} cores, {m['ram_gib']} GiB RAM, {m['cpu']} (Linux {m['kernel']}, "
        f"Python {m['python']}); load average {_load(results['load_average_start'])} at start, "
        f"{_load(results['load_average_end'])} at end. SeaweedFS ran under nice -n {results['seaweedfs_niceness']}. "
        f"{results['repeat']} repetition(s), {results['seconds']:.0f} s.",
        "",
        "| path | size | VitalGraph | baseline | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    missed = []
    for f in results["figures"]:
        figure = Figure(**f)
        met = {True: "yes", False: "**NO**", None: "-"}[figure.met]
        ratio = "-" if figure.ratio is None else f"{figure.ratio:.2f}"
        lines.append(
            f"| {figure.path} | {figure.at} | {_number(figure.ours, figure.unit)} "
            f"| {_number(figure.baseline, figure.unit)} ({figure.baseline_name}) | {ratio} | {figure.target} | {met} |"
        )
        if figure.met is False:
            got = _number(figure.ours, figure.unit) if figure.ratio is None else f"ratio {ratio}"
            missed.append(f"{figure.path} at {figure.at}: {got}, target {figure.target}")
    lines.append("")
    lines += [f"skipped {reason}" for reason in results["skipped"]]
    if missed:
        lines.append(f"MISSED TARGETS ({len(missed)}):")
        lines += [f"  - {line}" for line in missed]
    elif any(f["met"] is not None for f in results["figures"]):
        lines.append("All judged targets met.")
    else:
        lines.append(f"No target judged (no size >= {format_size(TARGET_MIN_SIZE)}).")
    return "\n".join(lines)


def _load(values: Sequence[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def write_charts(results: dict[str, Any], out: Path) -> list[Path]:
    """throughput.png and ratio.png against size; metadata-p99.png against concurrent transfers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = [Figure(**f) for f in results["figures"]]
    machine_line = (
        f"{results['machine']['cores']} cores, {results['machine']['cpu']} (shared machine: indicative)"
    )
    by_path: dict[str, list[Figure]] = {}
    for figure in figures:
        by_path.setdefault(figure.path, []).append(figure)
    throughput = {
        path: sorted(rows, key=lambda f: f.size) for path, rows in by_path.items() if rows[0].unit == "MB/s"
    }
    written = []

    chart, axes = plt.subplots(2, 5, figsize=(22, 8), sharex=True)
    for ax, (path, rows) in zip(axes.flat, throughput.items(), strict=False):
        sizes = [f.size / MiB for f in rows]
        ax.plot(sizes, [f.ours for f in rows], "o-", label="VitalGraph")
        ax.plot(sizes, [f.baseline for f in rows], "s--", label="baseline")
        ax.set_title(path, fontsize=10)
        ax.set_xscale("log")
        ax.set_ylabel("MB/s")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("size (MiB)")
    chart.suptitle(f"Throughput against size, median of repetitions; {machine_line}")
    chart.tight_layout()
    written.append(_save(chart, out / "throughput.png"))

    chart, ax = plt.subplots(figsize=(10, 6))
    for path, rows in throughput.items():
        ax.plot([f.size / MiB for f in rows], [f.ratio for f in rows], "o-", label=path)
    for goal in sorted({goal for goal in GOALS.values() if goal is not None}):
        ax.axhline(goal, color="grey", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("size (MiB)")
    ax.set_ylabel("VitalGraph / baseline (median of per-repetition ratios)")
    ax.set_title(f"Ratio against size (dotted: targets); {machine_line}", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    chart.tight_layout()
    written.append(_save(chart, out / "ratio.png"))

    loaded = sorted((f for f in figures if f.unit == "ms" and f.ours == f.ours), key=lambda f: f.clients)
    chart, ax = plt.subplots(figsize=(8, 5))
    ax.plot([f.clients for f in loaded], [f.ours for f in loaded], "o-", label="metadata GET p99")
    ax.plot([f.clients for f in loaded], [f.baseline for f in loaded], "s--", label="/health p99")
    ax.axhline(METADATA_P99_TARGET_MS, color="grey", linestyle=":", label="target")
    if loaded:
        ax.set_xscale("log")
    else:
        ax.text(0.5, 0.5, "no probe landed during the load", ha="center", transform=ax.transAxes)
    ax.set_xlabel(
        f"concurrent transfers of {format_size(loaded[0].size) if loaded else '?'} (half up, half down)"
    )
    ax.set_ylabel("ms")
    ax.set_title(f"Metadata latency under load, S3 store; {machine_line}", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    chart.tight_layout()
    written.append(_save(chart, out / "metadata-p99.png"))
    return written


def _save(chart: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    chart.savefig(path, dpi=90)
    plt.close(chart)
    return path


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks/all.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"small and fast: {QUICK}")
    parser.add_argument("--sizes", help=f"transfer sizes (default {DEFAULTS['sizes']})")
    parser.add_argument("--repeat", type=int, help=f"repetitions per size (default {DEFAULTS['repeat']})")
    parser.add_argument(
        "--clients", help=f"concurrent transfers in the load test (default {DEFAULTS['clients']})"
    )
    parser.add_argument("--load-size", help=f"size of each load transfer (default {DEFAULTS['load_size']})")
    parser.add_argument(
        "--out", type=Path, default=REPO_ROOT / "docs" / "performance", help="charts and results.json"
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/vg-bench"), help="scratch space")
    parser.add_argument("--keep", action="store_true", help="keep the scratch run directory (server logs)")
    args = parser.parse_args(argv)
    chosen = QUICK if args.quick else DEFAULTS
    args.sizes = parse_sizes(args.sizes or chosen["sizes"])
    args.repeat = args.repeat or chosen["repeat"]
    args.clients = [int(n) for n in (args.clients or chosen["clients"]).split(",") if n.strip()]
    args.load_size = parse_size(args.load_size or chosen["load_size"])
    if args.repeat < 1 or not args.sizes or not args.clients or min(args.clients) < 1:
        parser.error("--repeat, --sizes and --clients need at least one positive value")
    for tool in ("curl", "openssl", "nice"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is not on PATH")
    return args


def main(argv: Sequence[str]) -> None:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still stop the servers and clean up
    results = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    charts = write_charts(results, args.out)
    print(table(results))
    print(
        "Figures measured on a shared machine are noisy; "
        + f"written: {args.out / 'results.json'}, "
        + ", ".join(str(c) for c in charts)
    )


if __name__ == "__main__":
    main(sys.argv[1:])
