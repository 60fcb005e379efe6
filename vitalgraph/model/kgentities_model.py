"""The older client's criteria-based entity query (`POST /api/graphs/kgentities/query`), as its body.

`{"criteria": {...}, "page_size": 10, "offset": 0}`. The criteria VitalGraph answers are the text
search, the entity type, the frame type and the property filters; the others the older server had
(slot, sort, vector, geo) are accepted by name and refused with 400 naming them, rather than ignored.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from vitalgraph.errors import InvalidInputError

FilterOperator = Literal["equals", "not_equals", "contains", "exists", "not_exists", "gt", "lt", "gte", "lte"]
# The older `entity_property_filters` operator names, in terms of FilterOperator ("in" and the
# has_* list operators are expanded by the service: any / all / none of the values).
PropertyOperator = Literal[
    "eq", "ne", "gt", "lt", "gte", "lte", "contains", "exists", "not_exists",
    "in", "not_in", "has", "not_has", "has_any", "has_all", "not_has_any",
]  # fmt: skip
FilterValue = str | int | float | bool | None


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


class EntityCount(BaseModel):
    """The older count filters (`GET /api/graphs/kgentities/count`, one entry of `POST .../counts`).

    `sort_by` counts the entities that have that property, as the older server did; the status,
    provenance and date filters are refused (400 naming them)."""

    model_config = ConfigDict(extra="forbid")

    entity_type_uri: str | None = Field(None, max_length=2048)
    search: str | None = Field(None, max_length=1024)
    sort_by: str | None = Field(None, max_length=2048)
    status: str | None = None
    exclude_status: str | None = None
    created_after: str | None = None
    created_before: str | None = None
    modified_after: str | None = None
    modified_before: str | None = None
    provenance_type: str | None = None

    def criteria(self) -> EntityQueryCriteria:
        refused = [name for name in _REFUSED_COUNT_FILTERS if getattr(self, name) is not None]
        if refused:
            raise InvalidInputError(
                f"count filters not supported by VitalGraph: {', '.join(refused)} (docs/migration.md, kgentities)"
            )
        exists = [QueryFilter(property_name=self.sort_by, operator="exists")] if self.sort_by else None
        return EntityQueryCriteria(
            search_string=self.search, entity_type=self.entity_type_uri, filters=exists
        )


_REFUSED_COUNT_FILTERS = [
    name for name in EntityCount.model_fields if name not in ("entity_type_uri", "search", "sort_by")
]


class LabelledCount(EntityCount):
    label: str = Field(max_length=1024)


class BatchCountRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    space_id: str = Field(min_length=1, max_length=128)
    graph_id: str | None = Field(None, max_length=256)
    count_requests: list[LabelledCount] = Field(max_length=100)
