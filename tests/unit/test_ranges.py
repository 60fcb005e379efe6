"""Range parsing, validators and Content-Disposition (vitalgraph.api.ranges)."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vitalgraph.api.ranges import (
    MAX_RANGE_HEADER_LENGTH,
    ByteRange,
    content_range,
    if_none_match_hits,
    if_range_allows_partial,
    make_etag,
    parse_range_header,
    unsatisfied_content_range,
)
from vitalgraph.errors import RangeNotSatisfiableError
from vitalgraph.services.disposition import MAX_FILENAME_BYTES, content_disposition, sanitize_filename

SHA = "ab" * 32
ETAG = f'"{SHA}"'
LAST_MODIFIED = "Tue, 15 Nov 1994 08:12:31 GMT"


# --------------------------------------------------------------------------------------------
# parse_range_header: table tests


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-0", 100, [(0, 0)]),
        ("bytes=0-99", 100, [(0, 99)]),
        ("bytes=10-19", 100, [(10, 19)]),
        ("bytes=10-", 100, [(10, 99)]),
        ("bytes=99-", 100, [(99, 99)]),
        ("bytes=-1", 100, [(99, 99)]),
        ("bytes=-10", 100, [(90, 99)]),
        ("bytes=-100", 100, [(0, 99)]),
        # clipping: end beyond the content, suffix longer than the content
        ("bytes=50-1000", 100, [(50, 99)]),
        ("bytes=-1000", 100, [(0, 99)]),
        ("bytes=0-", 1, [(0, 0)]),
        # lists, optional whitespace, empty list elements, unit case
        ("bytes=0-9,20-29", 100, [(0, 9), (20, 29)]),
        ("bytes=0-9 , 20-29", 100, [(0, 9), (20, 29)]),
        ("bytes=0-9,\t20-29", 100, [(0, 9), (20, 29)]),
        ("  bytes=0-9,,20-29,  ", 100, [(0, 9), (20, 29)]),
        ("BYTES=5-6", 100, [(5, 6)]),
        ("Bytes=5-6", 100, [(5, 6)]),
        # leading zeros are still decimal numbers
        ("bytes=007-010", 100, [(7, 10)]),
        # sorted, overlapping and adjacent ranges merged
        ("bytes=20-29,0-9", 100, [(0, 9), (20, 29)]),
        ("bytes=0-10,5-20", 100, [(0, 20)]),
        ("bytes=0-9,10-19", 100, [(0, 19)]),
        ("bytes=0-9,11-19", 100, [(0, 9), (11, 19)]),
        ("bytes=50-,-10", 100, [(50, 99)]),
        ("bytes=0-0,-1", 100, [(0, 0), (99, 99)]),
        ("bytes=5-5,5-5,5-5", 100, [(5, 5)]),
        # unsatisfiable specs are dropped when another one is satisfiable
        ("bytes=0-4,500-600", 100, [(0, 4)]),
        ("bytes=-0,0-0", 100, [(0, 0)]),
    ],
)
def test_valid_headers(header: str, size: int, expected: list[tuple[int, int]]) -> None:
    result = parse_range_header(header, size)
    assert result == [ByteRange(*pair) for pair in expected]
    assert all(isinstance(r, ByteRange) for r in result)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "bytes",
        "bytes=",
        "bytes=,",
        "bytes= , ,",
        "bytes=-",
        "bytes=abc",
        "bytes=1-2-3",
        "bytes=1--2",
        "bytes=--2",
        "bytes=-1-",
        "bytes=10-5",  # last-pos < first-pos
        "bytes=0-1,10-5",  # one invalid spec invalidates the header
        "bytes=0-1,x",
        "bytes=+1-2",
        "bytes=-+1",
        "bytes=0x10-20",
        "bytes=1.5-2",
        "bytes=1 -2",  # no whitespace inside a spec
        "bytes=1- 2",
        "bytes =0-1",
        "bytes= 0-1x",
        "items=0-1",  # other units are ignored
        "bits=0-1",
        "bytes:0-1",
        "0-1",
        "bytes=\u0663-\u0665",  # Arabic-Indic digits are not DIGIT
        "bytes=０-１",  # full-width digits neither
        "bytes=0-1;q=1",
        "bytes=" + "0-1," * (MAX_RANGE_HEADER_LENGTH // 4) + "0-1",  # over the length cap
    ],
)
def test_invalid_or_absent_headers_are_ignored(header: str | None) -> None:
    assert parse_range_header(header, 100) is None


@pytest.mark.parametrize(
    ("header", "size"),
    [
        ("bytes=100-", 100),
        ("bytes=100-200", 100),
        ("bytes=1000-", 100),
        ("bytes=-0", 100),
        ("bytes=-0,-000", 100),
        ("bytes=100-,200-300,-0", 100),
        ("bytes=0-", 0),
        ("bytes=0-0", 0),
        ("bytes=-1", 0),
        ("bytes=-100", 0),
    ],
)
def test_unsatisfiable_headers_raise_with_size(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiableError) as caught:
        parse_range_header(header, size)
    assert caught.value.size == size
    assert str(caught.value)


def test_giant_numbers_saturate_instead_of_blowing_up() -> None:
    giant = "9" * 5000  # beyond int()'s default 4300-digit limit
    assert parse_range_header(f"bytes=0-{giant}", 100) == [ByteRange(0, 99)]
    assert parse_range_header(f"bytes=-{giant}", 100) == [ByteRange(0, 99)]
    assert parse_range_header(f"bytes=5-{'0' * 4000}7", 100) == [ByteRange(5, 7)]
    with pytest.raises(RangeNotSatisfiableError):
        parse_range_header(f"bytes={giant}-", 100)
    pair = "9" * 4000  # two of them still fit under the header length cap
    with pytest.raises(RangeNotSatisfiableError):
        parse_range_header(f"bytes={pair}-{pair}", 100)
    # last < first is still detected exactly, even when both are beyond the size
    assert parse_range_header(f"bytes={pair}-{'9' * 3999}", 100) is None
    with pytest.raises(RangeNotSatisfiableError):  # leading zeros do not make a number larger
        parse_range_header(f"bytes={'0' * 10}{pair}-{pair}", 100)
    assert parse_range_header(f"bytes=200-{'0' * 3000}150", 100) is None


def test_header_exactly_at_the_length_cap_is_parsed() -> None:
    prefix = "bytes=0-1,"
    header = prefix + "0" * (MAX_RANGE_HEADER_LENGTH - len(prefix) - 2) + "-3"
    assert len(header) == MAX_RANGE_HEADER_LENGTH
    assert parse_range_header(header, 100) == [ByteRange(0, 3)]
    assert parse_range_header(header + " ", 100) is None


def test_many_ranges_are_coalesced_below_the_limit() -> None:
    # 1000 overlapping one-byte-apart ranges collapse into one
    header = "bytes=" + ",".join(f"{i}-{i + 1}" for i in range(1000))
    assert parse_range_header(header, 10_000) == [ByteRange(0, 1000)]


def test_too_many_disjoint_ranges_answer_416() -> None:
    header = "bytes=" + ",".join(f"{i * 10}-{i * 10 + 1}" for i in range(65))
    with pytest.raises(RangeNotSatisfiableError, match=r"too many ranges \(65 > 64\)") as caught:
        parse_range_header(header, 10_000)
    assert caught.value.size == 10_000
    assert len(parse_range_header(header, 10_000, max_ranges=65)) == 65
    at_limit = "bytes=" + ",".join(f"{i * 10}-{i * 10 + 1}" for i in range(64))
    assert len(parse_range_header(at_limit, 10_000)) == 64


def test_argument_checks() -> None:
    with pytest.raises(ValueError):
        parse_range_header("bytes=0-1", -1)
    with pytest.raises(ValueError):
        parse_range_header("bytes=0-1", 10, max_ranges=0)


def test_byte_range_length_and_content_range() -> None:
    assert ByteRange(0, 0).length == 1
    assert ByteRange(10, 19).length == 10
    assert content_range(ByteRange(10, 19), 100) == "bytes 10-19/100"
    assert unsatisfied_content_range(100) == "bytes */100"
    assert unsatisfied_content_range(0) == "bytes */0"


# --------------------------------------------------------------------------------------------
# parse_range_header: properties

_position = st.integers(min_value=0, max_value=700)
_spec = st.one_of(
    st.tuples(st.just("int"), _position, st.one_of(st.none(), _position)),
    st.tuples(st.just("suffix"), st.just(0), _position),
)


def _render(spec: tuple[str, int, int | None]) -> str | None:
    kind, a, b = spec
    if kind == "suffix":
        return f"-{b}"
    if b is None:
        return f"{a}-"
    if b < a:
        return None
    return f"{a}-{b}"


def _requested_bytes(spec: tuple[str, int, int | None], size: int) -> set[int]:
    """The bytes one spec asks for, by the RFC's definition, computed independently of the parser."""
    kind, a, b = spec
    if kind == "suffix":
        return set(range(max(0, size - b), size)) if b > 0 else set()
    last = size - 1 if b is None else min(b, size - 1)
    return set(range(a, last + 1))


@settings(max_examples=400)
@given(
    size=st.integers(min_value=0, max_value=600),
    specs=st.lists(_spec, min_size=1, max_size=12),
    padding=st.sampled_from(["", " ", "\t", " \t "]),
)
def test_property_union_of_ranges_equals_the_requested_bytes(
    size: int, specs: list[tuple[str, int, int | None]], padding: str
) -> None:
    rendered = [_render(spec) for spec in specs]
    if any(r is None for r in rendered):
        assert parse_range_header("bytes=" + ",".join(r or "9-1" for r in rendered), size) is None
        return
    header = "bytes=" + f"{padding},{padding}".join(rendered)
    expected = set().union(*(_requested_bytes(spec, size) for spec in specs))

    if not expected:
        with pytest.raises(RangeNotSatisfiableError):
            parse_range_header(header, size)
        return

    ranges = parse_range_header(header, size, max_ranges=1000)
    assert ranges
    for r in ranges:
        assert 0 <= r.start <= r.end < size
    for previous, current in zip(ranges, ranges[1:], strict=False):
        assert previous.end + 1 < current.start  # sorted, disjoint and not even adjacent
    covered = set().union(*(range(r.start, r.end + 1) for r in ranges))
    assert covered == expected


@settings(max_examples=200)
@given(size=st.integers(min_value=1, max_value=2**63), start=st.integers(min_value=0, max_value=2**64))
def test_property_large_sizes_clip_exactly(size: int, start: int) -> None:
    if start >= size:
        with pytest.raises(RangeNotSatisfiableError):
            parse_range_header(f"bytes={start}-", size)
    else:
        assert parse_range_header(f"bytes={start}-", size) == [ByteRange(start, size - 1)]
        assert parse_range_header(f"bytes=-{start + 1}", size) == [ByteRange(size - start - 1, size - 1)]


@settings(max_examples=500)
@given(
    header=st.one_of(
        st.text(),
        st.text(alphabet="bytes=-0123456789, \t\r\n;xX+*", max_size=80),
        st.text(alphabet="0123456789-,", max_size=60).map(lambda s: "bytes=" + s),
    ),
    size=st.integers(min_value=0, max_value=10**12),
)
def test_property_arbitrary_text_never_raises_anything_else(header: str, size: int) -> None:
    try:
        result = parse_range_header(header, size)
    except RangeNotSatisfiableError as exc:
        assert exc.size == size
        return
    if result is not None:
        assert all(0 <= r.start <= r.end < size for r in result)


# --------------------------------------------------------------------------------------------
# ETag, If-Range, If-None-Match


def test_make_etag_is_strong_and_quoted() -> None:
    assert make_etag(SHA) == ETAG
    assert make_etag(SHA.upper()) == ETAG
    for bad in ["", "abc", "g" * 64, SHA + "0", '"' + SHA[1:], SHA[:-1] + "\n"]:
        with pytest.raises(ValueError):
            make_etag(bad)


@pytest.mark.parametrize(
    ("if_range", "last_modified", "allowed"),
    [
        (None, None, True),
        (ETAG, None, True),
        (f"  {ETAG} ", None, True),
        ('"other"', None, False),
        (f"W/{ETAG}", None, False),  # weak tags never match in If-Range
        (ETAG[:-1], None, False),
        (f"{ETAG}, {ETAG}", None, False),  # a list is not a validator
        ("", LAST_MODIFIED, False),
        ("*", LAST_MODIFIED, False),
        (LAST_MODIFIED, LAST_MODIFIED, True),
        ("Tuesday, 15-Nov-94 08:12:31 GMT", LAST_MODIFIED, True),  # obsolete RFC 850 form, same instant
        ("Tue, 15 Nov 1994 08:12:32 GMT", LAST_MODIFIED, False),
        (LAST_MODIFIED, None, False),
        ("not a date", LAST_MODIFIED, False),
        ("Tue, 99 Nov 1994 08:12:31 GMT", LAST_MODIFIED, False),
    ],
)
def test_if_range(if_range: str | None, last_modified: str | None, allowed: bool) -> None:
    assert if_range_allows_partial(if_range, ETAG, last_modified) is allowed


def test_if_range_with_a_weak_current_etag_never_allows_partial() -> None:
    assert if_range_allows_partial('W/"x"', 'W/"x"', None) is False
    assert if_range_allows_partial('"x"', 'W/"x"', None) is False


@pytest.mark.parametrize(
    ("header", "hits"),
    [
        (None, False),
        ("", False),
        ("*", True),
        (" * ", True),
        (ETAG, True),
        (f"W/{ETAG}", True),  # weak comparison
        (f'"a", "b", {ETAG}', True),
        (f'"a",W/{ETAG}', True),
        ('"a", "b"', False),
        (SHA, False),  # unquoted is not an entity-tag
        (f'"{SHA[:-1]}"', False),
        ('"a,b", "c"', False),
    ],
)
def test_if_none_match(header: str | None, hits: bool) -> None:
    assert if_none_match_hits(header, ETAG) is hits


def test_if_none_match_with_commas_inside_a_tag() -> None:
    assert if_none_match_hits('"x", "a,b"', '"a,b"') is True
    assert if_none_match_hits('W/"a,b"', '"a,b"') is True


# --------------------------------------------------------------------------------------------
# Content-Disposition

_FILENAME_STAR = re.compile(r"filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]+)$")
_FALLBACK = re.compile(r'filename="([^"\\]*)"')


def _decoded_filename_star(header: str) -> str | None:
    match = _FILENAME_STAR.search(header)
    return unquote(match.group(1), encoding="utf-8", errors="strict") if match else None


def _fallback(header: str) -> str | None:
    match = _FALLBACK.search(header)
    return match.group(1) if match else None


def _assert_header_safe(header: str) -> None:
    assert header.isascii()
    assert all(" " <= ch <= "~" for ch in header), repr(header)
    header.encode("latin-1")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", 'attachment; filename="report.pdf"'),
        ("my report (v2).pdf", 'attachment; filename="my report (v2).pdf"'),
        (None, "attachment"),
        ("", "attachment"),
        ("../..", "attachment"),
        ("/", "attachment"),
        ("\r\n", "attachment"),
        ("../../etc/passwd", 'attachment; filename="passwd"'),
        ("C:\\Users\\me\\evil.exe", 'attachment; filename="evil.exe"'),
        ("dir/sub/", 'attachment; filename="sub"'),
        ("a\r\nSet-Cookie: x=1", 'attachment; filename="aSet-Cookie: x=1"'),
        ("nul\x00byte.txt", 'attachment; filename="nulbyte.txt"'),
        ("  spaced.txt  ", 'attachment; filename="spaced.txt"'),
    ],
)
def test_content_disposition_plain_cases(name: str | None, expected: str) -> None:
    assert content_disposition(name) == expected


def test_content_disposition_inline_and_bad_type() -> None:
    assert content_disposition("a.png", "inline") == 'inline; filename="a.png"'
    with pytest.raises(ValueError):
        content_disposition("a.png", "inline\r\nX-Evil: 1")
    with pytest.raises(ValueError):
        content_disposition("a.png", "")


@pytest.mark.parametrize(
    ("name", "fallback", "exact"),
    [
        ("résumé.pdf", "r_sum_.pdf", "résumé.pdf"),
        ("数据.csv", "__.csv", "数据.csv"),
        ("emoji 😀.txt", "emoji _.txt", "emoji 😀.txt"),
        ('say "hi".txt', "say _hi_.txt", 'say "hi".txt'),
        ("100%.txt", "100_.txt", "100%.txt"),
        ("a%20b.txt", "a_20b.txt", "a%20b.txt"),
        ("x;y=z.txt", None, None),  # ';' is harmless inside a quoted string
        ("evil\u202etxt.exe", "eviltxt.exe", None),  # the bidi override is removed, nothing else to encode
    ],
)
def test_content_disposition_with_non_ascii_or_special_names(
    name: str, fallback: str | None, exact: str | None
) -> None:
    header = content_disposition(name)
    _assert_header_safe(header)
    if fallback is None:
        assert header == f'attachment; filename="{name}"'
        return
    assert _fallback(header) == fallback
    assert _decoded_filename_star(header) == exact


def test_content_disposition_long_name_is_truncated_keeping_the_extension() -> None:
    name = "é" * 10_000 + ".tar.gz"
    header = content_disposition(name)
    _assert_header_safe(header)
    exact = _decoded_filename_star(header)
    assert exact is not None and exact.endswith(".gz") and exact.startswith("éé")
    assert len(exact.encode("utf-8")) <= MAX_FILENAME_BYTES
    assert exact == sanitize_filename(name)
    ascii_long = sanitize_filename("a" * 10_000)
    assert ascii_long == "a" * MAX_FILENAME_BYTES


def test_truncation_never_splits_a_code_point() -> None:
    for prefix_length in range(4):
        name = "x" * prefix_length + "😀" * 200 + ".bin"
        exact = sanitize_filename(name)
        assert exact is not None
        exact.encode("utf-8")  # would fail on a broken sequence
        assert exact.endswith(".bin")
        assert len(exact.encode("utf-8")) <= MAX_FILENAME_BYTES


@settings(max_examples=500)
@given(name=st.one_of(st.text(), st.text(alphabet='./\\\r\n\x00"%;é😀 a\u202e\u2028', max_size=40)))
def test_property_content_disposition_is_always_safe(name: str) -> None:
    header = content_disposition(name)
    _assert_header_safe(header)
    assert header.count('"') in (0, 2)  # exactly one quoted fallback, no smuggled quotes
    base = sanitize_filename(name)
    if base is None:
        assert header == "attachment"
        return
    assert "/" not in base and "\\" not in base
    assert not any(ch in base for ch in "\r\n\x00\u2028\u202e")
    exact = _decoded_filename_star(header)
    if exact is None:  # plain ASCII-safe name: the fallback is exact
        assert _fallback(header) == base
    else:
        assert exact == base
