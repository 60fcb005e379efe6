"""In-process CPU of re-cutting an upload stream into blocks (docs/performance.md, "Findings in VitalGraph's
transfer path"): 1 GiB arriving as 256,000-byte pieces, as uvicorn hands them over, into 1 MiB blocks.

    python benchmarks/rechunk_cpu.py [--piece 256000] [--block 1048576] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from vitalgraph.blobs.chunking import rechunk

GiB = 1024**3


async def _pieces(piece: bytes, count: int):
    for _ in range(count):
        yield piece


async def _drain(piece: bytes, count: int, block: int) -> int:
    total = 0
    async for out in rechunk(_pieces(piece, count), block):
        total += len(out)
    return total


def cpu_seconds(piece_size: int, block: int) -> float:
    piece = os.urandom(piece_size)
    count = GiB // piece_size
    started = time.process_time()
    total = asyncio.run(_drain(piece, count, block))
    assert total == count * piece_size
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--piece", type=int, default=256_000)
    parser.add_argument("--block", type=int, default=1024 * 1024)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    runs = sorted(cpu_seconds(args.piece, args.block) for _ in range(args.repeat))
    print(
        f"rechunk 1 GiB of {args.piece}-byte pieces into {args.block}-byte blocks: "
        f"min {runs[0]:.3f} CPU-s, median {runs[len(runs) // 2]:.3f} CPU-s over {args.repeat} runs"
    )


if __name__ == "__main__":
    main()
