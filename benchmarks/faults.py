"""The fault and fuzz campaign at a larger size than `make test` runs it.

    .venv/bin/python -m benchmarks.faults                                # 200 cut uploads, 10 kills, 200 examples
    .venv/bin/python -m benchmarks.faults --uploads 1000 --kills 30 --seed 7

It runs tests/faults (clients cut at random byte offsets, kill -9 mid-transfer then `vitalgraph gc`,
resumed downloads) and tests/fuzz (schemathesis, no 5xx) with bigger counts, through pytest, and
exits non-zero if anything was lost or any server error occurred.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--uploads", type=int, default=200, help="interrupted uploads (and half as many downloads)"
    )
    parser.add_argument(
        "--kills", type=int, default=10, help="kill -9 rounds, each with 6 uploads and a download in flight"
    )
    parser.add_argument("--examples", type=int, default=200, help="schemathesis examples per operation")
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args()
    env = {
        **os.environ,
        "VITALGRAPH_FAULT_UPLOADS": str(args.uploads),
        "VITALGRAPH_FAULT_KILLS": str(args.kills),
        "VITALGRAPH_FAULT_SEED": str(args.seed),
        "VITALGRAPH_FUZZ_EXAMPLES": str(args.examples),
    }
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--timeout",
        "3600",
        "tests/faults",
        "tests/fuzz",
        "-W",
        "ignore::UserWarning",
    ]
    sys.exit(subprocess.run(command, env=env).returncode)


if __name__ == "__main__":
    main()
