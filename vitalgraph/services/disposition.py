"""Content-Disposition (RFC 6266 / RFC 8187) for a stored file name: one function, used by downloads
through the API and by presigned S3 URLs alike. Pure functions, no I/O."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

MAX_FILENAME_BYTES = 255  # what common file systems accept for one path component
_DISPOSITION_TYPE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# RFC 8187 attr-char minus ALPHA/DIGIT, which quote() always keeps.
_ATTR_CHAR_PUNCTUATION = "!#$&+-.^_`|~"
# Invisible characters that reorder or break the displayed name ("gpj.exe" shown as "exe.jpg").
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def sanitize_filename(filename: str | None) -> str | None:
    """The name a client should save as: base name only, no control characters, at most 255 UTF-8 bytes.

    None when nothing usable is left.
    """
    if not filename:
        return None
    components = re.split(r"[/\\]", filename)
    visible = ["".join(ch for ch in part if not _is_hidden_control(ch)) for part in components]
    candidates = [part.strip() for part in visible if part.strip() not in ("", ".", "..")]
    if not candidates:
        return None
    return _truncate_keeping_extension(candidates[-1], MAX_FILENAME_BYTES)


def content_disposition(filename: str | None, disposition: str = "attachment") -> str:
    """A Content-Disposition value that is safe whatever the stored name contains.

    `filename="..."` is an ASCII fallback for old clients; `filename*=UTF-8''...` carries the exact
    name whenever the fallback had to change it.
    """
    if not _DISPOSITION_TYPE.fullmatch(disposition):
        raise ValueError(f"invalid disposition type {disposition!r}")
    name = sanitize_filename(filename)
    if name is None:
        return disposition
    fallback = "".join(ch if _is_plain_ascii(ch) else "_" for ch in name)
    value = f'{disposition}; filename="{fallback}"'
    if fallback != name:
        value += f"; filename*=UTF-8''{quote(name, safe=_ATTR_CHAR_PUNCTUATION, encoding='utf-8')}"
    return value


def _is_hidden_control(ch: str) -> bool:
    # Cc covers NUL, CR, LF, DEL and C1; Zl/Zp are line and paragraph separators.
    return unicodedata.category(ch) in ("Cc", "Zl", "Zp", "Cs") or ch in _BIDI_CONTROLS


def _is_plain_ascii(ch: str) -> bool:
    # '%' too: some clients percent-decode the plain filename parameter (RFC 6266 appendix D).
    return " " <= ch <= "~" and ch not in '"\\%'


def _truncate_keeping_extension(name: str, max_bytes: int) -> str:
    if len(name.encode("utf-8")) <= max_bytes:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > 16:
        stem, dot, extension = name, "", ""
    budget = max_bytes - len((dot + extension).encode("utf-8"))
    # Cut on a code point boundary: drop the partial UTF-8 sequence at the end.
    stem = stem.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
    return stem + dot + extension
