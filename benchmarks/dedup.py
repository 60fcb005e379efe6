"""Bytes stored for duplicate uploads: the same payload uploaded to ten file nodes of one space.

Starts `vitalgraph serve` (local store) on a free loopback port, uploads one random payload to
`--copies` nodes of one space, one after the other, and prints a Markdown table: the bytes the
uploads sent, the bytes the blob store holds afterwards (files under DATA_DIR/blobs/spaces), and the
time of each upload. Identical bytes in one space are stored once (docs/operations.md), so the store
should hold the payload once whatever the number of copies.

    .venv/bin/python -m benchmarks.dedup                 # 1G payload, 10 copies
    .venv/bin/python -m benchmarks.dedup --size 100M --copies 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

from benchmarks._common import MiB, format_size, parse_size
from benchmarks.transfer import ADMIN_PASSWORD, start_vitalgraph

FILE_NODE = "http://vital.ai/ontology/vital#FileNode"


def write_payload(path: Path, size: int) -> None:
    with path.open("wb") as out:
        left = size
        while left:
            block = os.urandom(min(left, 16 * MiB))
            out.write(block)
            left -= len(block)


def file_pieces(path: Path) -> Iterator[bytes]:
    with path.open("rb") as source:
        while block := source.read(4 * MiB):
            yield block


def stored_bytes(data_dir: Path) -> tuple[int, int]:
    """(bytes, blobs) of file content in the local store."""
    blobs = [p for p in (data_dir / "blobs" / "spaces").rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in blobs), len(blobs)


def main() -> None:
    parser = argparse.ArgumentParser(prog="benchmarks.dedup", description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1G", help="payload size (binary units: 100M, 1G)")
    parser.add_argument("--copies", type=int, default=10, help="file nodes the payload is uploaded to")
    parser.add_argument("--workdir", default="/tmp/vg-bench-dedup", help="scratch space, removed at the end")
    args = parser.parse_args()
    size = parse_size(args.size)
    run_dir = Path(args.workdir) / uuid.uuid4().hex[:8]
    run_dir.mkdir(parents=True)
    payload = run_dir / "payload"
    write_payload(payload, size)
    server = start_vitalgraph(run_dir, "vitalgraph", settings={"MAX_STREAMING_FILE_SIZE": 2 * size + MiB})
    try:
        with httpx.Client(base_url=server.url, timeout=600) as api:
            login = api.post("/api/login", data={"username": "admin", "password": ADMIN_PASSWORD})
            login.raise_for_status()
            api.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
            api.post("/api/spaces", json={"space_id": "dedup", "space_name": "dedup"}).raise_for_status()
            uris = [f"http://example.org/dedup/{n}" for n in range(args.copies)]
            body = [{"@id": uri, "@type": FILE_NODE} for uri in uris]
            api.post("/api/files", params={"space_id": "dedup"}, json=body).raise_for_status()
            seconds = []
            for uri in uris:
                started = time.perf_counter()
                response = api.post(
                    "/api/files/stream/upload",
                    params={"space_id": "dedup", "uri": uri},
                    content=file_pieces(payload),
                    headers={"Content-Length": str(size)},
                )
                response.raise_for_status()
                seconds.append(time.perf_counter() - started)
        stored, blobs = stored_bytes(server.data_dir)
    finally:
        server.stop()
        shutil.rmtree(run_dir, ignore_errors=True)
    print(
        "| payload | copies | bytes sent | bytes stored | blobs | first upload s | later uploads s (median) |"
    )
    print("|---|---|---|---|---|---|---|")
    later = sorted(seconds[1:])
    median = later[len(later) // 2] if later else float("nan")
    print(
        f"| {format_size(size)} | {args.copies} | {size * args.copies:,} | {stored:,} | {blobs} | "
        f"{seconds[0]:.1f} | {median:.1f} |"
    )


if __name__ == "__main__":
    main()
