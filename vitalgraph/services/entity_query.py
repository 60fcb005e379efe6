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
from vitalgraph.model import (
    Edge_hasEntityKGFrame,
    Edge_hasKGFrame,
    Edge_hasKGSlot,
    KGEntity,
    KGFrame,
    KGSlot,
    VITAL_Edge,
)
from vitalgraph.model.kgentities_model import EntityQueryCriteria, FilterValue, SlotCriterion
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
    patterns += [
        _slot_filter(slot, criteria.frame_type, n) for n, slot in enumerate(criteria.slot_criteria or [])
    ]
    return patterns


def criteria_sort_keys(criteria: EntityQueryCriteria) -> list[tuple[str, bool]]:
    """The sort criteria as `GraphStore.list_objects` sort keys (by priority), 400 for a sort type that
    orders frames or relations rather than entities or that lacks what it needs."""
    keys = []
    for n, sort in enumerate(sorted(criteria.sort_criteria or [], key=lambda c: c.priority)):
        if sort.sort_type == "entity_property":
            if not sort.property_uri:
                raise InvalidInputError("sort_criteria: entity_property needs property_uri")
            pattern = f"?s {iri(_property_uri(sort.property_uri))} ?sortValue{n}"
        elif sort.sort_type == "entity_frame_slot":
            if not sort.slot_type:
                raise InvalidInputError("sort_criteria: entity_frame_slot needs slot_type")
            slot = f"?sortSlot{n}"
            pattern = _frame_path(sort.frame_path, n) + _slot_of(f"?sortFrame{n}", slot, f"sort{n}")
            pattern += f" {slot} {_typed(KGSlot.kGSlotType.uri, sort.slot_type, f'?sortSlotType{n}')}"
            pattern += f" {slot} {iri(_slot_value_property(sort.slot_class_uri))} ?sortValue{n}"
        else:
            raise InvalidInputError(
                f"sort_criteria: sort_type {sort.sort_type!r} orders frames or relations; an entity query "
                "takes entity_property or entity_frame_slot"
            )
        keys.append((pattern, sort.sort_order == "desc"))
    return keys


def _slot_value_properties() -> dict[str, str]:
    """Slot class URI -> the property holding its value (hasTextSlotValue, ...)."""
    found, pending = {}, list(KGSlot.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        values = [spec.uri for spec in cls.declared_properties if spec.name.endswith("SlotValue")]
        if cls.class_uri and values:
            found[cls.class_uri] = values[0]
    return found


SLOT_VALUE_PROPERTIES = _slot_value_properties()


def _slot_value_property(slot_class: str | None) -> str:
    """The value property of a slot class given as its URI or name (KGTextSlot); 400 otherwise."""
    by_name = {uri.rsplit("#", 1)[-1]: prop for uri, prop in SLOT_VALUE_PROPERTIES.items()}
    prop = SLOT_VALUE_PROPERTIES.get(slot_class or "") or by_name.get(slot_class or "")
    if prop is None:
        raise InvalidInputError(
            f"slot_class_uri {slot_class!r} is not a slot class with a value: one of "
            f"{', '.join(sorted(by_name))}"
        )
    return prop


def _typed(prop: str, value: str, variable: str) -> str:
    return f"{iri(prop)} {variable} . FILTER(STR({variable}) = {literal(value)})"


def _slot_of(frame: str, slot: str, suffix: str) -> str:
    return (
        f" ?slotEdge{suffix} <{RDF_TYPE}> <{Edge_hasKGSlot.class_uri}> ; "
        f"{iri(VITAL_Edge.edgeSource.uri)} {frame} ; {iri(VITAL_Edge.edgeDestination.uri)} {slot} ."
    )


def _frame_path(frame_types: list[str], n: int) -> str:
    """?s -Edge_hasEntityKGFrame-> frame of frame_types[0] -Edge_hasKGFrame-> ... ; ends in ?sortFrame<n>."""
    source, frames = "?s", [f"?sortFrame{n}_{i}" for i in range(len(frame_types))] or [f"?sortFrame{n}"]
    frames[-1] = f"?sortFrame{n}"
    parts = []
    for i, frame in enumerate(frames):
        edge_class = Edge_hasEntityKGFrame if i == 0 else Edge_hasKGFrame
        parts.append(
            f"?sortEdge{n}_{i} <{RDF_TYPE}> <{edge_class.class_uri}> ; "
            f"{iri(VITAL_Edge.edgeSource.uri)} {source} ; {iri(VITAL_Edge.edgeDestination.uri)} {frame} ."
        )
        if i < len(frame_types):
            parts.append(
                f"{frame} {_typed(KGFrame.kGFrameType.uri, frame_types[i], f'?sortFrameType{n}_{i}')}"
            )
        source = frame
    return " ".join(parts)


def _slot_filter(slot: SlotCriterion, frame_type: str | None, n: int) -> str:
    """The entity has (or, for not_exists, has not) a slot meeting the criterion in one of its frames."""
    comparator = slot.comparator or ("eq" if slot.value is not None else "exists")
    frame, node = f"?slotFrame{n}", f"?slot{n}"
    pattern = (
        f"?slotFrameEdge{n} <{RDF_TYPE}> <{Edge_hasEntityKGFrame.class_uri}> ; "
        f"{iri(VITAL_Edge.edgeSource.uri)} ?s ; {iri(VITAL_Edge.edgeDestination.uri)} {frame} ."
    )
    if frame_type:
        pattern += f" {frame} {_typed(KGFrame.kGFrameType.uri, frame_type, f'?slotFrameType{n}')}"
    pattern += _slot_of(frame, node, f"{n}")
    if slot.slot_type:
        pattern += f" {node} {_typed(KGSlot.kGSlotType.uri, slot.slot_type, f'?slotType{n}')}"
    if slot.slot_class_uri:
        value_property = iri(_slot_value_property(slot.slot_class_uri))
    else:
        value_property = f"?slotValueProperty{n}"
        values = " ".join(iri(p) for p in sorted(set(SLOT_VALUE_PROPERTIES.values())))
        pattern += f" VALUES {value_property} {{ {values} }}"
    value = f"?slotValue{n}"
    pattern += f" {node} {value_property} {value} ."
    if comparator in ("exists", "not_exists"):
        return f"FILTER {'NOT ' if comparator == 'not_exists' else ''}EXISTS {{ {pattern} }}"
    if slot.value is None:
        raise InvalidInputError(f"slot_criteria: comparator {comparator!r} needs a value")
    if comparator == "ne":
        condition = f"STR({value}) != {literal(str(slot.value))}"
    else:
        operator = {"eq": "equals", "contains": "contains"}.get(comparator, comparator)
        condition = _condition(value, operator, slot.value, "slot_criteria")
    return f"FILTER EXISTS {{ {pattern} FILTER({condition}) }}"


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
