"""What the audit trail costs a small request: p50/p99 latency of an audited request (a 1 KiB download)
on two servers side by side, one with AUDIT_ENABLED and one without, rounds interleaved.

    .venv/bin/python -m benchmarks.audit_cost --requests 500 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from tests.fixtures.servers import start_server


def prepare(server) -> httpx.Client:
    client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.token()}"})
    client.post("/api/spaces", json={"space_id": "bench"}).raise_for_status()
    node = {"@id": "http://example.org/small", "@type": "http://vital.ai/ontology/vital#FileNode"}
    client.post("/api/files", params={"space_id": "bench"}, json=node).raise_for_status()
    params = {"space_id": "bench", "uri": "http://example.org/small"}
    client.put("/api/files/stream/upload", params=params, content=b"x" * 1024).raise_for_status()
    return client


def latencies(client: httpx.Client, count: int) -> list[float]:
    params = {"space_id": "bench", "uri": "http://example.org/small"}
    found = []
    for _ in range(count):
        started = time.perf_counter()
        client.get("/api/files/stream/download", params=params).raise_for_status()
        found.append(time.perf_counter() - started)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vg-audit-bench-") as folder:
        servers = {}
        variants = {
            "audit on": {"VITALGRAPH_AUDIT_ENABLED": "true"},
            "audit off": {"VITALGRAPH_AUDIT_ENABLED": "false"},
            "audit on, no flush": {
                "VITALGRAPH_AUDIT_ENABLED": "true",
                "VITALGRAPH_AUDIT_FLUSH_SECONDS": "60",
            },
        }
        for name, env in variants.items():
            (Path(folder) / name).mkdir()
            servers[name] = start_server(Path(folder) / name, env)
        try:
            clients = {name: prepare(server) for name, server in servers.items()}
            samples: dict[str, list[float]] = {name: [] for name in servers}
            for round_number in range(options.rounds):
                order = list(clients) if round_number % 2 == 0 else list(reversed(clients))
                for name in order:
                    samples[name] += latencies(clients[name], options.requests)
            print("| server | requests | p50 ms | p99 ms |")
            print("|---|---|---|---|")
            p99 = {}
            for name, values in samples.items():
                cuts = statistics.quantiles(values, n=100)
                p99[name] = cuts[98]
                print(f"| {name} | {len(values)} | {cuts[49] * 1e3:.2f} | {cuts[98] * 1e3:.2f} |")
            print(f"p99 difference: {(p99['audit on'] - p99['audit off']) * 1e3:+.2f} ms")
        finally:
            for server in servers.values():
                server.stop()


if __name__ == "__main__":
    main()
