"""Where the server's CPU goes, per stage, during one upload and one download on each store (py-spy).

    .venv/bin/python -m benchmarks.profile                   # 1 GiB, local store and S3 (SeaweedFS)
    .venv/bin/python -m benchmarks.profile --size 100M --store local

Starts VitalGraph on the local store and, on a SeaweedFS started under `nice -n 10`, on the S3 store
(benchmarks/transfer.py's servers); moves one payload up and down through each with curl while
`py-spy record --subprocesses --nonblocking` samples the server, and folds the samples into stages by
the functions and modules on each stack (and, for the innermost Python frame, the source line that calls
into C: `hasher.update(...)` is SHA-256, `handle.write(...)` is the file write). Each stage's share of the
samples times the server's CPU seconds measured by psutil gives CPU-seconds per GiB; SeaweedFS's own CPU
comes from psutil. Without native frames (py-spy's --native pauses the server and miscounts idle threads),
time inside uvloop's C code (socket reads and writes, epoll, callbacks) shows as "event loop, in C";
threads blocked waiting for work are dropped as idle; "fsync" is mostly waiting on the disk, so its
share of the psutil CPU overstates it.
"""

from __future__ import annotations

import argparse
import contextlib
import linecache
import re
import signal
import subprocess
import sys
import sysconfig
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

if not __package__:  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import transfer  # noqa: E402
from benchmarks._common import GiB, cpu_seconds, format_size, parse_size  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
PY_SPY = Path(sys.executable).with_name("py-spy")
SEAWEEDFS_NICENESS = 10
STAGES = (
    "receive / HTTP parsing",
    "SHA-256",
    "file write",
    "file read",
    "S3 part copy",
    "S3 signing + checksums",
    "S3 client",
    "send",
    "thread hand-off",
    "graph + metadata",
    "fsync",
    "event loop, in C",
    "other Python",
)
OTHER = STAGES[-1]
IDLE = "idle"  # a thread waiting for work (py-spy's --nonblocking idle test misses some): not counted
SIGNING_FILES = ("botocore/auth", "botocore/signers", "aiobotocore/signers", "botocore/httpchecksum")
S3_CLIENT_MODULES = ("botocore/", "aiobotocore/", "aiohttp/", "obstore/", "s3transfer/", "urllib3/")
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
SOURCE_ROOTS = [REPO_ROOT, Path(sysconfig.get_paths()["purelib"]), Path(sysconfig.get_paths()["stdlib"])]


@dataclass(frozen=True)
class Frame:
    function: str
    file: str
    line: int

    def source(self) -> str:
        """The source line this frame is on ('' when the file is not found)."""
        for root in SOURCE_ROOTS:
            path = root / self.file
            if path.is_file():
                return linecache.getline(str(path), self.line).strip()
        return ""


def parse_raw(text: str) -> Counter[tuple[Frame, ...]]:
    """py-spy's raw (collapsed) output: 'frame;frame;... count' per line, root first."""
    stacks: Counter[tuple[Frame, ...]] = Counter()
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = []
        for part in stack.split(";"):
            match = FRAME.match(part.strip())
            if match is None or part.startswith(("process ", "thread ")):
                continue  # --subprocesses / --threads labels
            frames.append(Frame(match["function"], match["file"], int(match["line"] or 0)))
        stacks[tuple(frames)] += int(count)
    return stacks


def _signing(frame: Frame) -> bool:
    """botocore's SigV4 signer (which hashes the payload when it signs it) and its checksum code."""
    return frame.file.startswith(SIGNING_FILES) or (
        frame.file.startswith(S3_CLIENT_MODULES) and "checksum" in frame.file
    )


def _leaf_stage(frame: Frame) -> str | None:
    """What the innermost Python frame's own line does (the C call it makes)."""
    if _signing(frame):
        return "S3 signing + checksums"  # its hashing is the signature's, not the content's SHA-256
    text = frame.source()
    if frame.file.startswith(("concurrent/futures/", "threading.py", "queue.py")) and re.search(
        r"\.get\(block=True\)|\.wait\(|\.acquire\(", text
    ):
        return IDLE
    if (
        frame.function.startswith(("Runner.run", "BaseEventLoop.run_", "Server.serve"))
        or "run_until_complete" in text
    ):
        return (
            "event loop, in C"  # innermost Python frame is the loop's entry: the time is in uvloop's C code
        )
    if "fsync" in text:
        return "fsync"
    if re.search(r"hash|digest|sha256", text, re.IGNORECASE):
        return "SHA-256"
    if re.search(r"crc32|md5", text, re.IGNORECASE):
        return "S3 signing + checksums"  # the part checksums the S3 store sends (ChecksumCRC32)
    if frame.file.startswith("vitalgraph/blobs/s3/") and re.search(r"part\.write\(", text):
        return "S3 part copy"  # into the in-memory part (BytesIO) botocore sends
    if frame.file.startswith("vitalgraph/blobs/"):
        if re.search(r"\.write\(|flush\(", text):
            return "file write"
        if re.search(r"\.read\(|readinto|pread|sendfile", text):
            return "file read"
    return None


def _frame_stage(frame: Frame) -> str | None:
    """What a frame anywhere on the stack says about the stage."""
    function, file = frame.function, frame.file
    if _signing(frame):
        return "S3 signing + checksums"
    if file.startswith(S3_CLIENT_MODULES):
        return "S3 client"
    if file.startswith("vitalgraph/graph/") or file.startswith("pyoxigraph"):
        return "graph + metadata"
    if re.search(r"(^|\.|_)receive\b|data_received|on_body|on_message_complete|Request\.stream", function):
        return "receive / HTTP parsing"
    if re.search(r"(^|\.|_)send\b|_send_|send_with|send_noting|sendfile|StreamingResponse", function):
        return "send"
    if file.startswith(("concurrent/futures/", "threading.py", "queue.py")) or "run_in_executor" in function:
        return "thread hand-off"
    return None


def classify(stack: Sequence[Frame]) -> str:
    """The stage of one sampled stack: the innermost frame that says, else event loop / other."""
    if stack:
        leaf = _leaf_stage(stack[-1])
        if leaf is not None:
            return leaf
    for frame in reversed(stack):
        stage = _frame_stage(frame)
        if stage is not None:
            return stage
    return OTHER


def fold(stacks: Counter[tuple[Frame, ...]]) -> Counter[str]:
    stages: Counter[str] = Counter()
    for stack, count in stacks.items():
        stages[classify(stack)] += count
    del stages[IDLE]
    return stages


def unclassified(stacks: Counter[tuple[Frame, ...]], count: int) -> list[tuple[int, str]]:
    """The innermost frames of the most-sampled stacks no rule placed (to refine the rules)."""
    leaves: Counter[str] = Counter()
    for stack, samples in stacks.items():
        if classify(stack) == OTHER:
            leaves[" <- ".join(f"{f.function} ({f.file}:{f.line})" for f in reversed(stack[-3:]))] += samples
    return [(samples, leaf) for leaf, samples in leaves.most_common(count)]


@dataclass
class Profile:
    store: str
    direction: str
    size: int
    mb_per_s: float
    server_cpu: float  # psutil: the server process and its children
    seaweedfs_cpu: float | None
    samples: Counter[str]
    other: list[tuple[int, str]]  # the most-sampled stacks left in "other Python"
    server_system: float = 0.0  # the kernel's share of server_cpu (system time: syscalls, page cache copies)

    def per_gib(self, cpu: float) -> float:
        return cpu * GiB / self.size

    def stage_cpu_per_gib(self, stage: str) -> float:
        total = sum(self.samples.values())
        share = self.samples[stage] / total if total else 0.0
        return self.per_gib(self.server_cpu) * share


def _tree_cpu(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process and its children (the graph store's workers)."""
    import psutil

    user = system = 0.0
    for process in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            user, system = user + times.user, system + times.system
    return user, system


def profile_transfer(
    target: transfer.VitalGraphTarget,
    payload: transfer.Payload,
    direction: str,
    store: str,
    seaweedfs_pid: int | None,
    rate: int,
    scratch: Path,
) -> Profile:
    raw = scratch / f"py-spy-{store}-{direction}.txt"
    spy = subprocess.Popen(
        [str(PY_SPY), "record", "--pid", str(target.server.pid), "--format", "raw", "-o", str(raw)]
        + ["--rate", str(rate), "--subprocesses", "--nonblocking"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.0)  # py-spy attaches
        if spy.poll() is not None:
            raise RuntimeError(f"py-spy exited: {spy.stderr.read() if spy.stderr else ''}")
        user_before, system_before = _tree_cpu(target.server.pid)
        seaweed_before = cpu_seconds(seaweedfs_pid) if seaweedfs_pid else 0.0
        sample = transfer.curl_transfer(target, direction, payload, scratch)
        user_after, system_after = _tree_cpu(target.server.pid)
        server_cpu = user_after - user_before + system_after - system_before
        server_system = system_after - system_before
        seaweed_cpu = cpu_seconds(seaweedfs_pid) - seaweed_before if seaweedfs_pid else None
    finally:
        spy.send_signal(signal.SIGINT)
        _, errors = spy.communicate(timeout=120)
    if not raw.exists():
        raise RuntimeError(f"py-spy wrote no samples: {errors.strip()}")
    stacks = parse_raw(raw.read_text())
    return Profile(
        store,
        direction,
        payload.size,
        sample.mb_per_s,
        server_cpu,
        seaweed_cpu,
        fold(stacks),
        unclassified(stacks, 5),
        server_system,
    )


def breakdown_table(profiles: Sequence[Profile]) -> str:
    """Stages as rows, one column per (store, direction): CPU-seconds per GiB moved."""
    header = " | ".join(f"{p.store} {p.direction}" for p in profiles)
    lines = [
        f"CPU-seconds per GiB moved, {format_size(profiles[0].size)} payload (server share by py-spy samples x "
        "server CPU by psutil)",
        "",
        f"| stage | {header} |",
        "|---|" + "---|" * len(profiles),
    ]
    for stage in STAGES:
        cells = " | ".join(f"{p.stage_cpu_per_gib(stage):.2f}" for p in profiles)
        lines.append(f"| {stage} | {cells} |")
    rows = (
        ("**server total**", lambda p: f"**{p.per_gib(p.server_cpu):.2f}**"),
        ("of which in the kernel (system time)", lambda p: f"{p.per_gib(p.server_system):.2f}"),
        (
            "SeaweedFS (nice 10)",
            lambda p: "-" if p.seaweedfs_cpu is None else f"{p.per_gib(p.seaweedfs_cpu):.2f}",
        ),
        ("py-spy samples", lambda p: str(sum(p.samples.values()))),
        ("MB/s (curl, while sampled)", lambda p: f"{p.mb_per_s:.0f}"),
    )
    for title, cell in rows:
        lines.append(f"| {title} | " + " | ".join(cell(p) for p in profiles) + " |")
    return "\n".join(lines)


def biggest(profiles: Iterable[Profile], count: int = 3) -> str:
    """The biggest stages per path, in words."""
    lines = []
    for p in profiles:
        ranked = sorted(STAGES, key=p.stage_cpu_per_gib, reverse=True)[:count]
        parts = ", ".join(f"{stage} {p.stage_cpu_per_gib(stage):.2f}" for stage in ranked)
        lines.append(f"{p.store} {p.direction}: {parts}")
    return "\n".join(lines)


def run(size: int, stores: Sequence[str], rate: int, workdir: Path) -> list[Profile]:
    from tests.fixtures.seaweedfs import start_seaweedfs

    profiles: list[Profile] = []
    with transfer.run_directory(workdir, keep=False) as run_dir, contextlib.ExitStack() as stack:
        payload = transfer.write_payload(run_dir, size)
        for store in stores:
            seaweedfs_pid = None
            settings = None
            if store == "s3":
                seaweed = start_seaweedfs(
                    run_dir / "seaweedfs", bucket="vitalgraph-bench", niceness=SEAWEEDFS_NICENESS
                )
                stack.callback(seaweed.stop)
                seaweedfs_pid, settings = seaweed.process.pid, seaweed.settings(prefix="profile")
            server = transfer.start_vitalgraph(run_dir, f"vitalgraph-{store}", settings=settings)
            stack.callback(server.stop)
            target = transfer.VitalGraphTarget(f"vitalgraph-{store}", server)
            target.add_file(payload.name)
            for direction in ("upload", "download"):
                profiles.append(
                    profile_transfer(target, payload, direction, store, seaweedfs_pid, rate, run_dir)
                )
                print(f"  {store} {direction}: {profiles[-1].mb_per_s:.0f} MB/s", file=sys.stderr, flush=True)
    return profiles


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.profile", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--size", type=parse_size, default=parse_size("1G"))
    parser.add_argument("--store", choices=["local", "s3", "both"], default="both")
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/vg-profile"))
    parser.add_argument("--show-other", action="store_true", help=f"print the top stacks left in '{OTHER}'")
    args = parser.parse_args(argv)
    if not PY_SPY.exists():
        parser.error(f"py-spy not found at {PY_SPY} (pip install -e '.[bench]')")
    stores = ["local", "s3"] if args.store == "both" else [args.store]
    profiles = run(args.size, stores, args.rate, args.workdir)
    print(breakdown_table(profiles))
    print("\nBiggest stages (CPU-s per GiB):\n" + biggest(profiles))
    if args.show_other:
        for p in profiles:
            print(f"\n{p.store} {p.direction}, most-sampled stacks in '{OTHER}':")
            print("\n".join(f"  {samples:5d}  {leaf}" for samples, leaf in p.other))


if __name__ == "__main__":
    main(sys.argv[1:])
