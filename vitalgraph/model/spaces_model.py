"""The older client's `Space` model (its module path kept, so `from vitalgraph.model.spaces_model
import Space` keeps working). `space` is the space's id; `id`, `tenant` and `update_time` are
informational: VitalGraph has no numeric ids or tenants and reports `created` as `update_time`."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Space(BaseModel):
    id: int | None = None
    tenant: str | None = None
    space: str = Field(min_length=1, max_length=128)
    space_name: str = Field(max_length=1024)
    space_description: str | None = None
    update_time: str | None = None
