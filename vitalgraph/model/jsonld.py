"""Records <-> JSON-LD.

Writing produces the expanded form VitalSigns emits (`"@context": {}`, full IRIs, every
literal with its `@type`). Reading accepts that form and compacted JSON-LD within the
subset `jsonld_context` supports; embedded node objects are flattened into their own records.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from vitalgraph.errors import InvalidInputError
from vitalgraph.model.jsonld_context import EMPTY_CONTEXT, Context, TermDefinition
from vitalgraph.model.records import NodeRecord, merge_records
from vitalgraph.model.values import (
    IRI,
    LangString,
    Term,
    TypedLiteral,
    json_scalar_from_literal,
    lexical_from_json_scalar,
    term_from_json_scalar,
)

# --- writing ------------------------------------------------------------------------------


def record_to_jsonld(record: NodeRecord, *, with_context: bool = True) -> dict[str, Any]:
    node: dict[str, Any] = {"@context": {}} if with_context else {}
    node["@id"] = record.id
    if record.types:
        node["@type"] = record.types[0] if len(record.types) == 1 else list(record.types)
    for predicate in sorted(record.properties):
        node[predicate] = [_term_to_jsonld(term) for term in record.properties[predicate]]
    return node


def records_to_jsonld_graph(records: Iterable[NodeRecord]) -> dict[str, Any]:
    return {"@context": {}, "@graph": [record_to_jsonld(r, with_context=False) for r in records]}


def _term_to_jsonld(term: Term) -> dict[str, Any]:
    if isinstance(term, IRI):
        return {"@id": term.value}
    if isinstance(term, LangString):
        return {"@language": term.language, "@value": term.text}
    native = json_scalar_from_literal(term, jsonld=True)
    return {"@type": term.datatype, "@value": term.lexical if native is None else native}


# --- reading ------------------------------------------------------------------------------


def records_from_jsonld(data: Any) -> list[NodeRecord]:
    """Records for a node object, an array of them, or a `{"@graph": [...]}` document.

    `data` may also be JSON text. Raises InvalidInputError on anything malformed.
    """
    if isinstance(data, (str, bytes, bytearray)):
        try:
            data = json.loads(data)
        except ValueError as err:
            raise InvalidInputError(f"invalid JSON: {err}") from None
    reader = _Reader()
    if isinstance(data, list):
        for item in data:
            reader.read_top_level(item, EMPTY_CONTEXT)
    elif isinstance(data, dict):
        reader.read_top_level(data, EMPTY_CONTEXT)
    else:
        raise InvalidInputError(f"JSON-LD must be an object or an array, got {type(data).__name__}")
    return merge_records(reader.records)


class _Reader:
    def __init__(self) -> None:
        self.records: list[NodeRecord] = []

    def read_top_level(self, node: Any, context: Context) -> None:
        if not isinstance(node, dict):
            raise InvalidInputError(f"JSON-LD items must be objects, got {type(node).__name__}")
        context = _with_local_context(node, context)
        graph_keys = [key for key in node if context.is_alias(key, "@graph")]
        if not graph_keys:
            self.read_node_body(node, context)
            return
        others = [key for key in node if key != "@context" and key not in graph_keys]
        if others:
            raise InvalidInputError(f"named graphs are not supported: @graph next to {sorted(others)}")
        items = node[graph_keys[0]]
        for item in items if isinstance(items, list) else [items]:
            self.read_top_level(item, context)

    def read_node(self, node: dict[str, Any], context: Context) -> str:
        return self.read_node_body(node, _with_local_context(node, context))

    def read_node_body(self, node: dict[str, Any], context: Context) -> str:
        """Adds the node's record (and those of embedded nodes); returns the node's IRI."""
        node_id = _node_id(node, context)
        record = NodeRecord(node_id)
        self.records.append(record)  # before embedded nodes, to keep document order
        for key, value in node.items():
            if key == "@context" or context.is_alias(key, "@id"):
                continue
            where = f"object {node_id}: property {key!r}"
            expanded = _expand_key(context, key, where)
            if expanded == "@type":
                record.types.extend(_type_iris(context, value, where))
            elif expanded == "@index":
                continue  # index metadata has no RDF meaning
            elif expanded.startswith("@"):
                raise InvalidInputError(f"object {node_id}: {key!r} ({expanded}) is not supported")
            else:
                where = f"object {node_id}: property {expanded}"
                for term in self.read_values(value, context.term(key), context, where):
                    record.add(expanded, term)
        return node_id

    def read_values(
        self, value: Any, definition: TermDefinition | None, context: Context, where: str
    ) -> Iterator[Term]:
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue  # JSON-LD null means "no value"
            try:
                if isinstance(item, list):
                    raise InvalidInputError("nested arrays are not supported")
                if isinstance(item, dict):
                    yield from self.read_value_object(item, context, where)
                else:
                    yield _coerce_scalar(item, definition, context)
            except (InvalidInputError, TypeError, ValueError) as err:
                raise InvalidInputError(f"{where}: {err}") from None

    def read_value_object(self, item: dict[str, Any], context: Context, where: str) -> Iterator[Term]:
        keywords = {_expand_key(context, key, where): value for key, value in item.items()}
        if "@value" in keywords:
            term = _value_object(keywords, context)
            if term is not None:
                yield term
        elif "@list" in keywords:
            raise InvalidInputError("@list values are not supported")
        elif "@set" in keywords:
            yield from self.read_values(keywords["@set"], None, context, where)
        elif set(keywords) == {"@id"}:
            yield IRI(_id_iri(context, keywords["@id"]))
        else:
            yield IRI(self.read_node(item, context))  # embedded node: flattened, then referenced


def _with_local_context(node: dict[str, Any], context: Context) -> Context:
    return context.updated(node["@context"]) if "@context" in node else context


def _node_id(node: dict[str, Any], context: Context) -> str:
    id_keys = [key for key in node if context.is_alias(key, "@id")]
    if not id_keys:
        hint = ", ".join(sorted(node)[:6])
        raise InvalidInputError(f"JSON-LD object without @id (keys: {hint})")
    return _id_iri(context, node[id_keys[0]])


def _id_iri(context: Context, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(f"@id must be a string, got {type(value).__name__}: {value!r}")
    try:
        return context.expand_iri(value, vocab=False)
    except InvalidInputError as err:
        raise InvalidInputError(f"@id {value!r}: {err}") from None


def _expand_key(context: Context, key: str, where: str) -> str:
    try:
        return context.expand_iri(key, vocab=True)
    except InvalidInputError as err:
        raise InvalidInputError(f"{where}: {err}") from None


def _type_iris(context: Context, value: Any, where: str) -> list[str]:
    iris = []
    for item in value if isinstance(value, list) else [value]:
        if not isinstance(item, str):
            raise InvalidInputError(f"{where}: @type values must be strings, got {item!r}")
        iris.append(_expand_key(context, item, where))
    return iris


def _value_object(keywords: dict[str, Any], context: Context) -> Term | None:
    unexpected = set(keywords) - {"@value", "@type", "@language", "@index"}
    if unexpected:
        raise InvalidInputError(f"unexpected {sorted(unexpected)} in a value object")
    value = keywords["@value"]
    if value is None:
        return None
    if "@type" in keywords and "@language" in keywords:
        raise InvalidInputError("a value object cannot have both @type and @language")
    if "@type" in keywords:
        datatype = keywords["@type"]
        if not isinstance(datatype, str):
            raise InvalidInputError(f"@type of a value must be a string, got {datatype!r}")
        return TypedLiteral(lexical_from_json_scalar(value), context.expand_iri(datatype, vocab=True))
    if "@language" in keywords:
        return _language_string(value, keywords["@language"])
    return term_from_json_scalar(value)


def _language_string(value: Any, language: Any) -> Term:
    if not isinstance(value, str) or not isinstance(language, str):
        raise InvalidInputError("a language-tagged value and its @language must be strings")
    return LangString(value, language)


def _coerce_scalar(value: Any, definition: TermDefinition | None, context: Context) -> Term:
    """A bare JSON value, typed by the term's `@type` mapping when it has one."""
    type_mapping = definition.type_mapping if definition else None
    if isinstance(value, str) and type_mapping == "@id":
        return IRI(_id_iri(context, value))
    if isinstance(value, str) and type_mapping == "@vocab":
        return IRI(context.expand_iri(value, vocab=True))
    if type_mapping is not None and not type_mapping.startswith("@"):
        return TypedLiteral(lexical_from_json_scalar(value), type_mapping)
    if isinstance(value, str):
        language = definition.language if definition and definition.has_language else context.language
        if language is not None:
            return LangString(value, language)
    return term_from_json_scalar(value)
