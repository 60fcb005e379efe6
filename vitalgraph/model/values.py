"""RDF terms and the conversions between them and Python property values.

Every serialised form is read into and written from three neutral term types (`IRI`,
`TypedLiteral`, `LangString`), so the typing rules live here once:

* declared properties convert by their `PropertyKind` (strict about types, lenient about
  equivalent datatypes such as xsd:long for an integer);
* undeclared properties become plain Python values only when that is lossless (the value
  writes back to the very same term); anything else stays a term object, so unknown data
  round-trips exactly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Union

from vitalgraph.model import vocab
from vitalgraph.model.properties import PropertyKind


@dataclass(frozen=True)
class IRI:
    """A resource reference (an RDF IRI, or a blank node written `_:id`)."""

    value: str


@dataclass(frozen=True)
class TypedLiteral:
    """A literal kept in its lexical form, for datatypes the model has no Python type for."""

    lexical: str
    datatype: str


@dataclass(frozen=True)
class LangString:
    """A language-tagged string (rdf:langString). Tags are case-insensitive; kept lowercase."""

    text: str
    language: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "language", self.language.lower())


Term = Union[IRI, TypedLiteral, LangString]
TERM_TYPES = (IRI, TypedLiteral, LangString)

_INTEGER_LEXICAL = re.compile(r"[+-]?\d+")
_DOUBLE_LEXICAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|[+-]?INF|NaN")
_DATETIME_LEXICAL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")


# --- lexical forms ------------------------------------------------------------------------


def format_double(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    return repr(value)


def format_boolean(value: bool) -> str:
    return "true" if value else "false"


def format_datetime(value: datetime) -> str:
    return value.isoformat()


def parse_integer(lexical: str) -> int:
    text = lexical.strip()
    if not _INTEGER_LEXICAL.fullmatch(text):
        raise ValueError(f"{lexical!r} is not an integer")
    return int(text)


def parse_double(lexical: str) -> float:
    text = lexical.strip()
    if not _DOUBLE_LEXICAL.fullmatch(text):
        raise ValueError(f"{lexical!r} is not a number")
    return float(text)


def parse_boolean(lexical: str) -> bool:
    text = lexical.strip()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ValueError(f"{lexical!r} is not a boolean")


def parse_datetime(lexical: str) -> datetime:
    text = lexical.strip()
    if not _DATETIME_LEXICAL.fullmatch(text):
        raise ValueError(f"{lexical!r} is not an xsd:dateTime")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{lexical!r} is not a valid xsd:dateTime") from None


def describe(term: Term) -> str:
    """Short human-readable rendering of a term for error messages."""
    if isinstance(term, IRI):
        return f"<{term.value}>"
    text = term.lexical if isinstance(term, TypedLiteral) else term.text
    if len(text) > 60:
        text = text[:57] + "..."
    if isinstance(term, LangString):
        return f'"{text}"@{term.language}'
    return f'"{text}"^^<{term.datatype}>'


# --- Python value -> term -----------------------------------------------------------------


def encode(kind: PropertyKind | None, value: Any) -> Term:
    """Term for an already-normalised property value (`kind` None: undeclared property)."""
    if isinstance(value, TERM_TYPES):
        return value
    if kind is PropertyKind.URI:
        return IRI(value)
    if kind is None:
        return _encode_native(value)
    if kind in (PropertyKind.LONG, PropertyKind.INTEGER):
        return TypedLiteral(str(value), vocab.XSD_INTEGER)
    if kind is PropertyKind.DOUBLE:
        return TypedLiteral(format_double(value), vocab.XSD_DOUBLE)
    if kind is PropertyKind.FLOAT:
        return TypedLiteral(format_double(value), vocab.XSD_FLOAT)
    if kind is PropertyKind.BOOLEAN:
        return TypedLiteral(format_boolean(value), vocab.XSD_BOOLEAN)
    if kind is PropertyKind.DATETIME:
        return TypedLiteral(format_datetime(value), vocab.XSD_DATETIME)
    return TypedLiteral(value, vocab.XSD_STRING)


def _encode_native(value: Any) -> Term:
    # bool before int: bool is an int subclass.
    if isinstance(value, bool):
        return TypedLiteral(format_boolean(value), vocab.XSD_BOOLEAN)
    if isinstance(value, int):
        return TypedLiteral(str(value), vocab.XSD_INTEGER)
    if isinstance(value, float):
        return TypedLiteral(format_double(value), vocab.XSD_DOUBLE)
    if isinstance(value, str):
        return TypedLiteral(value, vocab.XSD_STRING)
    if isinstance(value, datetime):
        return TypedLiteral(format_datetime(value), vocab.XSD_DATETIME)
    raise TypeError(f"unsupported property value type {type(value).__name__}")


# --- term -> Python value -----------------------------------------------------------------

# Datatypes an undeclared property may hold as a plain Python value: (parse, format).
_NATIVE_CODECS: dict[str, tuple[Callable[[str], Any], Callable[[Any], str]]] = {
    vocab.XSD_STRING: (str, str),
    vocab.XSD_INTEGER: (parse_integer, str),
    vocab.XSD_DOUBLE: (parse_double, format_double),
    vocab.XSD_BOOLEAN: (parse_boolean, format_boolean),
    vocab.XSD_DATETIME: (parse_datetime, format_datetime),
}


def decode(kind: PropertyKind | None, term: Term) -> Any:
    """Python value of a term read from data; raises ValueError naming what was expected."""
    if kind is None:
        return _decode_undeclared(term)
    if kind is PropertyKind.URI:
        return _decode_uri(term)
    if kind is PropertyKind.STRING:
        return _decode_string(term)
    if not isinstance(term, TypedLiteral):
        raise ValueError(f"expected a {kind.value} literal, got {describe(term)}")
    parse, accepted = _LITERAL_DECODERS[kind]
    if term.datatype not in accepted:
        raise ValueError(f"expected a {kind.value} literal, got {describe(term)}")
    return parse(term.lexical)


_LITERAL_DECODERS: dict[PropertyKind, tuple[Callable[[str], Any], frozenset[str]]] = {
    PropertyKind.LONG: (parse_integer, vocab.XSD_INTEGER_TYPES),
    PropertyKind.INTEGER: (parse_integer, vocab.XSD_INTEGER_TYPES),
    PropertyKind.DOUBLE: (parse_double, vocab.XSD_DECIMAL_TYPES | vocab.XSD_INTEGER_TYPES),
    PropertyKind.FLOAT: (parse_double, vocab.XSD_DECIMAL_TYPES | vocab.XSD_INTEGER_TYPES),
    PropertyKind.BOOLEAN: (parse_boolean, frozenset({vocab.XSD_BOOLEAN})),
    PropertyKind.DATETIME: (parse_datetime, vocab.XSD_DATETIME_TYPES),
}


def _decode_uri(term: Term) -> str:
    if isinstance(term, IRI):
        return term.value
    # Compacted JSON-LD often omits `"@type": "@id"`; a plain string still names the resource.
    if isinstance(term, TypedLiteral) and term.datatype in (vocab.XSD_STRING, vocab.XSD_ANY_URI):
        return term.lexical
    raise ValueError(f"expected a URI, got {describe(term)}")


def _decode_string(term: Term) -> str | LangString:
    if isinstance(term, LangString):
        return term
    if isinstance(term, TypedLiteral) and term.datatype == vocab.XSD_STRING:
        return term.lexical
    raise ValueError(f"expected a string literal, got {describe(term)}")


def _decode_undeclared(term: Term) -> Any:
    if not isinstance(term, TypedLiteral) or term.datatype not in _NATIVE_CODECS:
        return term
    parse, format_ = _NATIVE_CODECS[term.datatype]
    try:
        value = parse(term.lexical)
    except ValueError:
        return term
    # Only lossless conversions: "007"^^xsd:integer must not come back as "7".
    return value if format_(value) == term.lexical else term


# --- values assigned from Python ----------------------------------------------------------


def normalize(kind: PropertyKind | None, value: Any) -> Any:
    """Validate a value assigned in Python and return the form the object stores.

    Raises TypeError (wrong Python type) or ValueError (unparseable text).
    """
    if kind is None:
        return _decode_undeclared(encode(None, value))
    return _ASSIGNMENT_CHECKS[kind](value)


def _require(value: Any, types: tuple[type, ...], expected: str) -> Any:
    if isinstance(value, bool) and bool not in types:
        raise TypeError(f"expected {expected}, got bool")
    if not isinstance(value, types):
        raise TypeError(f"expected {expected}, got {type(value).__name__}")
    return value


def _assign_datetime(value: Any) -> datetime:
    if isinstance(value, str):
        return parse_datetime(value)
    return _require(value, (datetime,), "a datetime")


def _assign_uri(value: Any) -> str:
    if isinstance(value, IRI):
        value = value.value
    _require(value, (str,), "a URI string")
    if not value:
        raise ValueError("a URI must not be empty")
    return value


_ASSIGNMENT_CHECKS: dict[PropertyKind, Callable[[Any], Any]] = {
    PropertyKind.STRING: lambda v: _require(v, (str, LangString), "a string"),
    PropertyKind.LONG: lambda v: _require(v, (int,), "an integer"),
    PropertyKind.INTEGER: lambda v: _require(v, (int,), "an integer"),
    PropertyKind.DOUBLE: lambda v: float(_require(v, (int, float), "a number")),
    PropertyKind.FLOAT: lambda v: float(_require(v, (int, float), "a number")),
    PropertyKind.BOOLEAN: lambda v: _require(v, (bool,), "a boolean"),
    PropertyKind.DATETIME: _assign_datetime,
    PropertyKind.URI: _assign_uri,
}


def sort_key(term: Term) -> tuple[str, ...]:
    """Deterministic order for the values of a multi-valued property."""
    if isinstance(term, IRI):
        return ("0", term.value)
    if isinstance(term, TypedLiteral):
        return ("1", term.datatype, term.lexical)
    return ("2", term.language, term.text)


# --- JSON natives -------------------------------------------------------------------------

JSON_SCALARS = (str, bool, int, float)


def term_from_json_scalar(value: Any) -> TypedLiteral:
    """The literal a bare JSON scalar stands for (JSON-LD's native-type rules)."""
    if not isinstance(value, JSON_SCALARS):
        raise TypeError(f"expected a JSON string, number or boolean, got {type(value).__name__}")
    term = _encode_native(value)
    assert isinstance(term, TypedLiteral)
    return term


def lexical_from_json_scalar(value: Any) -> str:
    """Lexical form of a JSON scalar given together with an explicit datatype."""
    return term_from_json_scalar(value).lexical


_JSON_SAFE_INTEGER = 2**53  # beyond this, JavaScript JSON-LD processors lose precision


def json_scalar_from_literal(term: TypedLiteral, *, jsonld: bool = False) -> Any:
    """The JSON number/boolean for an integer, double or boolean literal, else None.

    Only lossless mappings, so reading the JSON back yields the identical literal. For
    JSON-LD, doubles and huge integers stay strings: standard processors would rewrite a
    native double's lexical form (1.5 -> "1.5E0") and round huge integers.
    """
    if term.datatype == vocab.XSD_INTEGER:
        value: Any = _decode_undeclared(term)
        if not isinstance(value, int) or isinstance(value, bool):
            return None
        return value if not jsonld or abs(value) <= _JSON_SAFE_INTEGER else None
    if term.datatype == vocab.XSD_BOOLEAN:
        value = _decode_undeclared(term)
        return value if isinstance(value, bool) else None
    if term.datatype == vocab.XSD_DOUBLE and not jsonld:
        value = _decode_undeclared(term)
        return value if isinstance(value, float) and math.isfinite(value) else None
    return None
