"""What an upload or download must do, decided without I/O; the sync and async twins only move bytes.

A download remembers how far it got and the file's strong ETag (its SHA-256), so after a dropped
connection the next request asks for the rest with `Range` + `If-Range`; at the end the SHA-256 of
every byte received must equal the ETag. An upload is resent only when its source can be re-read.
"""

from __future__ import annotations

import base64
import contextlib
import mimetypes
import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from email.message import Message
from email.utils import collapse_rfc2231_value
from typing import Any

import httpx

from vitalgraph.client._hashing import BackgroundHasher
from vitalgraph.client._requests import Call
from vitalgraph.client.binary.async_streaming import AsyncBinaryGenerator
from vitalgraph.client.binary.streaming import BinaryGenerator
from vitalgraph.client.config import ClientConfig
from vitalgraph.client.errors import (
    ChecksumMismatchError,
    ContentChangedError,
    NetworkError,
    VitalGraphClientError,
)
from vitalgraph.client.models import ContentInfo, DownloadResult, UploadResult

Progress = Callable[[int, "int | None"], Any]
DEFAULT_CONTENT_TYPE = "application/octet-stream"
_STRONG_SHA256_ETAG = re.compile(r'^"([0-9a-f]{64})"$')
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
_MAX_BACKOFF_SECONDS = 10.0


class ProgressReporter:
    """Calls `progress(done, total)` with values that only grow: a resent upload stays silent until it
    passes what was already reported."""

    def __init__(self, callback: Progress | None, total: int | None) -> None:
        self.callback = callback
        self.total = total
        self._reported = -1

    def report(self, done: int) -> None:
        if self.callback is not None and done > self._reported:
            self._reported = done
            self.callback(done, self.total)


class _Retries:
    def __init__(self, config: ClientConfig, allowed: bool) -> None:
        self.left = config.max_retries if allowed else 0
        self.backoff = config.retry_backoff
        self.used = 0

    def next_delay(self, error: Exception) -> float:
        """Seconds to wait before trying again; re-raises `error` when no retry is left."""
        if self.left <= 0:
            raise error
        self.left -= 1
        self.used += 1
        return min(self.backoff * 2 ** (self.used - 1), _MAX_BACKOFF_SECONDS)


# --- uploads ------------------------------------------------------------------------------------
class UploadPlan:
    """One upload: its description, the running count and hash of what was sent, and the retry rule."""

    def __init__(
        self,
        generator: BinaryGenerator | AsyncBinaryGenerator,
        *,
        config: ClientConfig,
        filename: str | None = None,
        content_type: str | None = None,
        progress: Progress | None = None,
        sha256: str | None = None,
    ) -> None:
        self.generator = generator
        self.claimed_sha256 = _check_hex_sha256(sha256)
        self.filename = filename or generator.filename
        self.content_type = content_type or generator.content_type or guess_content_type(self.filename)
        self.length = generator.content_length
        self.replayable = generator.replayable
        self.verify = config.verify_checksum
        self.progress = ProgressReporter(progress, self.length)
        self.body_error: BaseException | None = None
        self._retries = _Retries(config, allowed=generator.replayable)
        self._sent = 0
        self._hash = BackgroundHasher()

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": self.content_type}
        if self.length is not None:
            headers["Content-Length"] = str(self.length)  # lets the server refuse an oversize file at once
        if self.claimed_sha256:  # the server checks the bytes against it before the file changes
            headers["Repr-Digest"] = repr_digest_field(self.claimed_sha256)
        return headers

    def body(self) -> SyncUploadBody | AsyncUploadBody:
        """The request body, read from the source the way its kind (sync or async) is read."""
        if isinstance(self.generator, AsyncBinaryGenerator):
            return AsyncUploadBody(self)
        return SyncUploadBody(self)

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Around one pass over the source: the count and hash start again; the source's own error is
        kept, so that it wins over the connection error it causes (`retry_delay`)."""
        self._sent = 0
        self._hash = BackgroundHasher()
        self.body_error = None
        try:
            yield
        except Exception as exc:
            self.body_error = exc
            raise

    def body_chunk(self, chunk: bytes) -> bytes:
        """Count and hash one chunk of the body on its way out."""
        if self.verify:
            self._hash.update(chunk)
        self._sent += len(chunk)
        self.progress.report(self._sent)
        return chunk

    def retry_delay(self, error: NetworkError) -> float:
        """After a connection error with no response: the source's own error wins; else retry if re-readable."""
        if self.body_error is not None:
            raise self.body_error
        return self._retries.next_delay(error)

    def check(self, result: UploadResult) -> UploadResult:
        if result.size != self._sent:
            raise VitalGraphClientError(f"sent {self._sent} bytes but the server stored {result.size}")
        sent_sha256 = self._hash.hexdigest() if self.verify else result.sha256
        if sent_sha256 != result.sha256:
            raise ChecksumMismatchError(
                f"the server stored {result.uri} with SHA-256 {result.sha256}, but the bytes sent have {sent_sha256}",
                expected=sent_sha256,
                actual=result.sha256,
            )
        return result


class _UploadBody:
    def __init__(self, plan: UploadPlan) -> None:
        self.plan = plan


class SyncUploadBody(_UploadBody):
    """The request body of a sync upload; iterating again re-reads the source (for a retry)."""

    def __iter__(self) -> Iterator[bytes]:
        with self.plan.reading():
            for chunk in self.plan.generator.generate():  # type: ignore[union-attr]
                yield self.plan.body_chunk(chunk)


class AsyncUploadBody(_UploadBody):
    """The request body of an async upload (async-iterable only, so httpx sends it as one);
    iterating again re-reads the source (for a retry)."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with self.plan.reading():
            async for chunk in self.plan.generator.generate():  # type: ignore[union-attr]
                yield self.plan.body_chunk(chunk)


# --- downloads ----------------------------------------------------------------------------------
class DownloadPlan:
    """One download across however many requests it takes.

    `feed()` passes bytes on in pieces of about `chunk_size` (fewer hand-offs to consumers and threads).
    `expected` (from a HEAD) pins the content: a different ETag means the file was replaced.
    """

    def __init__(
        self,
        call: Call[Any],
        *,
        uri: str,
        config: ClientConfig,
        chunk_size: int | None = None,
        progress: Progress | None = None,
        expected: ContentInfo | None = None,
    ) -> None:
        self.call = call.with_headers(**{"Accept-Encoding": "identity"})  # bytes exactly as stored
        self.uri = uri
        self.verify = config.verify_checksum
        self.chunk_size = chunk_size or config.chunk_size
        self.progress = ProgressReporter(progress, None)
        self.info = expected
        self.pinned = expected is not None
        self.offset = 0
        self.resumed = 0
        self.continued_from = 0
        self._continuing = False
        self.complete = False
        self._retries = _Retries(config, allowed=True)
        self._hash = BackgroundHasher()
        self._pending: list[bytes] = []
        self._pending_size = 0

    def continue_at(self, kept: int, kept_bytes: Iterable[bytes]) -> None:
        """Start after the first `kept` bytes, saved by an earlier run of the same (pinned) content; they
        are hashed here, so the SHA-256 check still covers the whole file."""
        assert self.pinned and self.info is not None and 0 <= kept <= self.info.size
        for chunk in kept_bytes:
            if self.verify:
                self._hash.update(chunk)
        self.offset = self.continued_from = kept
        self._continuing = kept > 0
        self.progress.total = self.info.size
        self.progress.report(kept)
        self.complete = kept == self.info.size

    def next_call(self) -> Call[Any]:
        if self.offset and self.info is not None and self.info.sha256:
            etag = f'"{self.info.sha256}"'
            return self.call.with_headers(Range=f"bytes={self.offset}-", **{"If-Range": etag})
        return self.call

    def start(self, response: httpx.Response) -> None:
        """Check a 2xx reply fits what was asked: the whole file first, then the rest of the same file."""
        if self.offset == 0:
            self._start_whole(response)
        else:
            self._start_rest(response)

    def _start_whole(self, response: httpx.Response) -> None:
        info = content_info(self.uri, response.headers)
        if self.pinned and self.info is not None and info.sha256 != self.info.sha256:
            raise ContentChangedError(
                f"the content of {self.uri} was replaced on the server; download it again"
            )
        self.info = info
        self.progress.total = info.size

    def _start_rest(self, response: httpx.Response) -> None:
        assert self.info is not None
        if response.status_code != 206:
            raise ContentChangedError(
                f"the content of {self.uri} was replaced on the server during the download; download it again"
            )
        found = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
        if not found or int(found[1]) != self.offset or int(found[3]) != self.info.size:
            raise VitalGraphClientError(
                f"asked for bytes {self.offset}- of {self.info.size} but got Content-Range "
                f"{response.headers.get('content-range')!r}"
            )
        if self._continuing:  # the first request of a continuation: not a resume after a drop
            self._continuing = False
        else:
            self.resumed += 1

    def feed(self, chunk: bytes) -> list[bytes]:
        """Bytes just received; returns the pieces ready to pass on. Reads of a quarter chunk or more go
        on as they are (joining them cost 10% of a fast download); smaller ones are gathered first."""
        self.offset += len(chunk)
        self._pending.append(chunk)
        self._pending_size += len(chunk)
        if self._pending_size < self.chunk_size // 4:
            return []
        self.progress.report(self.offset)
        return [self._take_pending()]

    def body_ended(self) -> None:
        """The reply ended; a short one is a dropped connection (resumed like one)."""
        size = self.info.size if self.info else self.offset
        if self.offset < size:
            raise NetworkError(f"the connection closed after {self.offset} of {size} bytes")
        self.complete = True

    def retry_delay(self, error: NetworkError) -> float:
        resumable = self.offset == 0 or (self.info is not None and self.info.sha256 is not None)
        if not resumable:
            raise error
        return self._retries.next_delay(error)

    def finish(self) -> list[bytes]:
        """Verify the whole (before the last piece goes out, so a corrupt file never looks complete)."""
        assert self.info is not None
        tail = self._take_pending() if self._pending_size else None
        actual = self._hash.hexdigest()
        if self.verify and self.info.sha256 and actual != self.info.sha256:
            raise ChecksumMismatchError(
                f"downloaded {self.uri} has SHA-256 {actual}, but the server's ETag says {self.info.sha256}",
                expected=self.info.sha256,
                actual=actual,
            )
        self.progress.report(self.offset)
        return [tail] if tail else []

    def result(self, path: Any = None) -> DownloadResult:
        assert self.info is not None
        return DownloadResult(
            **self.info.model_dump(), path=path, resumed=self.resumed, continued_from=self.continued_from
        )

    def _take_pending(self) -> bytes:
        piece = bytes(self._pending[0]) if len(self._pending) == 1 else b"".join(self._pending)
        self._pending, self._pending_size = [], 0
        if self.verify:
            self._hash.update(piece)
        return piece


def continuation(kept: int, kept_etag: str | None, info: ContentInfo, first_try: bool) -> tuple[int, bool]:
    """For a download that continues across runs: how many bytes of an earlier run's part to keep (those
    of the same content, by ETag), and whether a kept part is being discarded (the file changed)."""
    etag = f'"{info.sha256}"' if info.sha256 else None
    same = first_try and etag is not None and kept_etag == etag and 0 < kept <= info.size
    return (kept if same else 0), (not same and (kept_etag is not None or not first_try))


def content_info(uri: str, headers: httpx.Headers) -> ContentInfo:
    """What a download's (or HEAD's) headers say about the file. The SHA-256 comes from `Repr-Digest`
    (RFC 9530), else from the strong ETag; when both are there they must agree."""
    etag = _STRONG_SHA256_ETAG.match(headers.get("etag", ""))
    length = headers.get("content-length")
    if length is None or not length.isdigit():
        raise VitalGraphClientError(f"the server sent no Content-Length for {uri}")
    digest = repr_digest_sha256(headers.get("repr-digest"))
    if digest and etag and digest != etag[1]:
        raise ChecksumMismatchError(
            f"{uri}: the server's Repr-Digest ({digest}) and ETag ({etag[1]}) name different contents",
            expected=digest,
            actual=etag[1],
        )
    return ContentInfo(
        uri=uri,
        size=int(length),
        sha256=digest or (etag[1] if etag else None),
        content_type=headers.get("content-type", DEFAULT_CONTENT_TYPE),
        filename=filename_from_disposition(headers.get("content-disposition")),
    )


def repr_digest_sha256(value: str | None) -> str | None:
    """The hex SHA-256 in a `Repr-Digest: sha-256=:<base64>:` field; None if absent or unreadable."""
    for member in (value or "").split(","):
        name, _, raw = member.partition("=")
        raw = raw.strip()
        if name.strip() == "sha-256" and len(raw) > 2 and raw[0] == raw[-1] == ":":
            try:
                digest = base64.b64decode(raw[1:-1], validate=True)
            except ValueError:
                return None
            return digest.hex() if len(digest) == 32 else None
    return None


def repr_digest_field(sha256_hex: str) -> str:
    return f"sha-256=:{base64.b64encode(bytes.fromhex(sha256_hex)).decode()}:"


def filename_from_disposition(value: str | None) -> str | None:
    if not value:
        return None
    message = Message()
    message["content-disposition"] = value
    names = [
        name for key, name in message.get_params(header="content-disposition") or [] if key == "filename"
    ]
    extended = [name for name in names if isinstance(name, tuple)]  # RFC 6266: filename* wins over filename
    chosen = (extended or names or [None])[0]
    return collapse_rfc2231_value(chosen) if chosen is not None else None


def guess_content_type(filename: str | None) -> str:
    guessed = mimetypes.guess_type(filename)[0] if filename else None
    return guessed or DEFAULT_CONTENT_TYPE


def _check_hex_sha256(value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) != 64 or any(c not in "0123456789abcdefABCDEF" for c in value):
        raise ValueError(f"sha256 must be 64 hex digits, not {value[:80]!r}")
    return value.lower()
