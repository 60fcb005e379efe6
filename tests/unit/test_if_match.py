"""If-Match on downloads (RFC 9110 §13.1.1): strong comparison, "*" matches any current content."""

from __future__ import annotations

import pytest

from vitalgraph.api.ranges import if_match_fails

ETAG = '"' + "a" * 64 + '"'


@pytest.mark.parametrize(
    ("header", "fails"),
    [
        (None, False),  # no precondition
        ("*", False),
        (ETAG, False),
        (f'"other", {ETAG}', False),  # any tag of the list may match
        ('"other"', True),
        (f"W/{ETAG}", True),  # a weak tag never matches strongly
        ("", True),
        ("garbage", True),
    ],
)
def test_if_match(header, fails):
    assert if_match_fails(header, ETAG) is fails


def test_a_weak_current_etag_never_satisfies_if_match():
    assert if_match_fails(f"W/{ETAG}", f"W/{ETAG}") is True
