"""Stream one file out of a multipart/form-data request body without spooling it.

`request.form()` / `UploadFile` write the whole upload to memory or disk before the route runs. Here the raw
body is fed to python-multipart's low-level `MultipartParser` one chunk at a time, and the file part's bytes
are handed on as they are parsed, so memory stays bounded by the size of one incoming chunk.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import Message
from email.utils import collapse_rfc2231_value

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from vitalgraph.blobs.chunking import close_stream
from vitalgraph.errors import InvalidInputError

MAX_OTHER_PARTS_BYTES = 64 * 1024
"""Budget for everything that is not the file: other fields' headers and values, and their delimiters."""

MAX_BYTES_AFTER_FILE = 64 * 1024
"""How much body may follow the file part; it is read only to check that the body ends properly."""

TRUNCATED_MESSAGE = "multipart body ended before its closing boundary (truncated upload?)"


@dataclass
class MultipartFile:
    field_name: str
    filename: str | None
    content_type: str | None
    chunks: AsyncIterator[bytes]
    """The file's bytes in order. Raises InvalidInputError at the end if the body is truncated or malformed."""

    async def aclose(self) -> None:
        """Release the request body when the caller will not read `chunks` to the end."""
        await close_stream(self.chunks)


async def open_multipart_file(
    body: AsyncIterator[bytes],
    content_type_header: str,
    *,
    field_name: str = "file",
    max_header_bytes: int = 16384,
) -> MultipartFile:
    """Read `body` up to the end of the headers of the part named `field_name` and return that part.

    Small fields before the file are parsed and skipped; the file's bytes are pulled from `body` lazily
    as the caller iterates `chunks`.
    """
    boundary = _boundary_from_content_type(content_type_header)
    reader = _MultipartReader(body, boundary, field_name, max_header_bytes)
    try:
        await reader.read_until_file_headers()
    except BaseException:
        await reader.aclose()
        raise
    return MultipartFile(
        field_name=field_name,
        filename=reader.filename,
        content_type=reader.file_content_type,
        chunks=_FileChunks(reader),
    )


def _boundary_from_content_type(content_type_header: str) -> bytes:
    media_type, params = parse_options_header(content_type_header)
    if media_type != b"multipart/form-data":
        raise InvalidInputError(
            f"expected Content-Type multipart/form-data, got {content_type_header or 'none'!r}"
        )
    boundary = params.get(b"boundary")
    if not boundary:
        raise InvalidInputError("multipart/form-data Content-Type has no boundary parameter")
    return boundary


class _MultipartReader:
    """Feeds body chunks to python-multipart and keeps what its callbacks report about the file part."""

    def __init__(
        self, body: AsyncIterator[bytes], boundary: bytes, field_name: str, max_header_bytes: int
    ) -> None:
        self._body = aiter(body)
        self._field_name = field_name
        self._max_header_bytes = max_header_bytes
        self._delimiter_bytes = len(boundary) + 4  # "--" + boundary + CRLF

        self.filename: str | None = None
        self.file_content_type: str | None = None
        self.file_slices: deque[bytes] = deque()
        self._file_found = False
        self._in_file_part = False
        self.file_part_ended = False
        self._message_ended = False
        self._closed = False

        self._header_name = bytearray()
        self._header_value = bytearray()
        self._part_headers: dict[bytes, bytes] = {}
        self._part_header_bytes = 0
        self._other_parts_bytes = 0

        try:
            self._parser = MultipartParser(
                boundary,
                callbacks={
                    "on_part_begin": self._on_part_begin,
                    "on_header_field": self._on_header_field,
                    "on_header_value": self._on_header_value,
                    "on_header_end": self._on_header_end,
                    "on_headers_finished": self._on_headers_finished,
                    "on_part_data": self._on_part_data,
                    "on_part_end": self._on_part_end,
                    "on_end": self._on_end,
                },
                max_header_size=max_header_bytes,
            )
        except FormParserError as err:
            raise InvalidInputError(f"invalid multipart boundary: {err}") from err

    async def read_until_file_headers(self) -> None:
        while not self._file_found:
            if self._message_ended:
                raise InvalidInputError(f"multipart body has no {self._field_name!r} field")
            if not await self._feed_next_chunk():
                raise InvalidInputError(TRUNCATED_MESSAGE)

    async def read_more_file_data(self) -> bool:
        """Feed the parser until the file part yields more data; False once it has ended and the body checks out."""
        if self.file_part_ended:
            await self._drain_after_file()
            return False
        if not await self._feed_next_chunk():
            raise InvalidInputError(TRUNCATED_MESSAGE)
        return True

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.file_slices.clear()
        await close_stream(self._body)

    async def _drain_after_file(self) -> None:
        # Parsing the rest is what tells a complete body from one cut off right after the file's data.
        bytes_after_file = 0
        while True:
            fed = await self._feed_next_chunk()
            if not fed:
                break
            bytes_after_file += fed
            if bytes_after_file > MAX_BYTES_AFTER_FILE:
                raise InvalidInputError(
                    f"multipart body has more than {MAX_BYTES_AFTER_FILE} bytes after the {self._field_name!r} part"
                )
        if not self._message_ended:
            raise InvalidInputError(TRUNCATED_MESSAGE)

    async def _feed_next_chunk(self) -> int:
        """Parse one more chunk of the body; returns its size, 0 once the body is exhausted."""
        while True:
            try:
                chunk = await anext(self._body)
            except StopAsyncIteration:
                return 0
            if chunk:
                break
        if type(chunk) is not bytes:
            chunk = bytes(chunk)  # the parser needs bytes.find/startswith
        try:
            self._parser.write(chunk)
        except FormParserError as err:
            raise InvalidInputError(f"malformed multipart body: {err}") from err
        return len(chunk)

    # python-multipart callbacks. Data callbacks get (buffer, start, end) views into the fed chunk.

    def _on_part_begin(self) -> None:
        self._part_headers = {}
        self._part_header_bytes = 0
        self._charge_other_parts(self._delimiter_bytes)

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._charge_header(end - start)
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._charge_header(end - start)
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        self._part_headers[bytes(self._header_name).lower()] = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def _on_headers_finished(self) -> None:
        disposition = self._part_headers.get(b"content-disposition", b"").decode("latin-1")
        _, params = parse_options_header(disposition)
        name = params.get(b"name")
        is_file_part = (
            not self._file_found and name is not None and _decode_header_text(name) == self._field_name
        )
        if not is_file_part:
            self._charge_other_parts(self._part_header_bytes)
            return
        self._file_found = self._in_file_part = True
        self.filename = _filename_from_disposition(disposition, params)
        content_type = self._part_headers.get(b"content-type")
        self.file_content_type = content_type.decode("latin-1").strip() if content_type is not None else None

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file_part:
            # A full-range slice of bytes is the chunk itself, so the common case copies nothing.
            self.file_slices.append(bytes(data[start:end]))
        else:
            self._charge_other_parts(end - start)

    def _on_part_end(self) -> None:
        if self._in_file_part:
            self._in_file_part = False
            self.file_part_ended = True

    def _on_end(self) -> None:
        self._message_ended = True

    def _charge_header(self, size: int) -> None:
        self._part_header_bytes += size
        if self._part_header_bytes > self._max_header_bytes:
            raise InvalidInputError(f"multipart part headers exceed {self._max_header_bytes} bytes")

    def _charge_other_parts(self, size: int) -> None:
        self._other_parts_bytes += size
        if self._other_parts_bytes > MAX_OTHER_PARTS_BYTES:
            raise InvalidInputError(
                f"multipart fields other than {self._field_name!r} exceed {MAX_OTHER_PARTS_BYTES} bytes"
            )


class _FileChunks(AsyncIterator[bytes]):
    """The file part's bytes; closing it (or reaching its end) releases the request body."""

    def __init__(self, reader: _MultipartReader) -> None:
        self._reader = reader
        self._finished = False

    async def __anext__(self) -> bytes:
        reader = self._reader
        while not reader.file_slices:
            if self._finished:
                raise StopAsyncIteration
            try:
                has_more = await reader.read_more_file_data()
            except BaseException:
                await self.aclose()
                raise
            if not has_more:
                await self.aclose()
                raise StopAsyncIteration
        return reader.file_slices.popleft()

    async def aclose(self) -> None:
        self._finished = True
        await self._reader.aclose()


def _decode_header_text(value: bytes) -> str:
    # Browsers and httpx send non-ASCII names as raw UTF-8; anything else is taken as Latin-1.
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _filename_from_disposition(disposition: str, params: dict[bytes, bytes]) -> str | None:
    if "filename*" in disposition.lower():
        extended = _extended_filename(disposition)
        if extended:
            return extended
    filename = params.get(b"filename")
    return _decode_header_text(filename) if filename is not None else None


def _extended_filename(disposition: str) -> str | None:
    """RFC 5987 `filename*=charset'lang'pct-encoded`, which parse_options_header deliberately ignores."""
    header = Message()
    header["content-disposition"] = disposition
    for key, value in reversed(header.get_params(failobj=[], header="content-disposition")):
        if key == "filename" and isinstance(value, tuple):
            return collapse_rfc2231_value(value)
    return None
