"""The download response: whole file, single range, multipart/byteranges, 304 and 416.

The body is pulled from the blob store one chunk at a time and handed straight to the ASGI server,
so memory stays at about one chunk per download whatever the file size. When the client goes away
the store's iterator is closed at once, so a local file handle or S3 stream is not left reading.

Range is honoured for GET only: RFC 9110 §14.2 says a server MUST ignore Range on methods for
which range handling is not defined, and GET is the only one. HEAD therefore always describes
the whole file (with Accept-Ranges: bytes, so clients know they may ask for ranges).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime

import anyio
import anyio.lowlevel
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send

from vitalgraph.api.digests import digest_field, wants_sha256
from vitalgraph.api.idle import IdleTimeout, IdleWatchdog
from vitalgraph.api.ranges import (
    ByteRange,
    content_disposition,
    content_range,
    if_none_match_hits,
    if_range_allows_partial,
    parse_range_header,
    unsatisfied_content_range,
)
from vitalgraph.errors import NotFoundError, RangeNotSatisfiableError

logger = logging.getLogger(__name__)

ReadRange = Callable[[int, int], AsyncIterator[bytes]]
# A body is literal bytes (multipart framing) interleaved with ranges read from the store.
BodyPart = bytes | ByteRange

FALLBACK_MEDIA_TYPE = "application/octet-stream"
# Files are per-user and may change behind the same URL: no shared caches, revalidate each time
# (a cheap 304 thanks to the ETag).
CACHE_CONTROL = "private, no-cache"
_CLOSE_TIMEOUT_SECONDS = 10.0
_MEDIA_TYPE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:[ \t]*;[\x20-\x7e\t]*)?")


class BodyLengthMismatchError(RuntimeError):
    """The store yielded more or fewer bytes than the response promised in Content-Length."""


def build_download_response(
    request: Request,
    *,
    size: int,
    etag: str,
    content_type: str,
    filename: str | None,
    last_modified: datetime | None,
    read_range: ReadRange,
    chunk_size: int,
    stall_timeout: float | None = None,
    sha256: str | None = None,
) -> Response:
    """The response to a GET or HEAD of a stored file of `size` bytes.

    `read_range(start, end_inclusive)` must yield exactly those bytes; it is not called for HEAD,
    304, 416 or an empty file. A client that reads nothing for `stall_timeout` seconds is cut off.
    """
    if size < 0:
        raise ValueError(f"size must be >= 0, got {size}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")

    media_type = _safe_media_type(content_type)
    last_modified_http = _http_date(last_modified) if last_modified is not None else None
    validators = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if last_modified_http is not None:
        validators["Last-Modified"] = last_modified_http

    if if_none_match_hits(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=validators)

    headers = {
        **validators,
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(filename),
        # Uploaded bytes must never be sniffed into HTML or script by a browser.
        "X-Content-Type-Options": "nosniff",
    }
    whole = [ByteRange(0, size - 1)] if size else []

    ranges: list[ByteRange] | None = None
    if request.method == "GET" and if_range_allows_partial(
        request.headers.get("if-range"), etag, last_modified_http
    ):
        try:
            ranges = parse_range_header(request.headers.get("range"), size)
        except RangeNotSatisfiableError as exc:
            return JSONResponse(
                {"detail": f"range not satisfiable: {exc}"},
                status_code=416,
                headers={
                    **validators,
                    "Accept-Ranges": "bytes",
                    "Content-Range": unsatisfied_content_range(exc.size),
                },
            )

    if sha256 is not None and wants_sha256(request.headers.get("want-repr-digest")):
        headers["Repr-Digest"] = digest_field(sha256)  # the whole file, whatever part is sent
    if ranges is None:
        status, body = 200, whole
        headers["Content-Type"] = media_type
        if sha256 is not None and wants_sha256(request.headers.get("want-content-digest")):
            headers["Content-Digest"] = digest_field(sha256)  # the content is the whole file
    elif len(ranges) == 1:
        status, body = 206, ranges
        headers["Content-Type"] = media_type
        headers["Content-Range"] = content_range(ranges[0], size)
    else:
        boundary = secrets.token_hex(16)
        status, body = 206, multipart_body(ranges, size, media_type, boundary)
        headers["Content-Type"] = f"multipart/byteranges; boundary={boundary}"
    headers["Content-Length"] = str(body_length(body))

    if request.method == "HEAD":
        return Response(status_code=status, headers=headers)
    return RangeStreamResponse(
        status_code=status,
        headers=headers,
        body=body,
        read_range=read_range,
        chunk_size=chunk_size,
        stall_timeout=stall_timeout,
    )


def multipart_body(ranges: Sequence[ByteRange], size: int, media_type: str, boundary: str) -> list[BodyPart]:
    """The multipart/byteranges layout (RFC 9110 §14.6): framing bytes around each range."""
    body: list[BodyPart] = []
    for byte_range in ranges:
        part_headers = (
            f"--{boundary}\r\n"
            f"Content-Type: {media_type}\r\n"
            f"Content-Range: {content_range(byte_range, size)}\r\n"
            "\r\n"
        )
        body += [part_headers.encode("ascii"), byte_range, b"\r\n"]
    body.append(f"--{boundary}--\r\n".encode("ascii"))
    return body


def body_length(body: Sequence[BodyPart]) -> int:
    return sum(part.length if isinstance(part, ByteRange) else len(part) for part in body)


class RangeStreamResponse(Response):
    """Streams literal bytes and store ranges, checking every range yields exactly its length."""

    def __init__(
        self,
        *,
        status_code: int,
        headers: Mapping[str, str],
        body: Sequence[BodyPart],
        read_range: ReadRange,
        chunk_size: int,
        stall_timeout: float | None = None,
    ) -> None:
        self.status_code = status_code
        self.background = None
        self.init_headers(headers)  # no self.body, so Content-Length is ours, not computed
        self._body_parts = list(body)
        self._read_range = read_range
        self._chunk_size = chunk_size
        self._stall_timeout = stall_timeout
        self._content_length = body_length(self._body_parts)
        self.on_close: Callable[[], Awaitable[None]] | None = None  # run once the body is sent or given up

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        send = _raise_client_disconnect_on_os_error(send)
        watchdog = IdleWatchdog(self._stall_timeout) if self._stall_timeout is not None else None
        if watchdog is not None:
            send = _cut_off_after_stall(send, watchdog)
        try:
            if _asgi_spec_version(scope) >= (2, 4):
                await self._send_response(send)  # such servers raise from send() once the client is gone
            else:
                await self._send_response_until_disconnect(receive, send)
        except ClientDisconnect:
            logger.debug("client disconnected during download of %s", scope.get("path"))
        except ClientStalledError as exc:
            # Returning with the response unfinished makes the server close the connection; the
            # store's stream is already closed. The client may resume with a Range request.
            logger.warning("download of %s cut off: %s", scope.get("path"), exc)
        except NotFoundError as exc:
            # The blob version this download is pinned to went away mid-body (a store that cannot hold
            # it open, S3): end the connection short of Content-Length, so no client takes the bytes
            # sent so far for the whole answer, and none are spliced from another version.
            logger.warning("download of %s cut off: %s", scope.get("path"), exc)
        finally:
            if watchdog is not None:
                watchdog.close()
            if self.on_close is not None:
                with anyio.CancelScope(shield=True):
                    await self.on_close()

    async def _send_response_until_disconnect(self, receive: Receive, send: Send) -> None:
        # Older servers silently drop send() after a disconnect: watch receive() instead, or the
        # whole file would be read from the store for nobody.
        failure: Exception | None = None
        async with anyio.create_task_group() as task_group:

            async def cancel_on_disconnect() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                logger.debug("client disconnected; stopping the download")
                task_group.cancel_scope.cancel()

            async def send_then_checkpoint(message: Message) -> None:
                await send(message)
                # Such servers return from send() without yielding once the client is gone; give the
                # watcher a turn, or a store with buffered data would be drained in a tight loop.
                await anyio.lowlevel.checkpoint()

            task_group.start_soon(cancel_on_disconnect)
            try:
                await self._send_response(send_then_checkpoint)
            except Exception as exc:  # re-raised below, outside the group, unwrapped
                failure = exc
            task_group.cancel_scope.cancel()
        if failure is not None:
            raise failure

    async def _send_response(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        sent = 0
        for part in self._body_parts:
            if isinstance(part, ByteRange):
                sent += await self._send_range(send, part)
            elif part:
                await send({"type": "http.response.body", "body": part, "more_body": True})
                sent += len(part)
        if sent != self._content_length:  # unreachable unless the layout itself is wrong
            raise BodyLengthMismatchError(f"sent {sent} bytes but promised {self._content_length}")
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _send_range(self, send: Send, byte_range: ByteRange) -> int:
        remaining = byte_range.length
        chunks = self._read_range(byte_range.start, byte_range.end)
        try:
            async for chunk in chunks:
                if len(chunk) > remaining:
                    raise _mismatch(byte_range, byte_range.length - remaining + len(chunk), "more")
                remaining -= len(chunk)
                for piece in _split(chunk, self._chunk_size):
                    await send({"type": "http.response.body", "body": piece, "more_body": True})
        finally:
            await _close_quietly(chunks)
        if remaining:
            # Never finish the response: a short body must not look complete to the client.
            raise _mismatch(byte_range, byte_range.length - remaining, "fewer")
        return byte_range.length


def _mismatch(byte_range: ByteRange, got: int, more_or_fewer: str) -> BodyLengthMismatchError:
    error = BodyLengthMismatchError(
        f"blob read of bytes {byte_range.start}-{byte_range.end} yielded {more_or_fewer} than the "
        f"{byte_range.length} bytes promised ({got}); aborting the response"
    )
    logger.error("%s", error)
    return error


def _split(chunk: bytes, chunk_size: int) -> list[bytes]:
    """Bound each ASGI message, so one oversized store chunk does not bypass flow control."""
    chunk = bytes(chunk)  # ASGI bodies are bytes; stores may hand out bytearray or memoryview
    if len(chunk) <= chunk_size:
        return [chunk] if chunk else []
    return [chunk[offset : offset + chunk_size] for offset in range(0, len(chunk), chunk_size)]


async def _close_quietly(chunks: AsyncIterator[bytes]) -> None:
    """Close the store iterator even when cancelled, so it releases its file or S3 stream now."""
    aclose = getattr(chunks, "aclose", None)
    if aclose is None:
        return
    with anyio.move_on_after(_CLOSE_TIMEOUT_SECONDS, shield=True):
        try:
            await aclose()
        except Exception:
            logger.warning("closing a blob read stream failed", exc_info=True)


def _raise_client_disconnect_on_os_error(send: Send) -> Send:
    # Tell "the socket is gone" apart from an OSError raised by the store while reading.
    async def guarded_send(message: Message) -> None:
        try:
            await send(message)
        except OSError as exc:
            raise ClientDisconnect() from exc

    return guarded_send


class ClientStalledError(Exception):
    """The client read nothing for the stall timeout while keeping its connection open."""


def _cut_off_after_stall(send: Send, watchdog: IdleWatchdog) -> Send:
    # uvicorn's send() waits for the socket to drain before it writes: a client that stops reading
    # would hold this download (an open file or S3 stream) forever.
    async def timed_send(message: Message) -> None:
        try:
            await watchdog.wait(send(message))
        except IdleTimeout:
            raise ClientStalledError(
                f"the client read nothing for {watchdog.seconds:g} s (TRANSFER_IDLE_TIMEOUT_SECONDS)"
            ) from None

    return timed_send


def _asgi_spec_version(scope: Scope) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in scope.get("asgi", {}).get("spec_version", "2.0").split("."))
    except ValueError:
        return (2, 0)


def _safe_media_type(content_type: str) -> str:
    """The stored type if it is a well-formed header value; it also goes into multipart framing."""
    candidate = content_type.strip() if content_type else ""
    return candidate if _MEDIA_TYPE.fullmatch(candidate) else FALLBACK_MEDIA_TYPE


def _http_date(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # stores record UTC
    return format_datetime(moment.astimezone(UTC), usegmt=True)
