"""The older client's entity query criteria as SPARQL graph patterns on `?s` (the entity).

Every IRI goes through `iri` and every value through `literal` (numbers: pyoxigraph's typed
`Literal`), so no part of a request reaches the query as SPARQL text. Values compare as their text (`STR`), so an entity
type matches whether it was stored as an IRI or a string; numbers compare as numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from pyoxigraph import Literal, NamedNode

from vitalgraph.errors import InvalidInputError
from vitalgraph.graph.base import iri, literal
from vitalgraph.model import Edge_hasEntityKGFrame, KGEntity, KGFrame, VITAL_Edge
from vitalgraph.model.kgentities_model import EntityQueryCriteria, FilterValue
from vitalgraph.model.properties import PropertySpec
from vitalgraph.model.vocab import RDF_TYPE, XSD_DATETIME

Value = FilterValue | list[str]
_COMPARISONS = {"gt": ">", "lt": "<", "gte": ">=", "lte": "<="}
# The older entity_property_filters operators that test one value, by the name used here.
_SINGLE = {"eq": "equals", "ne": "not_equals", "has": "equals", "not_has": "not_equals"}


def criteria_patterns(criteria: EntityQueryCriteria) -> list[str]:
    """FILTER patterns that hold for exactly the entities the criteria select (besides `search_string`,
    which the store's own search applies). InvalidInputError names criteria VitalGraph does not answer."""
    if unsupported := criteria.unsupported():
        raise InvalidInputError(
            f"query criteria not supported by VitalGraph: {', '.join(unsupported)} (docs/migration.md, kgentities)"
        )
    patterns = []
    if criteria.entity_type:
        patterns.append(_value_filter(KGEntity.kGEntityType.uri, "equals", criteria.entity_type, 0))
    if criteria.frame_type:
        patterns.append(_frame_type_filter(criteria.frame_type))
    filters = [(_property_uri(f.property_name), f.operator, f.value) for f in criteria.filters or []]
    for f in criteria.entity_property_filters or []:
        filters += list(_expand(f.property_uri, f.operator, f.value))
    patterns += [_value_filter(prop, op, value, n + 1) for n, (prop, op, value) in enumerate(filters)]
    return patterns


def _property_uri(name: str) -> str:
    """A property IRI as given, or the IRI of a KGEntity attribute (`name` -> vital-core#hasName)."""
    spec = getattr(KGEntity, name, None)
    if isinstance(spec, PropertySpec):
        return spec.uri
    if ":" not in name:
        raise InvalidInputError(
            f"unknown property {name!r}: give a property IRI or a KGEntity attribute name"
        )
    return name


def _expand(prop: str, operator: str, value: Value) -> Iterator[tuple[str, str, Value]]:
    """An entity_property_filter as (property, operator, value) filters that must all hold."""
    values = value if isinstance(value, list) else None
    if operator in ("in", "has_any", "not_in", "not_has_any", "has_all"):
        if not values:
            raise InvalidInputError(f"operator {operator!r} on {prop} takes a non-empty list of values")
        if operator == "has_all":
            yield from ((prop, "equals", v) for v in values)
        else:
            yield prop, "one_of" if operator in ("in", "has_any") else "none_of", values
        return
    if values is not None:
        raise InvalidInputError(f"operator {operator!r} on {prop} takes a single value, not a list")
    yield prop, _SINGLE.get(operator, operator), value  # type: ignore[misc]


def _value_filter(prop: str, operator: str, value: Value, number: int) -> str:
    v = f"?filter{number}"
    if operator == "exists":
        return f"FILTER EXISTS {{ ?s {iri(prop)} {v} }}"
    if operator == "not_exists":
        return f"FILTER NOT EXISTS {{ ?s {iri(prop)} {v} }}"
    if value is None:
        raise InvalidInputError(f"operator {operator!r} on {prop} needs a value")
    if operator == "not_equals":
        return f"FILTER NOT EXISTS {{ ?s {iri(prop)} {v} . FILTER(STR({v}) = {literal(str(value))}) }}"
    if operator == "none_of":
        return f"FILTER NOT EXISTS {{ ?s {iri(prop)} {v} . FILTER({_one_of(v, value)}) }}"
    return f"FILTER EXISTS {{ ?s {iri(prop)} {v} . FILTER({_condition(v, operator, value, prop)}) }}"


def _condition(v: str, operator: str, value: Value, prop: str) -> str:
    if operator == "equals":
        return f"STR({v}) = {literal(str(value))}"
    if operator == "contains":
        return f"CONTAINS(LCASE(STR({v})), LCASE({literal(str(value))}))"
    if operator == "one_of":
        return _one_of(v, value)
    if operator in _COMPARISONS:
        if isinstance(value, datetime):  # a typed date-time, compared as one (a naive one is UTC)
            moment = value if value.tzinfo else value.replace(tzinfo=UTC)
            return f"{v} {_COMPARISONS[operator]} {Literal(moment.isoformat(), datatype=NamedNode(XSD_DATETIME))}"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return f"{v} {_COMPARISONS[operator]} {Literal(value)}"  # a typed number
        return f"STR({v}) {_COMPARISONS[operator]} {literal(str(value))}"  # text, e.g. ISO 8601 date-times
    raise InvalidInputError(f"unknown operator {operator!r} on {prop}")


def _one_of(v: str, values: Value) -> str:
    items = values if isinstance(values, list) else [values]
    return f"STR({v}) IN ({', '.join(literal(str(item)) for item in items)})"


def _frame_type_filter(frame_type: str) -> str:
    return (
        f"FILTER EXISTS {{ ?frameEdge <{RDF_TYPE}> <{Edge_hasEntityKGFrame.class_uri}> ; "
        f"{iri(VITAL_Edge.edgeSource.uri)} ?s ; {iri(VITAL_Edge.edgeDestination.uri)} ?frame . "
        f"?frame {iri(KGFrame.kGFrameType.uri)} ?frameType . FILTER(STR(?frameType) = {literal(frame_type)}) }}"
    )
