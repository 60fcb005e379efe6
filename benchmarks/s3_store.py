"""Upload and download one large object through S3BlobStore, aiobotocore directly, and obstore directly.

Starts its own S3 server (SeaweedFS's `weed mini`, or with `--server ceph` a one-node Ceph cluster with
radosgw, from Debian's packages) and reports, per client and direction: MB/s, this process's CPU
seconds, its peak RSS growth, the event-loop lag seen by a 10 ms ticker (p99 and worst), and the
server's CPU seconds and peak RSS (all its processes).
Run: .venv/bin/python -m benchmarks.s3_store [--mib 1024] [--rounds 2] [--server ceph]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from tests.fixtures.ceph import CephRadosgw, start_ceph
from tests.fixtures.seaweedfs import S3Server, SeaweedFS, start_seaweedfs
from vitalgraph.blobs.chunking import rechunk
from vitalgraph.blobs.s3 import S3BlobStore

MiB = 1024 * 1024
PART_SIZE = 8 * MiB
CONCURRENCY = 4
PIECE = 64 * 1024  # what uvicorn hands a request stream
READ_CHUNK = 1 * MiB


@dataclass
class Measure:
    seconds: float = 0.0
    cpu: float = 0.0
    server_cpu: float = 0.0
    rss_growth: int = 0
    lag_p99: float = 0.0
    lag_max: float = 0.0
    server_rss: int = 0


def server_processes(server: S3Server) -> list[psutil.Process]:
    if isinstance(server, CephRadosgw):
        return [psutil.Process(p.pid) for p in server.processes]  # mon, OSD (holds the data), radosgw
    assert isinstance(server, SeaweedFS)
    return [psutil.Process(server.process.pid)]


def cpu_seconds(processes: list[psutil.Process]) -> float:
    return sum(sum(p.cpu_times()[:2]) for p in processes)


async def measured(action: Callable[[], Awaitable[None]], servers: list[psutil.Process]) -> Measure:
    me = psutil.Process()
    baseline_rss, peak, server_peak = me.memory_info().rss, me.memory_info().rss, 0
    stop = threading.Event()

    def sample_rss() -> None:
        nonlocal peak, server_peak
        while not stop.wait(0.01):
            peak = max(peak, me.memory_info().rss)
            server_peak = max(server_peak, sum(p.memory_info().rss for p in servers))

    lags: list[float] = [0.0]

    async def tick() -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - before - 0.01)

    sampler = threading.Thread(target=sample_rss, daemon=True)
    sampler.start()
    ticker = asyncio.create_task(tick())
    cpu0, server_cpu0, t0 = sum(me.cpu_times()[:2]), cpu_seconds(servers), time.perf_counter()
    await action()
    seconds = time.perf_counter() - t0
    cpu, server_cpu = sum(me.cpu_times()[:2]) - cpu0, cpu_seconds(servers) - server_cpu0
    ticker.cancel()
    stop.set()
    sampler.join()
    lags.sort()
    p99 = lags[int(len(lags) * 0.99)]
    return Measure(seconds, cpu, server_cpu, peak - baseline_rss, p99, lags[-1], server_peak)


def source(total: int) -> Callable[[], AsyncIterator[bytes]]:
    block = os.urandom(MiB)

    async def pieces() -> AsyncIterator[bytes]:
        sent = 0
        while sent < total:
            offset = sent % MiB
            piece = block[offset : offset + min(PIECE, total - sent)]
            sent += len(piece)
            yield piece

    return pieces


class Client:
    name = ""

    async def setup(self, server: S3Server) -> None: ...
    async def upload(self, key: str, pieces: AsyncIterator[bytes]) -> None: ...
    async def download(self, key: str) -> int: ...
    async def teardown(self) -> None: ...


class StoreClient(Client):
    name = "S3BlobStore"

    def make_store(self, server: S3Server) -> S3BlobStore:
        return S3BlobStore(
            bucket=server.bucket,
            endpoint_url=server.endpoint_url,
            region=server.region,
            access_key_id=server.access_key,
            secret_access_key=server.secret_key,
            prefix="bench",
            part_size=PART_SIZE,
            max_concurrency=CONCURRENCY,
            chunk_size=READ_CHUNK,
        )

    async def setup(self, server: S3Server) -> None:
        self.store = self.make_store(server)
        await self.store.open()

    async def upload(self, key: str, pieces: AsyncIterator[bytes]) -> None:
        await self.store.write(key, pieces)

    async def download(self, key: str) -> int:
        return sum([len(chunk) async for chunk in self.store.read(key)])

    async def teardown(self) -> None:
        await self.store.delete_prefix("")
        await self.store.close()


class AiobotocoreClient(Client):
    """aiobotocore used directly with botocore's defaults: multipart of 8 MiB parts, 4 in flight."""

    name = "aiobotocore direct"

    async def setup(self, server: S3Server) -> None:
        from aiobotocore.config import AioConfig
        from aiobotocore.session import get_session

        self.bucket = server.bucket
        self._context = get_session().create_client(
            "s3",
            endpoint_url=server.endpoint_url,
            region_name=server.region,
            aws_access_key_id=server.access_key,
            aws_secret_access_key=server.secret_key,
            config=AioConfig(
                signature_version="s3v4", s3={"addressing_style": "path"}, max_pool_connections=16
            ),
        )
        self.client: Any = await self._context.__aenter__()

    async def upload(self, key: str, pieces: AsyncIterator[bytes]) -> None:
        upload = await self.client.create_multipart_upload(Bucket=self.bucket, Key=key)
        slots = asyncio.Semaphore(CONCURRENCY)

        async def send(number: int, body: bytes) -> dict[str, Any]:
            try:
                response = await self.client.upload_part(
                    Bucket=self.bucket, Key=key, UploadId=upload["UploadId"], PartNumber=number, Body=body
                )
                return {"PartNumber": number, "ETag": response["ETag"]}
            finally:
                slots.release()

        tasks = []
        async for block in rechunk(pieces, PART_SIZE):
            await slots.acquire()
            tasks.append(asyncio.create_task(send(len(tasks) + 1, block)))
        parts = await asyncio.gather(*tasks)
        await self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=key, UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
        )

    async def download(self, key: str) -> int:
        response = await self.client.get_object(Bucket=self.bucket, Key=key)
        total = 0
        async for chunk in response["Body"].iter_chunks(READ_CHUNK):
            total += len(chunk)
        return total

    async def teardown(self) -> None:
        await self._context.__aexit__(None, None, None)


class ObstoreClient(Client):
    name = "obstore direct"

    async def setup(self, server: S3Server) -> None:
        from obstore.store import S3Store

        self.store = S3Store(
            server.bucket,
            endpoint=server.endpoint_url,
            region=server.region,
            access_key_id=server.access_key,
            secret_access_key=server.secret_key,
            virtual_hosted_style_request=False,
            client_options={"allow_http": True},
        )

    async def upload(self, key: str, pieces: AsyncIterator[bytes]) -> None:
        import obstore

        await obstore.put_async(self.store, key, pieces, chunk_size=PART_SIZE, max_concurrency=CONCURRENCY)

    async def download(self, key: str) -> int:
        import obstore

        result = await obstore.get_async(self.store, key)
        return sum([len(chunk) async for chunk in result.stream(min_chunk_size=READ_CHUNK)])


def row(client: str, direction: str, size: int, m: Measure) -> str:
    return (
        f"| {client} | {direction} | {size / m.seconds / 1e6:.0f} | {m.cpu:.2f} | {m.rss_growth / MiB:.0f} "
        f"| {m.lag_p99 * 1000:.0f} / {m.lag_max * 1000:.0f} | {m.server_cpu:.1f} | {m.server_rss / MiB:.0f} |"
    )


def start_server(kind: str, directory: Path, mib: int) -> S3Server:
    if kind == "ceph":  # memstore keeps every object in memory: room for one object and some slack
        return start_ceph(directory, memstore_bytes=(2 * mib + 512) * MiB)
    return start_seaweedfs(directory)


async def run(mib: int, rounds: int, names: list[str], kind: str) -> None:
    total = mib * MiB
    clients = [
        c
        for c in (StoreClient(), AiobotocoreClient(), ObstoreClient())
        if not names or any(n in c.name.lower() for n in names)
    ]
    with tempfile.TemporaryDirectory(prefix="s3bench-") as directory:
        server = start_server(kind, Path(directory), mib)
        processes = server_processes(server)
        try:
            print(
                f"{mib} MiB object, parts {PART_SIZE // MiB} MiB x {CONCURRENCY} in flight, {os.cpu_count()} cores"
            )
            print(
                "| client | direction | MB/s | client CPU-s | client RSS growth MiB | loop lag p99 / "
                f"max ms | {kind} CPU-s | {kind} peak RSS MiB |"
            )
            print("|---|---|---|---|---|---|---|---|")
            for round_number in range(rounds):
                for client in clients:
                    await client.setup(server)
                    key = f"bench/{round_number}-{clients.index(client)}"
                    up = await measured(lambda: client.upload(key, source(total)()), processes)  # noqa: B023 (awaited in the loop)
                    received = 0

                    async def download() -> None:
                        nonlocal received
                        received = await client.download(key)  # noqa: B023

                    down = await measured(download, processes)
                    assert received == total, f"{client.name} read {received} of {total} bytes"
                    print(row(client.name, "upload", total, up))
                    print(row(client.name, "download", total, down), flush=True)
                    server.boto_client().delete_object(Bucket=server.bucket, Key=key)
                    await client.teardown()
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", nargs="*", default=[], help="client names containing these words")
    parser.add_argument("--server", choices=["seaweedfs", "ceph"], default="seaweedfs")
    args = parser.parse_args()
    asyncio.run(run(args.mib, args.rounds, args.only, args.server))


if __name__ == "__main__":
    main()
