"""Records <-> VitalSigns' flat JSON form.

The flat form keys values by property URI and carries "URI", "type", "types" and the
vitaltype. Declared properties use plain JSON values (the property's kind says how to read
them back: a URI, a dateTime string, ...). Undeclared values that plain JSON cannot carry
losslessly (IRIs, dates, other datatypes, language tags) are written as JSON-LD value
objects (`{"@id": ...}`, `{"@value": ..., "@type": ...}`) so they survive the round trip.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from vitalgraph.errors import InvalidInputError
from vitalgraph.model import vocab
from vitalgraph.model.properties import PropertyKind
from vitalgraph.model.records import NodeRecord
from vitalgraph.model.values import (
    IRI,
    LangString,
    Term,
    TypedLiteral,
    decode,
    json_scalar_from_literal,
    lexical_from_json_scalar,
    term_from_json_scalar,
)

# (candidate class URIs, property URI) -> kind of the declared property, None if undeclared.
# The candidates are the vitaltype if present, else all types; the caller picks the class.
KindLookup = Callable[[list[str], str], PropertyKind | None]

_RESERVED_KEYS = ("URI", "type", "types")


def record_to_flat_json(record: NodeRecord, kind_of: KindLookup) -> dict[str, Any]:
    class_uri = record.types[0]
    out: dict[str, Any] = {"URI": record.id}
    for predicate, terms in record.properties.items():
        if predicate in (vocab.URI_PROP, vocab.VITALTYPE):
            continue  # derived from URI and class; written below the VitalSigns way
        kind = kind_of(record.types, predicate)
        values = [_json_value(kind, term) for term in terms]
        out[predicate] = values[0] if len(values) == 1 else values
    out["type"] = class_uri
    out[vocab.VITALTYPE] = class_uri
    out["types"] = list(record.types)
    return out


def record_from_flat_json(data: Any, kind_of: KindLookup) -> NodeRecord:
    if not isinstance(data, dict):
        raise InvalidInputError(f"VitalSigns JSON must be an object, got {type(data).__name__}")
    uri = data.get("URI")
    if not isinstance(uri, str) or not uri:
        raise InvalidInputError('VitalSigns JSON object without a "URI" string')
    record = NodeRecord(uri, _types(uri, data))
    vitaltype = data.get(vocab.VITALTYPE)
    class_candidates = [vitaltype] if isinstance(vitaltype, str) else record.types
    for key, value in data.items():
        if key in _RESERVED_KEYS:
            continue
        if ":" not in key:
            raise InvalidInputError(f"object {uri}: {key!r} is not a property URI")
        kind = PropertyKind.URI if key == vocab.VITALTYPE else kind_of(class_candidates, key)
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            try:
                record.add(key, _term_from_json(kind, item))
            except (InvalidInputError, TypeError, ValueError) as err:
                raise InvalidInputError(f"object {uri}: property {key}: {err}") from None
    return record


def _types(uri: str, data: dict[str, Any]) -> list[str]:
    listed = data.get("types", [])
    main = data.get("type")
    candidates = ([main] if main is not None else []) + (listed if isinstance(listed, list) else [listed])
    types: list[str] = []
    for type_uri in candidates:
        if not isinstance(type_uri, str) or not type_uri:
            raise InvalidInputError(f'object {uri}: "type"/"types" must hold URI strings')
        if type_uri not in types:
            types.append(type_uri)
    return types


def _json_value(kind: PropertyKind | None, term: Term) -> Any:
    if kind is not None and not isinstance(term, LangString):
        value = decode(kind, term)
        return value.isoformat() if isinstance(value, datetime) else value
    if isinstance(term, IRI):
        return {"@id": term.value}
    if isinstance(term, LangString):
        return {"@value": term.text, "@language": term.language}
    if term.datatype == vocab.XSD_STRING:
        return term.lexical
    native = json_scalar_from_literal(term)
    if native is not None:
        return native
    return {"@value": term.lexical, "@type": term.datatype}


def _term_from_json(kind: PropertyKind | None, item: Any) -> Term:
    if isinstance(item, dict):
        return _term_from_value_object(item)
    if isinstance(item, str) and kind is PropertyKind.URI:
        return IRI(item)
    if isinstance(item, str) and kind is PropertyKind.DATETIME:
        return TypedLiteral(item, vocab.XSD_DATETIME)
    return term_from_json_scalar(item)


def _term_from_value_object(item: dict[str, Any]) -> Term:
    keys = set(item)
    if keys == {"@id"} and isinstance(item["@id"], str):
        return IRI(item["@id"])
    if keys == {"@value", "@type"} and isinstance(item["@type"], str):
        return TypedLiteral(lexical_from_json_scalar(item["@value"]), item["@type"])
    if keys == {"@value", "@language"}:
        if isinstance(item["@value"], str) and isinstance(item["@language"], str):
            return LangString(item["@value"], item["@language"])
    if keys == {"@value"}:
        return term_from_json_scalar(item["@value"])
    raise InvalidInputError(f"unsupported value object {item!r}")
