"""The older client's SPARQL and graph models (module path kept for existing imports)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class GraphInfo(BaseModel):
    """A named graph of a space; `graph_uri` is its graph_id."""

    graph_uri: str
    triple_count: int | None = None
    created_time: str | None = None
    updated_time: str | None = None


class SPARQLQueryRequest(BaseModel):
    """A read-only query (SELECT, ASK, CONSTRUCT, DESCRIBE). The dataset is always the space's
    graphs: `default_graph_uri` / `named_graph_uri` are refused when set (docs/migration.md)."""

    query: str
    default_graph_uri: list[str] | None = None
    named_graph_uri: list[str] | None = None
    format: str | None = "application/sparql-results+json"


class SPARQLQueryResponse(BaseModel):
    head: dict[str, Any] | None = None
    results: dict[str, Any] | None = None
    boolean: bool | None = None
    triples: list[dict[str, Any]] | None = None
    query_time: float | None = None
    error: str | None = None


class SPARQLGraphRequest(BaseModel):
    operation: str
    source_graph_uri: str | None = None
    target_graph_uri: str | None = None
    silent: bool = False
