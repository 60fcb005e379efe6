"""The older client's triples models (module path kept for existing imports)."""

from __future__ import annotations

from pydantic import BaseModel

from vitalgraph.model.quad_model import Quad, QuadRequest


class TripleListRequest(QuadRequest):
    pass


class TripleListResponse(BaseModel):
    """A page of triples as quads (`results`); `total_count` counts triples."""

    success: bool = True
    status: str | None = None
    message: str | None = None
    total_count: int
    page_size: int
    offset: int
    has_more: bool | None = None
    results: list[Quad]


class TripleOperationResponse(BaseModel):
    success: bool = True
    message: str | None = None
    deleted_count: int | None = None
    added_count: int | None = None
