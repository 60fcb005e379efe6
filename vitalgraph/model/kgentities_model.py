"""The older client's criteria-based entity query (`POST /api/graphs/kgentities/query`), as its body.

`{"criteria": {...}, "page_size": 10, "offset": 0}`. The criteria VitalGraph answers are the text
search, the entity type, the frame type, the property filters, the slot criteria and the sort
criteria; the older server's vector and geo search (out of scope) are accepted by name and refused
with 400 naming them, rather than ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from vitalgraph.model.vocab import (
    HALEY_KG,
    OBJECT_CREATION_TIME,
    OBJECT_MODIFICATION_TIME,
    OBJECT_STATUS_TYPE,
)

FilterOperator = Literal["equals", "not_equals", "contains", "exists", "not_exists", "gt", "lt", "gte", "lte"]
# The older `entity_property_filters` operator names, in terms of FilterOperator ("in" and the
# has_* list operators are expanded by the service: any / all / none of the values).
PropertyOperator = Literal[
    "eq", "ne", "gt", "lt", "gte", "lte", "contains", "exists", "not_exists",
    "in", "not_in", "has", "not_has", "has_any", "has_all", "not_has_any",
]  # fmt: skip
FilterValue = str | int | float | bool | datetime | None


class QueryFilter(BaseModel):
    """A filter on a property of the entity: `property_name` is a property IRI or a KGEntity
    attribute name (`name`, `kGEntityType`, ...)."""

    model_config = ConfigDict(extra="forbid")

    property_name: str = Field(min_length=1, max_length=2048)
    operator: FilterOperator
    value: FilterValue = None


class EntityPropertyFilter(BaseModel):
    """The older datatype-aware filter on a property IRI; lists for in / not_in / has_any / has_all / not_has_any."""

    model_config = ConfigDict(extra="forbid")

    property_uri: str = Field(min_length=1, max_length=2048)
    operator: PropertyOperator
    value: FilterValue | list[str] = None


SlotComparator = Literal["eq", "ne", "gt", "lt", "gte", "lte", "contains", "exists", "not_exists"]
SortType = Literal[
    "entity_property", "entity_frame_slot", "frame_slot", "source_frame_slot", "destination_frame_slot"
]


class SlotCriterion(BaseModel):
    """The entity has a slot (in one of its frames, of `frame_type` when the criteria name one) of
    `slot_type` and class `slot_class_uri` (the slot's value property follows from it; any slot class
    when left out) whose value meets `comparator` and `value` (`exists` / `not_exists`: has such a
    slot or not; no comparator: `eq` with a value, else `exists`)."""

    model_config = ConfigDict(extra="forbid")

    slot_type: str | None = Field(None, max_length=2048)
    slot_class_uri: str | None = Field(None, max_length=2048)
    value: FilterValue = None
    comparator: SlotComparator | None = None


class SortCriterion(BaseModel):
    """One sort level, as the older server's: `entity_property` sorts by the entity's property
    `property_uri`; `entity_frame_slot` by the value of its slot of `slot_type` (class
    `slot_class_uri`) in the frame reached through `frame_path` (frame types from the entity down;
    any frame of the entity when empty). Lower `priority` first."""

    model_config = ConfigDict(extra="forbid")

    sort_type: SortType
    property_uri: str | None = Field(None, max_length=2048)
    frame_path: list[str] = Field(default_factory=list, max_length=8)
    slot_type: str | None = Field(None, max_length=2048)
    slot_class_uri: str | None = Field(None, max_length=2048)
    sort_order: Literal["asc", "desc"] = "asc"
    priority: int = 1


class EntityQueryCriteria(BaseModel):
    model_config = ConfigDict(extra="forbid")

    search_string: str | None = Field(
        None, max_length=1024, description="some literal of the entity contains it"
    )
    entity_type: str | None = Field(None, max_length=2048, description="the entity's kGEntityType")
    frame_type: str | None = Field(
        None, max_length=2048, description="the entity has a frame of this kGFrameType"
    )
    filters: list[QueryFilter] | None = Field(None, max_length=32)
    entity_property_filters: list[EntityPropertyFilter] | None = Field(None, max_length=32)
    slot_criteria: list[SlotCriterion] | None = Field(None, max_length=16)
    sort_criteria: list[SortCriterion] | None = Field(None, max_length=8)
    # The older server's vector and geo search (out of scope): accepted by name so the refusal names them (400).
    vector_criteria: Any = None
    multi_vector_criteria: Any = None
    geo_criteria: Any = None

    def unsupported(self) -> list[str]:
        names = ("vector_criteria", "multi_vector_criteria", "geo_criteria")
        return [name for name in names if getattr(self, name) not in (None, [])]


class EntityQueryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    criteria: EntityQueryCriteria
    page_size: int = Field(10, ge=1, le=1000)
    offset: int = Field(0, ge=0)


class EntityFilters(BaseModel):
    """The older list and count filters on entities, each on the property the older server used:
    `status` / `exclude_status` on hasObjectStatusType, `created_*` on hasObjectCreationTime and
    `modified_*` on hasObjectModificationDateTime (set by the server on every write; `*_after` and
    `*_before` are strict, a time without a zone is UTC), `action_type` a value of
    hasKGActionTypeList, `provenance_type` hasKGProvenanceType, `entity_type_uri` kGEntityType."""

    model_config = ConfigDict(extra="forbid")

    entity_type_uri: str | None = Field(None, max_length=2048)
    status: str | None = Field(None, max_length=2048)
    exclude_status: str | None = Field(None, max_length=2048)
    created_after: datetime | None = None
    created_before: datetime | None = None
    modified_after: datetime | None = None
    modified_before: datetime | None = None
    action_type: str | None = Field(None, max_length=2048)
    provenance_type: str | None = Field(None, max_length=2048)

    def criteria(self, search: str | None = None, *, having: str | None = None) -> EntityQueryCriteria:
        """The filters as query criteria; `having`: the entities must have that property."""
        filters = [QueryFilter(property_name=having, operator="exists")] if having else []
        for name, (prop, operator) in _FILTER_PROPERTIES.items():
            value = getattr(self, name)
            if value is not None:
                filters.append(QueryFilter(property_name=prop, operator=operator, value=value))
        return EntityQueryCriteria(
            search_string=search, entity_type=self.entity_type_uri, filters=filters or None
        )


_FILTER_PROPERTIES: dict[str, tuple[str, FilterOperator]] = {
    "status": (OBJECT_STATUS_TYPE, "equals"),
    "exclude_status": (OBJECT_STATUS_TYPE, "not_equals"),
    "created_after": (OBJECT_CREATION_TIME, "gt"),
    "created_before": (OBJECT_CREATION_TIME, "lt"),
    "modified_after": (OBJECT_MODIFICATION_TIME, "gt"),
    "modified_before": (OBJECT_MODIFICATION_TIME, "lt"),
    "action_type": (HALEY_KG + "hasKGActionTypeList", "equals"),
    "provenance_type": (HALEY_KG + "hasKGProvenanceType", "equals"),
}


class EntityCount(EntityFilters):
    """The older count filters (`GET /api/graphs/kgentities/count`, one entry of `POST .../counts`):
    the list filters, `search`, and `sort_by`, which counts the entities that have that property,
    as the older server did."""

    search: str | None = Field(None, max_length=1024)
    sort_by: str | None = Field(None, max_length=2048)

    def count_criteria(self) -> EntityQueryCriteria:
        return self.criteria(self.search, having=self.sort_by)


class LabelledCount(EntityCount):
    label: str = Field(max_length=1024)


class BatchCountRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    space_id: str = Field(min_length=1, max_length=128)
    graph_id: str | None = Field(None, max_length=256)
    count_requests: list[LabelledCount] = Field(max_length=100)
