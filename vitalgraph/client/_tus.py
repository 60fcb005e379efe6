"""Resumable uploads over tus 1.0.0, decided without I/O; the sync and async twins only run the calls.

The plan knows the upload URL and the offset the server confirmed. After a dropped connection (or a
chunk the server refused as corrupt, 460) it asks the server for the offset with HEAD and goes on
from there; a new process resumes the same way from an upload URL passed back in, or found in a
small URL store file. Each chunk carries its SHA-256 (`Upload-Checksum`), and at the end the
SHA-256 of the whole source must equal the one the server computed.

Blocking steps (reading the source, hashing) are `prepare_chunk()` and `finish()`: the async twin
runs them in a worker thread.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urljoin

import httpx

from vitalgraph.client._requests import Call
from vitalgraph.client._transfer import Progress, ProgressReporter, _Retries, guess_content_type
from vitalgraph.client.config import ClientConfig
from vitalgraph.client.errors import (
    ChecksumMismatchError,
    NetworkError,
    NotFoundError,
    VitalGraphClientError,
)
from vitalgraph.client.models import ContentInfo, UploadResult

TUS_PATH = "/api/files/tus/"
TUS_HEADERS = {"Tus-Resumable": "1.0.0"}
CHUNK_CONTENT_TYPE = "application/offset+octet-stream"
DEFAULT_RESUMABLE_CHUNK_SIZE = 5 * 1024 * 1024
CHECKSUM_MISMATCH = 460  # tus checksum extension: the server discarded the chunk
_HASH_BLOCK = 4 * 1024 * 1024

ResumableSource = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO


class _Reader:
    """A source that can be re-read from any offset: a path, bytes, or a seekable binary file object."""

    def __init__(self, source: ResumableSource) -> None:
        self.identity: str
        self._file: BinaryIO | None = None
        self._owned = False
        self._data: bytes | memoryview | None = None
        self.filename: str | None = None
        if isinstance(source, (bytes, bytearray, memoryview)):
            self._data = memoryview(source)
            self.length = len(self._data)
            self.identity = "bytes"
        elif isinstance(source, (str, os.PathLike)):
            path = Path(source)
            info = path.stat()
            self._file, self._owned = open(path, "rb"), True
            self.length, self.filename = info.st_size, path.name
            self.identity = f"{path.resolve()}:{info.st_mtime_ns}"
        elif hasattr(source, "read") and hasattr(source, "seek") and source.seekable():
            self._file = source
            self.length = source.seek(0, os.SEEK_END)
            name = getattr(source, "name", None)
            self.filename = os.path.basename(name) if isinstance(name, str) else None
            self.identity = f"file:{name}"
        else:
            raise TypeError(
                f"a resumable upload re-reads its source from any offset: pass a path, bytes or a seekable "
                f"binary file, not a {type(source).__name__}"
            )

    def read(self, offset: int, size: int) -> bytes:
        if self._data is not None:
            return bytes(self._data[offset : offset + size])
        assert self._file is not None
        self._file.seek(offset)
        return self._file.read(size)

    def close(self) -> None:
        if self._owned and self._file is not None:
            self._file.close()


class UploadUrlStore:
    """Unfinished uploads' URLs in a small JSON file, so a new process can resume them."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def _read(self) -> dict[str, str]:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            raise VitalGraphClientError(f"upload URL store {self.path} is not valid JSON: {exc}") from None

    def get(self, key: str) -> str | None:
        return self._read().get(key)

    def put(self, key: str, url: str | None) -> None:
        urls = self._read()
        if url is None:
            urls.pop(key, None)
        else:
            urls[key] = url
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=self.path.parent, delete=False, suffix=".tmp") as handle:
            json.dump(urls, handle, indent=1)
        os.replace(handle.name, self.path)


def _offset(response: httpx.Response) -> int:
    value = response.headers.get("upload-offset", "")
    if not value.isdigit():
        raise VitalGraphClientError(f"the server's tus reply has no valid Upload-Offset ({value[:40]!r})")
    return int(value)


def _location(response: httpx.Response) -> str:
    location = response.headers.get("location")
    if not location:
        raise VitalGraphClientError("the server created the upload but sent no Location")
    return urljoin(str(response.url), location)


def _metadata(values: dict[str, str | None]) -> str:
    return ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items() if v is not None
    )


class ResumablePlan:
    """One resumable upload across however many requests, connections and processes it takes."""

    def __init__(
        self,
        source: ResumableSource,
        *,
        space_id: str,
        graph_id: str | None,
        file_uri: str,
        config: ClientConfig,
        chunk_size: int = DEFAULT_RESUMABLE_CHUNK_SIZE,
        filename: str | None = None,
        content_type: str | None = None,
        progress: Progress | None = None,
        upload_url: str | None = None,
        url_store: str | os.PathLike | None = None,
        on_upload_url: Callable[[str], Any] | None = None,
    ) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        self.reader = _Reader(source)
        self.space_id, self.graph_id, self.file_uri = space_id, graph_id, file_uri
        self.chunk_size = chunk_size
        self.filename = filename or self.reader.filename
        self.content_type = content_type or guess_content_type(self.filename)
        self.length = self.reader.length
        self.progress = ProgressReporter(progress, self.length)
        self.config = config
        self.store = UploadUrlStore(url_store) if url_store is not None else None
        self.store_key = f"{space_id} {graph_id or ''} {file_uri} {self.length} {self.reader.identity}"
        self.on_upload_url = on_upload_url
        self.url = upload_url or (self.store.get(self.store_key) if self.store else None)
        self.offset: int | None = None if self.url else 0  # None: ask the server
        self.complete = False
        self.resumed = 0
        self._retries = _Retries(config, allowed=True)
        self._chunk: bytes = b""
        self._chunk_start = 0
        self._chunk_checksum = ""
        self._hash = hashlib.sha256()
        self._hashed = 0

    # --- what to send next ---------------------------------------------------------------------
    def create_call(self) -> Call[str]:
        metadata = _metadata(
            {
                "space_id": self.space_id,
                "graph_id": self.graph_id,
                "file_uri": self.file_uri,
                "filename": self.filename,
                "filetype": self.content_type,
            }
        )
        headers = {**TUS_HEADERS, "Upload-Length": str(self.length), "Upload-Metadata": metadata}
        return Call("POST", TUS_PATH, _location, headers=headers)

    def head_call(self) -> Call[int]:
        assert self.url is not None
        return Call("HEAD", self.url, _offset, headers=TUS_HEADERS)

    def prepare_chunk(self) -> None:
        """Blocking: hash what the server has confirmed so far, then read the next chunk and its checksum."""
        assert self.offset is not None
        self._hash_up_to(self.offset)
        self._chunk, self._chunk_start = self.reader.read(self.offset, self.chunk_size), self.offset
        self._chunk_checksum = base64.b64encode(hashlib.sha256(self._chunk).digest()).decode()

    def patch_call(self) -> Call[int]:
        assert self.url is not None and self.offset is not None
        headers = {
            **TUS_HEADERS,
            "Content-Type": CHUNK_CONTENT_TYPE,
            "Upload-Offset": str(self.offset),
            "Upload-Checksum": f"sha256 {self._chunk_checksum}",
        }
        return Call("PATCH", self.url, _offset, headers=headers, content=self._chunk)

    # --- what the server said ------------------------------------------------------------------
    def created(self, url: str) -> None:
        self.url, self.offset = url, 0
        if self.store is not None:
            self.store.put(self.store_key, url)
        if self.on_upload_url is not None:
            self.on_upload_url(url)
        self._check_done()

    def resumed_at(self, offset: int) -> None:
        if offset > self.length:
            raise VitalGraphClientError(
                f"the upload at {self.url} is at {offset} bytes, past this source's {self.length}"
            )
        if offset < self._hashed:  # the server kept less than it had confirmed (it lost a tail): hash again
            self._hash, self._hashed = hashlib.sha256(), 0
        self.offset = offset
        self.resumed += 1
        self.progress.report(offset)
        self._check_done()

    def sent(self, offset: int) -> None:
        assert self.offset is not None
        expected = self.offset + len(self._chunk)
        if offset != expected:
            raise VitalGraphClientError(f"sent bytes up to {expected} but the server's offset is {offset}")
        self.offset = offset  # the chunk stays until the next prepare_chunk() hashes it, off the event loop
        self._retries = _Retries(self.config, allowed=True)  # progress made: a later drop gets fresh retries
        self.progress.report(offset)
        self._check_done()

    def _check_done(self) -> None:
        self.complete = self.offset == self.length

    def retry_delay(self, error: VitalGraphClientError) -> float:
        """After a dropped connection or a refused chunk: wait, then ask the server for the offset."""
        retryable = isinstance(error, NetworkError) or error.status_code == CHECKSUM_MISMATCH
        if not retryable:
            raise error
        delay = self._retries.next_delay(error)
        self.offset = None if self.url else 0  # no URL yet: create the upload again
        return delay

    def lost(self, error: NotFoundError) -> None:
        """The known URL is gone (expired, finished, terminated): start a new upload."""
        if self.store is not None:
            self.store.put(self.store_key, None)
        self.url, self.offset = None, 0
        self._hash, self._hashed, self._chunk = hashlib.sha256(), 0, b""

    # --- the end -------------------------------------------------------------------------------
    def finish(self) -> str:
        """Blocking: the SHA-256 of the whole source (mostly hashed already as chunks were confirmed)."""
        self._hash_up_to(self.length)
        self.reader.close()
        if self.store is not None:
            self.store.put(self.store_key, None)
        return self._hash.hexdigest()

    def result(self, sha256: str, info: ContentInfo) -> UploadResult:
        if info.size != self.length or info.sha256 != sha256:
            raise ChecksumMismatchError(
                f"the server stored {self.file_uri} as {info.size} bytes with SHA-256 {info.sha256}, but the "
                f"source has {self.length} bytes with SHA-256 {sha256}",
                expected=sha256,
                actual=str(info.sha256),
            )
        return UploadResult(
            uri=self.file_uri,
            size=info.size,
            sha256=sha256,
            content_type=info.content_type,
            filename=info.filename,
        )

    def close(self) -> None:
        self.reader.close()

    def _hash_up_to(self, offset: int) -> None:
        while self._hashed < offset:
            in_chunk = self._hashed - self._chunk_start
            if 0 <= in_chunk < len(self._chunk):  # the chunk just confirmed: no need to read it again
                block = memoryview(self._chunk)[in_chunk : in_chunk + offset - self._hashed]
            else:
                block = self.reader.read(self._hashed, min(_HASH_BLOCK, offset - self._hashed))
            if not block:
                raise VitalGraphClientError(f"the source ended at {self._hashed} bytes, before {offset}")
            self._hash.update(block)
            self._hashed += len(block)
