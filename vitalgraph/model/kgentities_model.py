"""The older client's criteria-based entity query (`POST /api/graphs/kgentities/query`), as its body.

`{"criteria": {...}, "page_size": 10, "offset": 0}`. The criteria VitalGraph answers are the text
search, the entity type, the frame type and the property filters; the others the older server had
(slot, sort, vector, geo) are accepted by name and refused with 400 naming them, rather than ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from vitalgraph.model.vocab import HALEY_KG, VITAL, VITAL_AIMP

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
    # The older server's other criteria: accepted by name so the refusal can name them (400).
    slot_criteria: Any = None
    sort_criteria: Any = None
    vector_criteria: Any = None
    multi_vector_criteria: Any = None
    geo_criteria: Any = None

    def unsupported(self) -> list[str]:
        names = ("slot_criteria", "sort_criteria", "vector_criteria", "multi_vector_criteria", "geo_criteria")
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
    "status": (VITAL_AIMP + "hasObjectStatusType", "equals"),
    "exclude_status": (VITAL_AIMP + "hasObjectStatusType", "not_equals"),
    "created_after": (VITAL_AIMP + "hasObjectCreationTime", "gt"),
    "created_before": (VITAL_AIMP + "hasObjectCreationTime", "lt"),
    "modified_after": (VITAL + "hasObjectModificationDateTime", "gt"),
    "modified_before": (VITAL + "hasObjectModificationDateTime", "lt"),
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
