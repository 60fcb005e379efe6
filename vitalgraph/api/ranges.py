"""HTTP range requests and validators: pure functions, no I/O (Content-Disposition: services/disposition.py).

Parsing follows RFC 9110 §14 (Range) and §13.1 (If-None-Match, If-Range). Decisions where the RFCs leave room:

* A Range header longer than MAX_RANGE_HEADER_LENGTH is ignored (None → 200 with the whole file).
  A whole download is exactly what the client could ask for without a Range header, so ignoring
  costs nothing, while parsing megabytes of ranges would.
* Numbers of any length are accepted: they are compared digit-wise and saturated at the file size,
  so `bytes=999…999-` is simply unsatisfiable and never reaches int() with thousands of digits.
* Overlapping and adjacent ranges are merged and sorted. If more than `max_ranges` remain the answer
  is 416 ("too many ranges"), not a silent whole download: a hostile multi-range request gets an
  error instead of the amplification it was fishing for.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import NamedTuple

from vitalgraph.errors import RangeNotSatisfiableError

MAX_RANGE_HEADER_LENGTH = 8 * 1024
DEFAULT_MAX_RANGES = 64

_OWS = " \t"
# [0-9], not \d: \d also matches non-ASCII digits such as "٣", which int() would happily accept.
_RANGE_SPEC = re.compile(r"([0-9]*)-([0-9]*)")
_ENTITY_TAG = re.compile(r'(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"')
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


class ByteRange(NamedTuple):
    """Bytes `start`..`end`, both inclusive, as in Content-Range."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


# --------------------------------------------------------------------------------------------
# Range


def parse_range_header(
    value: str | None, size: int, *, max_ranges: int = DEFAULT_MAX_RANGES
) -> list[ByteRange] | None:
    """The satisfiable ranges of a Range header, merged and sorted, for content of `size` bytes.

    None means "ignore the header and send the whole content": it is absent, too long, not in
    bytes, or syntactically invalid. Raises RangeNotSatisfiableError when the header is valid but
    no range overlaps the content, or when more than `max_ranges` disjoint ranges remain.
    """
    if size < 0:
        raise ValueError(f"size must be >= 0, got {size}")
    if max_ranges < 1:
        raise ValueError(f"max_ranges must be >= 1, got {max_ranges}")
    if value is None or len(value) > MAX_RANGE_HEADER_LENGTH:
        return None
    unit, equals, range_set = value.strip(_OWS).partition("=")
    if not equals or unit.lower() != "bytes":
        return None
    specs = [spec.strip(_OWS) for spec in range_set.split(",")]
    specs = [spec for spec in specs if spec]  # RFC 9110 §5.6.1: empty list elements are ignored
    if not specs:
        return None

    satisfiable: list[ByteRange] = []
    for spec in specs:
        match = _RANGE_SPEC.fullmatch(spec)
        if match is None:
            return None
        first, last = match.groups()
        if not first and not last:
            return None
        if first and last and _digit_order(first) > _digit_order(last):
            return None  # last-pos < first-pos makes the whole header invalid (§14.1.1)
        byte_range = _resolve(first, last, size)
        if byte_range is not None:
            satisfiable.append(byte_range)

    if not satisfiable:
        raise RangeNotSatisfiableError(f"no requested range overlaps the {size} bytes of content", size)
    merged = _coalesce(satisfiable)
    if len(merged) > max_ranges:
        raise RangeNotSatisfiableError(f"too many ranges ({len(merged)} > {max_ranges})", size)
    return merged


def _resolve(first: str, last: str, size: int) -> ByteRange | None:
    """One syntactically valid spec clipped to the content, or None when it is unsatisfiable."""
    if not first:  # suffix range "-n": the last n bytes
        suffix_length = _int_at_most(last, size)
        if suffix_length == 0:
            return None
        return ByteRange(size - suffix_length, size - 1)
    start = _int_at_most(first, size)
    if start >= size:
        return None
    end = size - 1 if not last else _int_at_most(last, size - 1)
    return ByteRange(start, end)


def _int_at_most(digits: str, ceiling: int) -> int:
    """int(digits) capped at `ceiling`, without converting numbers longer than the ceiling."""
    significant = digits.lstrip("0")
    if len(significant) > len(str(ceiling)):
        return ceiling
    return min(int(significant or "0"), ceiling)


def _digit_order(digits: str) -> tuple[int, str]:
    """A key that orders decimal strings by value, whatever their length."""
    significant = digits.lstrip("0")
    return len(significant), significant


def _coalesce(ranges: list[ByteRange]) -> list[ByteRange]:
    merged: list[ByteRange] = []
    for current in sorted(ranges):
        if merged and current.start <= merged[-1].end + 1:
            previous = merged[-1]
            merged[-1] = ByteRange(previous.start, max(previous.end, current.end))
        else:
            merged.append(current)
    return merged


def content_range(byte_range: ByteRange, size: int) -> str:
    return f"bytes {byte_range.start}-{byte_range.end}/{size}"


def unsatisfied_content_range(size: int) -> str:
    return f"bytes */{size}"


# --------------------------------------------------------------------------------------------
# Validators


def make_etag(sha256_hex: str) -> str:
    """A strong ETag from the content hash: the same bytes always get the same tag."""
    if not _SHA256_HEX.fullmatch(sha256_hex):
        raise ValueError(f"not a SHA-256 hex digest: {sha256_hex!r}")
    return f'"{sha256_hex.lower()}"'


def if_range_allows_partial(if_range: str | None, etag: str, last_modified_http: str | None) -> bool:
    """Whether a Range may be honoured given If-Range (RFC 9110 §13.1.5); True when it is absent.

    An entity-tag must match strongly, so a weak tag on either side never matches. An HTTP-date
    matches when it denotes the same instant as Last-Modified.
    """
    if if_range is None:
        return True
    validator = if_range.strip(_OWS)
    if validator.startswith("W/") or etag.startswith("W/"):
        return False
    if validator.startswith('"'):
        return validator == etag
    if last_modified_http is None:
        return False
    requested = _parse_http_date(validator)
    return requested is not None and requested == _parse_http_date(last_modified_http)


def if_match_fails(header: str | None, etag: str) -> bool:
    """Whether If-Match rules the request out (RFC 9110 §13.1.1): present, not "*", and no tag in it
    matches `etag` strongly (a weak tag never does)."""
    if header is None or header.strip(_OWS) == "*":
        return False
    if etag.startswith("W/"):
        return True
    return etag not in _ENTITY_TAG.findall(header)


def if_none_match_hits(header: str | None, etag: str) -> bool:
    """Whether If-None-Match names the current representation (weak comparison, RFC 9110 §13.1.2)."""
    if header is None:
        return False
    if header.strip(_OWS) == "*":
        return True
    current = _opaque_tag(etag)
    return any(_opaque_tag(tag) == current for tag in _ENTITY_TAG.findall(header))


def _opaque_tag(entity_tag: str) -> str:
    return entity_tag.removeprefix("W/")


def _parse_http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed if parsed.tzinfo is not None else None  # RFC 9110 dates are always GMT
