"""Direct-to-S3 uploads against streaming through the server, on the same SeaweedFS in one run.

Starts its own SeaweedFS (`weed mini`) and one `vitalgraph serve` on it, writes a random payload file,
then uploads it with the sync Python client, alternating the order every round:
  streaming: upload_file_stream(path)  (bytes through the server, hashed as they pass)
  direct:    upload_file_direct(path)  (hash the parts, PUT them to presigned URLs, complete: the server
             checks the parts and reads the object back once for its SHA-256, then commits)
and prints a Markdown table: wall seconds and MB/s (median and range), and the server's CPU seconds
per upload. Run: .venv/bin/python -m benchmarks.direct_upload [--mib 256] [--rounds 3] [--part-mib 8]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks._common import cpu_seconds, median
from benchmarks.transfer import ADMIN_PASSWORD, start_vitalgraph
from tests.fixtures.seaweedfs import start_seaweedfs
from tests.fixtures.servers import stop_process
from vitalgraph.client import VitalGraphClient
from vitalgraph.model import FileNode

MiB = 1024 * 1024
WAYS = ("streaming", "direct")


def write_payload(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        left = size
        while left:
            block = os.urandom(min(8 * MiB, left))
            digest.update(block)
            out.write(block)
            left -= len(block)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256, help="payload size in MiB")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--part-mib", type=int, default=8, help="part size of both paths, MiB")
    args = parser.parse_args()
    run_dir = Path(tempfile.mkdtemp(prefix="vg-direct-bench-"))
    seaweed = start_seaweedfs(run_dir / "seaweedfs")
    server = None
    try:
        env = seaweed.server_env("bench", S3_PART_SIZE=str(args.part_mib * MiB))
        settings = {name.removeprefix("VITALGRAPH_"): value for name, value in env.items()}
        server = start_vitalgraph(run_dir, "vitalgraph-s3", settings=settings)
        payload = run_dir / "payload.bin"
        sha256 = write_payload(payload, args.mib * MiB)
        seconds: dict[str, list[float]] = {way: [] for way in WAYS}
        server_cpu: dict[str, list[float]] = {way: [] for way in WAYS}
        with VitalGraphClient(server.url, username="admin", password=ADMIN_PASSWORD) as client:
            space_id = f"bench-{uuid.uuid4().hex[:8]}"
            client.spaces.create_space(space_id, "direct upload benchmark")
            uri = f"http://example.org/bench/{uuid.uuid4().hex}"
            client.files.create_file(space_id, FileNode(URI=uri, name="payload"))
            for round_number in range(args.rounds):
                order = WAYS if round_number % 2 == 0 else tuple(reversed(WAYS))
                for way in order:
                    cpu_before, started = cpu_seconds(server.pid), time.perf_counter()
                    if way == "direct":
                        result = client.files.upload_file_direct(
                            space_id, None, uri, payload, part_size=args.part_mib * MiB, fallback=False
                        )
                    else:
                        result = client.files.upload_file_stream(space_id, None, uri, payload)
                    seconds[way].append(time.perf_counter() - started)
                    server_cpu[way].append(cpu_seconds(server.pid) - cpu_before)
                    assert result.sha256 == sha256, f"{way} stored other bytes"
                    print(f"round {round_number + 1} {way}: {seconds[way][-1]:.2f} s", flush=True)
        size_mb = args.mib * MiB / 1e6
        print(f"\n{args.mib} MiB, parts of {args.part_mib} MiB, {args.rounds} rounds, one SeaweedFS\n")
        print("| path | seconds (median, range) | MB/s (median) | server CPU s per upload (median) |")
        print("|---|---|---|---|")
        for way in WAYS:
            print(
                f"| {way} | {median(seconds[way]):.2f} ({min(seconds[way]):.2f}–{max(seconds[way]):.2f}) "
                f"| {size_mb / median(seconds[way]):.0f} | {median(server_cpu[way]):.2f} |"
            )
    finally:
        if server is not None:
            server.stop()
        stop_process(seaweed.process)
        shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
