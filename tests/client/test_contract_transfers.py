"""Contract: uploads from every kind of source, downloads to every kind of destination, resume,
checksums and progress, identical for the four client implementations."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.client.harness import DownloadFault
from vitalgraph.client import ChecksumMismatchError, DownloadResult, NetworkError, UploadResult
from vitalgraph.client.binary import (
    AsyncBinaryConsumer,
    AsyncBinaryGenerator,
    BinaryConsumer,
    BinaryGenerator,
    CallableGenerator,
)
from vitalgraph.model import FileNode

MiB = 1024 * 1024
DATA = os.urandom(3 * MiB + 4321)  # more than one 1 MiB chunk, not a multiple of it
SHA = hashlib.sha256(DATA).hexdigest()


def pieces(data: bytes = DATA, size: int = 100_000) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def async_pieces(data: bytes = DATA, size: int = 100_000) -> AsyncIterator[bytes]:
    for piece in pieces(data, size):
        yield piece


class ListGenerator(BinaryGenerator):
    def generate(self) -> Iterator[bytes]:
        return pieces()

    @property
    def content_length(self) -> int:
        return len(DATA)


class AsyncListGenerator(AsyncBinaryGenerator):
    async def generate(self) -> AsyncIterator[bytes]:
        async for piece in async_pieces():
            yield piece


class Collector(BinaryConsumer):
    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.finalized = self.aborted = False

    def consume(self, data: bytes) -> None:
        self.chunks.append(data)

    def finalize(self) -> None:
        self.finalized = True

    def abort(self) -> None:
        self.aborted = True


class AsyncCollector(AsyncBinaryConsumer):
    def __init__(self) -> None:
        self.sync = Collector()

    async def consume(self, data: bytes) -> None:
        self.sync.consume(data)

    async def finalize(self) -> None:
        self.sync.finalize()

    async def abort(self) -> None:
        self.sync.abort()


SOURCES = {
    "path": lambda tmp_path: _written(tmp_path / "source.bin"),
    "bytes": lambda tmp_path: DATA,
    "file object": lambda tmp_path: io.BytesIO(DATA),
    "sync iterator": lambda tmp_path: iter(list(pieces())),
    "generator": lambda tmp_path: pieces(),
    "BinaryGenerator": lambda tmp_path: ListGenerator(),
    "CallableGenerator": lambda tmp_path: CallableGenerator(pieces, DATA, 65536, content_length=len(DATA)),
    "async iterator": lambda tmp_path: async_pieces(),
    "AsyncBinaryGenerator": lambda tmp_path: AsyncListGenerator(),
}
ASYNC_ONLY = {"async iterator", "AsyncBinaryGenerator"}


def _written(path):
    path.write_bytes(DATA)
    return path


@pytest.mark.parametrize("source_kind", list(SOURCES))
def test_upload_from_each_kind_of_source(client, space, file_uri, tmp_path, source_kind):
    source = SOURCES[source_kind](tmp_path)
    if source_kind in ASYNC_ONLY and not client.is_async:
        with pytest.raises(TypeError, match="AsyncVitalGraphClient"):
            client.files.upload_file_stream(space, None, file_uri, source)
        return
    result = client.files.upload_file_stream(
        space, None, file_uri, source, filename="data.bin", content_type="application/pdf"
    )
    assert isinstance(result, UploadResult)
    assert (result.uri, result.size, result.sha256) == (file_uri, len(DATA), SHA)
    assert (result.content_type, result.filename) == ("application/pdf", "data.bin")
    assert client.files.download_file_content(space, None, file_uri) == DATA
    node = client.files.get_file(space, file_uri)
    assert (node.fileLength, node.sha256) == (len(DATA), SHA)


def test_upload_guesses_name_and_type_from_a_path(client, space, file_uri, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"hello")
    result = client.files.upload_file_content(space, None, file_uri, path)
    assert (result.filename, result.content_type) == ("notes.txt", "text/plain")


@pytest.fixture
def stored(client, space, file_uri) -> str:
    client.files.upload_file_stream(space, None, file_uri, DATA, filename="stored.bin")
    return file_uri


def test_download_to_a_path(client, space, stored, tmp_path):
    target = tmp_path / "out" / "copy.bin"
    result = client.files.download_file_stream(space, None, stored, target)
    assert isinstance(result, DownloadResult)
    assert (result.size, result.sha256, result.path, result.filename, result.resumed) == (
        len(DATA),
        SHA,
        target,
        "stored.bin",
        0,
    )
    assert target.read_bytes() == DATA
    assert not target.with_name("copy.bin.part").exists()


def test_non_ascii_filename_round_trips(client, space, file_uri):
    client.files.upload_file_stream(space, None, file_uri, b"x", filename="résumé 2026.pdf")
    assert (
        client.files.download_file_stream(space, None, file_uri, io.BytesIO()).filename == "résumé 2026.pdf"
    )


def test_download_to_a_file_object(client, space, stored):
    buffer = io.BytesIO()
    assert client.files.download_file_stream(space, None, stored, buffer).size == len(DATA)
    assert buffer.getvalue() == DATA


def test_download_to_a_consumer(client, space, stored):
    consumer = AsyncCollector() if client.is_async else Collector()
    client.files.download_file_stream(space, None, stored, consumer)
    collected = consumer.sync if client.is_async else consumer
    assert b"".join(collected.chunks) == DATA
    assert collected.finalized and not collected.aborted
    assert max(map(len, collected.chunks)) <= 2 * MiB  # handed over in pieces, never whole


def test_iter_file_yields_the_content_in_pieces(client, space, stored):
    chunks = list(client.files.iter_file(space, None, stored))
    assert b"".join(chunks) == DATA
    assert len(chunks) > 1


def test_pump_file_copies_between_nodes(client, space, stored):
    target = f"http://example.org/{space}/copy"
    client.files.create_file(space, [FileNode(target)], "other-graph")
    result = client.files.pump_file(space, None, stored, space, "other-graph", target)
    assert (result.uri, result.size, result.sha256, result.filename) == (target, len(DATA), SHA, "stored.bin")
    assert client.files.download_file_content(space, "other-graph", target) == DATA


def test_progress_grows_to_the_total(client, space, file_uri, tmp_path):
    seen_up: list[tuple[int, int | None]] = []
    client.files.upload_file_stream(
        space,
        None,
        file_uri,
        _written(tmp_path / "p.bin"),
        progress=lambda done, total: seen_up.append((done, total)),
    )
    seen_down: list[tuple[int, int | None]] = []
    client.files.download_file_stream(
        space, None, file_uri, io.BytesIO(), progress=lambda done, total: seen_down.append((done, total))
    )
    for seen in (seen_up, seen_down):
        done = [d for d, _ in seen]
        assert len(seen) >= 3
        assert done == sorted(set(done))  # strictly increasing
        assert {t for _, t in seen} == {len(DATA)}
        assert seen[-1] == (len(DATA), len(DATA))


def test_a_dropped_download_resumes_with_range(client, space, stored, tmp_path):
    requests: list[httpx.Request] = []
    fault = DownloadFault(after=MiB + 17, times=2)
    progress: list[int] = []
    with client.hooks(request=requests.append, response=fault):
        result = client.files.download_file_stream(
            space, None, stored, tmp_path / "resumed.bin", progress=lambda done, total: progress.append(done)
        )
    assert (tmp_path / "resumed.bin").read_bytes() == DATA
    assert result.resumed == 2 and fault.applied == 2
    downloads = [r for r in requests if r.url.path.endswith("/stream/download")]
    assert [r.headers.get("range") for r in downloads] == [
        None,
        f"bytes={MiB + 17}-",
        f"bytes={2 * MiB + 34}-",
    ]
    assert {r.headers.get("if-range") for r in downloads[1:]} == {f'"{SHA}"'}
    assert progress == sorted(progress) and progress[-1] == len(DATA)


def test_iter_file_resumes_too(client, space, stored):
    with client.hooks(response=DownloadFault(after=123_456)):
        assert b"".join(client.files.iter_file(space, None, stored)) == DATA


def test_download_gives_up_after_max_retries(client, space, stored, tmp_path):
    target = tmp_path / "never.bin"
    with client.hooks(response=DownloadFault(after=1000, times=100)), pytest.raises(NetworkError):
        client.files.download_file_stream(space, None, stored, target)
    assert not target.exists() and not target.with_name("never.bin.part").exists()


def test_a_changed_byte_is_a_checksum_mismatch(client, space, stored, tmp_path):
    target = tmp_path / "corrupt.bin"
    with client.hooks(response=DownloadFault(after=2 * MiB + 5, flip=True)):
        with pytest.raises(ChecksumMismatchError) as mismatch:
            client.files.download_file_stream(space, None, stored, target)
    assert mismatch.value.expected == SHA and mismatch.value.actual != SHA
    assert not target.exists() and not target.with_name("corrupt.bin.part").exists()
    with client.hooks(response=DownloadFault(after=5, flip=True)), pytest.raises(ChecksumMismatchError):
        list(client.files.iter_file(space, None, stored))


def test_replayable_upload_is_retried_after_a_connection_error(client, space, file_uri):
    failures = {"left": 1}

    def refuse_once(request: httpx.Request) -> None:
        if request.url.path.endswith("/stream/upload") and failures["left"]:
            failures["left"] -= 1
            raise httpx.ConnectError("injected: connection refused")

    with client.hooks(request=refuse_once):
        assert client.files.upload_file_stream(space, None, file_uri, DATA).sha256 == SHA
    assert failures["left"] == 0


def test_one_shot_upload_is_not_retried(client, space, file_uri):
    def refuse(request: httpx.Request) -> None:
        if request.url.path.endswith("/stream/upload"):
            raise httpx.ConnectError("injected: connection refused")

    with client.hooks(request=refuse), pytest.raises(NetworkError, match="injected"):
        client.files.upload_file_stream(space, None, file_uri, pieces())


def test_a_failing_source_aborts_the_upload_and_keeps_the_old_content(client, space, stored):
    def broken() -> Iterator[bytes]:
        yield b"x" * 100_000
        raise ValueError("source broke")

    with pytest.raises(ValueError, match="source broke"):
        client.files.upload_file_stream(space, None, stored, broken())
    assert client.files.download_file_content(space, None, stored) == DATA


def test_empty_file_round_trip(client, space, file_uri, tmp_path):
    assert client.files.upload_file_stream(space, None, file_uri, b"").size == 0
    assert client.files.download_file_content(space, None, file_uri) == b""
    assert client.files.download_file_stream(space, None, file_uri, tmp_path / "empty").size == 0
    assert (tmp_path / "empty").read_bytes() == b""
