"""Property declarations: what a class's short attribute names mean on the wire."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class PropertyKind(str, Enum):
    """Value kind of a declared property; decides the Python type and the RDF datatype."""

    STRING = "string"
    LONG = "long"
    INTEGER = "integer"
    DOUBLE = "double"
    FLOAT = "float"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    URI = "uri"


@dataclass(frozen=True)
class PropertySpec:
    """One row of a class's property table: python name, property URI and value kind."""

    name: str
    uri: str
    kind: PropertyKind


def prop(name: str, uri: str, kind: PropertyKind | str) -> PropertySpec:
    """Shorthand for class bodies: `prop("fileName", VITAL + "hasFileName", "string")`."""
    return PropertySpec(name, uri, PropertyKind(kind))
