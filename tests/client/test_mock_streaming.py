"""The mocks stream like a server: 100 MiB up from a generator and down into a consumer, with this
process's memory flat (a mock that held bodies whole would grow by 100 MiB or more)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import pytest

from tests.api.test_streaming import PeakRss
from tests.client.harness import ThisProcess, make_client
from vitalgraph.client.binary import AsyncBinaryConsumer, BinaryConsumer
from vitalgraph.model import FileNode

MiB = 1024 * 1024
SIZE = 100 * MiB
BLOCK = os.urandom(MiB)


def blocks() -> Iterator[bytes]:
    for _ in range(SIZE // MiB):
        yield BLOCK


class Hashing(BinaryConsumer):
    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()

    def consume(self, data: bytes) -> None:
        self.sha256.update(data)

    def finalize(self) -> None:
        pass


class AsyncHashing(AsyncBinaryConsumer):
    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()

    async def consume(self, data: bytes) -> None:
        self.sha256.update(data)

    async def finalize(self) -> None:
        pass


@pytest.mark.parametrize("kind", ["sync-mock", "async-mock"])
def test_mock_streams_100_mib_with_flat_memory(kind, portal):
    expected = hashlib.sha256()
    for block in blocks():
        expected.update(block)
    client = make_client(kind, portal)
    try:
        client.spaces.create_space("memory")
        uri = "http://example.org/memory/big"
        client.files.create_file("memory", [FileNode(uri)])
        client.files.upload_file_stream("memory", None, uri, b"warm-up")
        client.files.download_file_content("memory", None, uri)
        baseline = ThisProcess().rss()

        with PeakRss(ThisProcess()) as upload_peak:
            result = client.files.upload_file_stream("memory", None, uri, blocks())
        consumer = AsyncHashing() if client.is_async else Hashing()
        with PeakRss(ThisProcess()) as download_peak:
            client.files.download_file_stream("memory", None, uri, consumer)
    finally:
        client.close()
    assert (result.size, result.sha256) == (SIZE, expected.hexdigest())
    assert consumer.sha256.hexdigest() == expected.hexdigest()
    for name, peak in (("upload", upload_peak.peak), ("download", download_peak.peak)):
        assert peak - baseline < 64 * MiB, f"{name} grew this process by {(peak - baseline) / MiB:.0f} MiB"
