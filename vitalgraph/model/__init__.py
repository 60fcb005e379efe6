"""Light, VitalSigns-compatible graph-object model (no dependency on VitalSigns itself)."""

from vitalgraph.model import vocab
from vitalgraph.model.classes import (
    Edge_hasEntityKGFrame,
    Edge_hasKGDocumentFileNode,
    Edge_hasKGEdge,
    Edge_hasKGSlot,
    FileNode,
    KGBooleanSlot,
    KGDateTimeSlot,
    KGDoubleSlot,
    KGEntity,
    KGEntityType,
    KGFrame,
    KGIntegerSlot,
    KGNode,
    KGSlot,
    KGTextSlot,
    KGType,
    KGURISlot,
    VITAL_Edge,
    VITAL_Node,
)
from vitalgraph.model.graph_object import MAX_URI_LENGTH, GraphObject, check_uri_length, uri_length
from vitalgraph.model.properties import PropertyKind, PropertySpec
from vitalgraph.model.values import IRI, LangString, TypedLiteral

__all__ = [
    "Edge_hasEntityKGFrame",
    "Edge_hasKGDocumentFileNode",
    "Edge_hasKGEdge",
    "Edge_hasKGSlot",
    "FileNode",
    "GraphObject",
    "IRI",
    "KGBooleanSlot",
    "KGDateTimeSlot",
    "KGDoubleSlot",
    "KGEntity",
    "KGEntityType",
    "KGFrame",
    "KGIntegerSlot",
    "KGNode",
    "KGSlot",
    "KGTextSlot",
    "KGType",
    "KGURISlot",
    "LangString",
    "MAX_URI_LENGTH",
    "PropertyKind",
    "PropertySpec",
    "TypedLiteral",
    "VITAL_Edge",
    "VITAL_Node",
    "check_uri_length",
    "uri_length",
    "vocab",
]
