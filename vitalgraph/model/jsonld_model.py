"""The older client's JSON-LD request models (module path kept for existing imports): one object
(`JsonLdObject`) or a document with an `@graph` (`JsonLdDocument`)."""

from __future__ import annotations

from typing import Any, Union

from pydantic import BaseModel, ConfigDict, Field


class JsonLdObject(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    id: str = Field(alias="@id")
    type: str | list[str] = Field(alias="@type")
    context: Any = Field(default=None, alias="@context")


class JsonLdDocument(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    context: Any = Field(default=None, alias="@context")
    graph: list[JsonLdObject] = Field(default_factory=list, alias="@graph")


JsonLdRequest = Union[JsonLdObject, JsonLdDocument]


def jsonld_of(document: JsonLdObject | JsonLdDocument | dict) -> dict[str, Any]:
    """The document as plain JSON-LD (aliases, no unset @context)."""
    if isinstance(document, dict):
        return document
    return document.model_dump(by_alias=True, exclude_none=True)
