"""A 1 GiB upload and download over HTTPS with curl: throughput and the server's peak RSS growth.

    .venv/bin/python -m benchmarks.tls_memory --size 1G

Certificates come from `trustme`; curl verifies them with `--cacert`. The server runs the embedded
default stores in a temporary folder. Prints one table row per direction.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import tempfile
import time
from pathlib import Path

import trustme

from tests.fixtures.memory import PeakRss
from tests.fixtures.servers import start_server

SIZES = {"M": 1024**2, "G": 1024**3}


def parse_size(text: str) -> int:
    return int(text[:-1]) * SIZES[text[-1].upper()] if text[-1].upper() in SIZES else int(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1G")
    size = parse_size(parser.parse_args().size)
    with tempfile.TemporaryDirectory(prefix="vg-tls-bench-") as folder:
        root = Path(folder)
        ca = trustme.CA()
        leaf = ca.issue_cert("127.0.0.1")
        ca.cert_pem.write_to_path(root / "ca.pem")
        leaf.private_key_pem.write_to_path(root / "key.pem")
        (root / "cert.pem").write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        source = root / "source.bin"
        with open(source, "wb") as out:
            piece = hashlib.sha256(b"seed").digest() * 32768  # 1 MiB
            for _ in range(size // len(piece)):
                out.write(piece)
        (root / "data").mkdir()
        env = {
            "VITALGRAPH_TLS_CERTFILE": str(root / "cert.pem"),
            "VITALGRAPH_TLS_KEYFILE": str(root / "key.pem"),
        }
        server = start_server(root / "data", env)
        server.verify = str(root / "ca.pem")
        try:
            run(server, root, source, size)
        finally:
            server.stop()


def run(server, root: Path, source: Path, size: int) -> None:
    import httpx

    auth = {"Authorization": f"Bearer {server.token()}"}
    with httpx.Client(base_url=server.url, headers=auth, verify=server.verify) as api:
        api.post("/api/spaces", json={"space_id": "bench"}).raise_for_status()
        node = {"@id": "http://example.org/big", "@type": "http://vital.ai/ontology/vital#FileNode"}
        api.post("/api/files", params={"space_id": "bench"}, json=node).raise_for_status()
    url = f"{server.url}/api/files/stream/%s?space_id=bench&uri=http://example.org/big"
    curl = [
        "curl",
        "-sS",
        "--fail",
        "--cacert",
        str(server.verify),
        "-H",
        f"Authorization: {auth['Authorization']}",
    ]
    idle = server.rss()
    print(f"idle server RSS {idle >> 20} MiB; size {size >> 20} MiB")
    print("| direction | MB/s | server RSS growth MiB |")
    print("|---|---|---|")
    for direction, command in (
        ("upload", [*curl, "-T", str(source), url % "upload", "-o", "/dev/null"]),
        ("download", [*curl, url % "download", "-o", str(root / "back.bin")]),
    ):
        with PeakRss(server) as peak:
            started = time.perf_counter()
            subprocess.run(command, check=True)
            seconds = time.perf_counter() - started
        print(f"| {direction} | {size / seconds / 1e6:.0f} | {(peak.peak - idle) >> 20} |")
    assert (root / "back.bin").stat().st_size == size


if __name__ == "__main__":
    main()
