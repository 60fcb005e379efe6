"""SPARQL 1.1 (and 1.2) text cut into the grammar's terminals, so checks decide by tokens, not by words.

The terminals are those of the SPARQL 1.1 grammar (section 19.8): IRIREF, prefixed names, blank node
labels, variables, the four kinds of string with their escapes, language tags, numbers, comments,
and the punctuation and operators, SPARQL 1.2's `<<`, `>>`, `{|`, `|}` and `~` included. Anything
else is a `SparqlLexError`: a text this module cannot read is never guessed at.

Keywords are matched case-insensitively by SPARQL, and an engine's parser may not need a word
boundary after one (oxigraph reads `SERVICE:x` as `SERVICE :x`, and `SERVICESILENT<...>` as
`SERVICE SILENT <...>`). So a run of letters and digits is one `WORD` token and checks look for a
keyword anywhere inside it, not only for a whole word equal to it.

SPARQL says `\\uXXXX` and `\\UXXXXXXXX` escapes are replaced before parsing, anywhere in the text;
oxigraph instead replaces them only inside IRIs and strings. `readings` gives both token lists when
the text holds such an escape, so a check can demand that every reading passes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from enum import Enum
from typing import NamedTuple


class SparqlLexError(ValueError):
    """The text holds something that is no SPARQL terminal; the message says what and where."""


class Kind(str, Enum):
    IRI = "IRI"
    PNAME = "PNAME"  # prefixed name: `prefix` and `local` hold its parts
    BNODE = "BNODE"
    VAR = "VAR"
    STRING = "STRING"
    LANGTAG = "LANGTAG"
    NUMBER = "NUMBER"
    WORD = "WORD"  # keywords, `a`, `true`, `false` (and anything else made of letters and digits)
    PUNCT = "PUNCT"


class Token(NamedTuple):
    kind: Kind
    text: str
    offset: int
    prefix: str = ""  # PNAME only

    @property
    def upper(self) -> str:
        return self.text.upper()


_PN_CHARS_BASE = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_PN_CHARS_U = _PN_CHARS_BASE + "_"
_PN_CHARS = _PN_CHARS_U + r"\-0-9\u00b7\u0300-\u036f\u203f-\u2040"
_PLX = r"%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%]"
# The grammar's `X ((Y | '.')* Y)?` (no trailing dot) as `X (\\.* Y)*`, and possessive quantifiers:
# the same tokens, found without backtracking (which made long words quadratic).
_PN_PREFIX = rf"[{_PN_CHARS_BASE}](?:\.*+[{_PN_CHARS}])*+"
_PN_LOCAL = rf"(?:[{_PN_CHARS_U}:0-9]|{_PLX})(?:\.*+(?:[{_PN_CHARS}:]|{_PLX}))*+"
_VARNAME = rf"[{_PN_CHARS_U}0-9][{_PN_CHARS_U}0-9\u00b7\u0300-\u036f\u203f-\u2040]*+"
_ECHAR = r"""\\[tbnrf\\"']"""
_UCHAR = r"\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}"
_EXPONENT = r"[eE][+-]?[0-9]+"
# Longest operators first: `<<(` before `<<` before `<=` before `<`.
_PUNCT = ["<<(", ")>>", "<<", ">>", "{|", "|}", "&&", "||", "!=", "<=", ">=", "^^", *"{}()[];,.+-*/!=<>|^?~"]


def _terminals(uchar_in_literals: bool) -> re.Pattern[str]:
    """One regex over every terminal; `uchar_in_literals` lets IRIs and strings hold \\u escapes."""
    uchar = f"|{_UCHAR}" if uchar_in_literals else ""
    return re.compile(
        "|".join(
            [
                r"(?P<ws>[ \t\r\n]+)",
                r"(?P<comment>\#[^\r\n]*)",
                rf"(?P<iri><(?:[^<>\"{{}}|^`\\\x00-\x20]{uchar})*+>)",
                rf'(?P<string>"""(?:(?:"|"")?(?:[^"\\]|{_ECHAR}{uchar}))*+"""'
                rf"|'''(?:(?:'|'')?(?:[^'\\]|{_ECHAR}{uchar}))*+'''"
                rf'|"(?:[^"\\\n\r]|{_ECHAR}{uchar})*+"'
                rf"|'(?:[^'\\\n\r]|{_ECHAR}{uchar})*+')",
                rf"(?P<pname>(?P<prefix>(?:{_PN_PREFIX})?):(?:{_PN_LOCAL})?)",
                rf"(?P<bnode>_:[{_PN_CHARS_U}0-9](?:\.*+[{_PN_CHARS}])*+)",
                rf"(?P<var>[?$]{_VARNAME})",
                r"(?P<langtag>@[a-zA-Z]+(?:--?[a-zA-Z0-9]+)*)",
                rf"(?P<number>[0-9]+\.[0-9]*{_EXPONENT}|\.[0-9]+{_EXPONENT}|[0-9]+{_EXPONENT}"
                r"|[0-9]*\.[0-9]+|[0-9]+)",
                r"(?P<word>[A-Za-z][A-Za-z0-9_]*+)",
                "(?P<punct>" + "|".join(re.escape(p) for p in _PUNCT) + ")",
            ]
        ),
        re.DOTALL,
    )


_SPEC_TERMINALS = _terminals(uchar_in_literals=False)
_OXIGRAPH_TERMINALS = _terminals(uchar_in_literals=True)
_KIND_BY_GROUP = {
    "iri": Kind.IRI,
    "string": Kind.STRING,
    "pname": Kind.PNAME,
    "bnode": Kind.BNODE,
    "var": Kind.VAR,
    "langtag": Kind.LANGTAG,
    "number": Kind.NUMBER,
    "word": Kind.WORD,
    "punct": Kind.PUNCT,
}
_CODEPOINT_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def tokenize(text: str, *, uchar_in_literals: bool = True) -> list[Token]:
    """The terminals of `text`, comments and white space left out; SparqlLexError if one cannot be read."""
    return list(_scan(text, _OXIGRAPH_TERMINALS if uchar_in_literals else _SPEC_TERMINALS))


def _scan(text: str, terminals: re.Pattern[str]) -> Iterator[Token]:
    position = 0
    for match in terminals.finditer(text):
        if match.start() != position:  # finditer skipped what no terminal matches
            break
        position = match.end()
        group = match.lastgroup
        if group == "prefix":  # the inner group of a prefixed name
            group = "pname"
        kind = _KIND_BY_GROUP.get(group or "")
        if kind is Kind.PNAME:
            yield Token(kind, match.group(), match.start(), match.group("prefix") or "")
        elif kind is not None:
            yield Token(kind, match.group(), match.start())
    if position < len(text):
        raise SparqlLexError(f"cannot read the query at character {position + 1}: {_shown(text, position)}")


def _shown(text: str, position: int) -> str:
    return repr(text[position : position + 20])


def unescape_codepoints(text: str) -> str:
    """`text` with every \\uXXXX and \\UXXXXXXXX replaced, as SPARQL does before parsing."""

    def replace(match: re.Match[str]) -> str:
        code = int(match.group(1) or match.group(2), 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise SparqlLexError(f"{match.group(0)} is no Unicode character")
        return chr(code)

    return _CODEPOINT_ESCAPE.sub(replace, text)


def readings(text: str) -> list[list[Token] | SparqlLexError]:
    """Every way a SPARQL engine may cut `text` into tokens: oxigraph's (\\u escapes replaced inside
    IRIs and strings), and, if the text holds such an escape, the specification's (replaced first,
    everywhere). A reading that cannot be read is its SparqlLexError."""
    found: list[list[Token] | SparqlLexError] = [_reading(lambda: tokenize(text, uchar_in_literals=True))]
    if _CODEPOINT_ESCAPE.search(text):
        found.append(_reading(lambda: tokenize(unescape_codepoints(text), uchar_in_literals=False)))
    return found


def _reading(read: Callable[[], list[Token]]) -> list[Token] | SparqlLexError:
    try:
        return read()
    except SparqlLexError as exc:
        return exc
