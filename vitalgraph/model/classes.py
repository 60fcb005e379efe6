"""The VitalSigns classes VitalGraph speaks, with their property tables.

Class URIs, hierarchy and property rows follow VitalSigns (vital-core, vital, haley-ai-kg);
`FileNode` adds VitalGraph's own content properties in the `VG` namespace. Each table lists
only the rows a class adds to its parent's.
"""

from __future__ import annotations

from vitalgraph.model.graph_object import GraphObject
from vitalgraph.model.properties import prop
from vitalgraph.model.vocab import HALEY_KG, VG, VITAL, VITAL_CORE

# Rows every VitalSigns node and edge has.
_COMMON = (
    prop("active", VITAL_CORE + "isActive", "boolean"),
    prop("name", VITAL_CORE + "hasName", "string"),
    prop("ontologyIRI", VITAL_CORE + "hasOntologyIRI", "uri"),
    prop("provenance", VITAL_CORE + "hasProvenance", "uri"),
    prop("timestamp", VITAL_CORE + "hasTimestamp", "long"),
    prop("updateTime", VITAL_CORE + "hasUpdateTime", "long"),
    prop("versionIRI", VITAL_CORE + "hasVersionIRI", "uri"),
)

# Bookkeeping rows shared by haley-ai-kg nodes and edges.
_KG_TRACKING = (
    prop("kGChatInteractionGraphURI", HALEY_KG + "hasKGChatInteractionGraphURI", "uri"),
    prop("kGDataHash", HALEY_KG + "hasKGDataHash", "string"),
    prop("kGGraphAssertionDateTime", HALEY_KG + "hasKGGraphAssertionDateTime", "datetime"),
    prop("kGIdentifier", HALEY_KG + "hasKGIdentifier", "string"),
    prop("kGIndexDateTime", HALEY_KG + "hasKGIndexDateTime", "datetime"),
    prop("kGIndexStatusURI", HALEY_KG + "hasKGIndexStatusURI", "uri"),
    prop("kGJSON", HALEY_KG + "hasKGJSON", "string"),
    prop("kGModelVersion", HALEY_KG + "hasKGModelVersion", "string"),
    prop("kGTenantIdentifier", HALEY_KG + "hasKGTenantIdentifier", "string"),
    prop("kGValidTypeURI", HALEY_KG + "hasKGValidTypeURI", "uri"),
    prop("kGVersion", HALEY_KG + "hasKGVersion", "string"),
    prop("kGVisualStyleJSON", HALEY_KG + "hasKGVisualStyleJSON", "string"),
    prop("kGraphDescription", HALEY_KG + "hasKGraphDescription", "string"),
)

# Typing rows shared by entities and frames.
_KG_TYPED_NODE = (
    prop("kGFormType", HALEY_KG + "hasKGFormType", "uri"),
    prop("kGProvenanceType", HALEY_KG + "hasKGProvenanceType", "uri"),
    prop("kGTypeMethodURI", HALEY_KG + "hasKGTypeMethodURI", "uri"),
)

# Rows frames and slots share.
_KG_FRAME_MEMBER = (
    prop("frameGraphURI", HALEY_KG + "hasFrameGraphURI", "uri"),
    prop("kGBeliefModeType", HALEY_KG + "hasKGBeliefModeType", "uri"),
    prop("kGExpressionType", HALEY_KG + "hasKGExpressionType", "uri"),
)


# --- nodes ----------------------------------------------------------------------------------


class VITAL_Node(GraphObject):
    class_uri = VITAL_CORE + "VITAL_Node"
    declared_properties = _COMMON


class FileNode(VITAL_Node):
    """A stored file; VitalGraph adds content hash, blob key and content update time."""

    class_uri = VITAL + "FileNode"
    declared_properties = (
        prop("accountURI", VITAL + "hasAccountURI", "uri"),
        prop("expirationDate", VITAL + "hasExpirationDate", "datetime"),
        prop("fileLength", VITAL + "hasFileLength", "long"),
        prop("fileName", VITAL + "hasFileName", "string"),
        prop("fileScope", VITAL + "hasFileScope", "string"),
        prop("fileType", VITAL + "hasFileType", "string"),
        prop("fileURL", VITAL + "hasFileURL", "string"),
        prop("profileURI", VITAL + "hasProfileURI", "uri"),
        prop("sha256", VG + "hasFileSHA256", "string"),
        prop("blobKey", VG + "hasBlobKey", "string"),
        prop("contentUpdateTime", VG + "hasContentUpdateTime", "long"),
        prop("contentUploader", VG + "hasContentUploader", "string"),
        prop("nodeVersion", VG + "hasNodeVersion", "long"),
    )


class KGType(VITAL_Node):
    class_uri = HALEY_KG + "KGType"
    declared_properties = (
        prop("kGModelVersion", HALEY_KG + "hasKGModelVersion", "string"),
        prop("kGTypeVersion", HALEY_KG + "hasKGTypeVersion", "string"),
        prop("kGraphDescription", HALEY_KG + "hasKGraphDescription", "string"),
    )


class KGEntityType(KGType):
    class_uri = HALEY_KG + "KGEntityType"
    declared_properties = (
        prop("kGEntityTypeExternIdentifier", HALEY_KG + "hasKGEntityTypeExternIdentifier", "string"),
    )


class KGNode(VITAL_Node):
    class_uri = HALEY_KG + "KGNode"
    declared_properties = _KG_TRACKING + (
        prop("kGActionTypeList", HALEY_KG + "hasKGActionTypeList", "uri"),
        prop("kGActionTypeSummaryDateTime", HALEY_KG + "hasKGActionTypeSummaryDateTime", "datetime"),
        prop("kGNodeCacheDateTime", HALEY_KG + "hasKGNodeCacheDateTime", "datetime"),
        prop("kGRefURI", HALEY_KG + "hasKGRefURI", "uri"),
        prop("kGReferentURI", HALEY_KG + "hasKGReferentURI", "uri"),
    )


class KGEntity(KGNode):
    class_uri = HALEY_KG + "KGEntity"
    declared_properties = _KG_TYPED_NODE + (
        prop("kGEntityAccountURI", HALEY_KG + "hasKGEntityAccountURI", "uri"),
        prop("kGEntityLoginURI", HALEY_KG + "hasKGEntityLoginURI", "uri"),
        prop("kGEntityType", HALEY_KG + "hasKGEntityType", "uri"),
        prop("kGEntityTypeDescription", HALEY_KG + "hasKGEntityTypeDescription", "string"),
    )


class KGFrame(KGNode):
    class_uri = HALEY_KG + "KGFrame"
    declared_properties = (
        _KG_TYPED_NODE
        + _KG_FRAME_MEMBER
        + (
            prop("frameSequence", HALEY_KG + "hasFrameSequence", "integer"),
            prop("kGFrameType", HALEY_KG + "hasKGFrameType", "uri"),
            prop("kGFrameTypeDescription", HALEY_KG + "hasKGFrameTypeDescription", "string"),
            prop("parentFrameURI", HALEY_KG + "hasParentFrameURI", "uri"),
        )
    )


class KGSlot(KGNode):
    class_uri = HALEY_KG + "KGSlot"
    declared_properties = _KG_FRAME_MEMBER + (
        prop("kGParticipationType", HALEY_KG + "hasKGParticipationType", "uri"),
        prop("kGSlotConstraintType", HALEY_KG + "hasKGSlotConstraintType", "uri"),
        prop("kGSlotReferenceURI", HALEY_KG + "hasKGSlotReferenceURI", "uri"),
        prop("kGSlotType", HALEY_KG + "hasKGSlotType", "uri"),
        prop("kGSlotTypeDescription", HALEY_KG + "hasKGSlotTypeDescription", "string"),
        prop("kGSlotValueType", HALEY_KG + "hasKGSlotValueType", "uri"),
        prop("slotSequence", HALEY_KG + "hasSlotSequence", "integer"),
    )


class KGURISlot(KGSlot):
    """A slot whose value is a URI, e.g. the FileNode attached to an entity's frame."""

    class_uri = HALEY_KG + "KGURISlot"
    declared_properties = (prop("uriSlotValue", HALEY_KG + "hasUriSlotValue", "uri"),)


class KGTextSlot(KGSlot):
    class_uri = HALEY_KG + "KGTextSlot"
    declared_properties = (prop("textSlotValue", HALEY_KG + "hasTextSlotValue", "string"),)


class KGIntegerSlot(KGSlot):
    class_uri = HALEY_KG + "KGIntegerSlot"
    declared_properties = (prop("integerSlotValue", HALEY_KG + "hasIntegerSlotValue", "integer"),)


class KGDoubleSlot(KGSlot):
    class_uri = HALEY_KG + "KGDoubleSlot"
    declared_properties = (prop("doubleSlotValue", HALEY_KG + "hasDoubleSlotValue", "double"),)


class KGBooleanSlot(KGSlot):
    class_uri = HALEY_KG + "KGBooleanSlot"
    declared_properties = (prop("booleanSlotValue", HALEY_KG + "hasBooleanSlotValue", "boolean"),)


class KGDateTimeSlot(KGSlot):
    class_uri = HALEY_KG + "KGDateTimeSlot"
    declared_properties = (prop("dateTimeSlotValue", HALEY_KG + "hasDateTimeSlotValue", "datetime"),)


# --- edges ----------------------------------------------------------------------------------


class VITAL_Edge(GraphObject):
    class_uri = VITAL_CORE + "VITAL_Edge"
    declared_properties = _COMMON + (
        prop("edgeSource", VITAL_CORE + "hasEdgeSource", "uri"),
        prop("edgeDestination", VITAL_CORE + "hasEdgeDestination", "uri"),
    )


class Edge_hasKGEdge(VITAL_Edge):
    class_uri = HALEY_KG + "Edge_hasKGEdge"
    declared_properties = _KG_TRACKING + (
        prop("edgeName", HALEY_KG + "hasEdgeName", "string"),
        prop("kGRefEdgeURI", HALEY_KG + "hasKGRefEdgeURI", "uri"),
    )


class Edge_hasEntityKGFrame(Edge_hasKGEdge):
    """Entity -> KGFrame."""

    class_uri = HALEY_KG + "Edge_hasEntityKGFrame"


class Edge_hasKGFrame(Edge_hasKGEdge):
    """KGFrame -> its child KGFrame (the older server's frames under a parent frame)."""

    class_uri = HALEY_KG + "Edge_hasKGFrame"


class Edge_hasKGSlot(Edge_hasKGEdge):
    """KGFrame -> KGSlot."""

    class_uri = HALEY_KG + "Edge_hasKGSlot"
    declared_properties = (
        prop("frameGraphURI", HALEY_KG + "hasFrameGraphURI", "uri"),
        prop("kGSlotRoleSequence", HALEY_KG + "hasKGSlotRoleSequence", "integer"),
        prop("kGSlotRoleType", HALEY_KG + "hasKGSlotRoleType", "uri"),
        prop("kGSlotTypeExternIdentifier", HALEY_KG + "hasKGSlotTypeExternIdentifier", "string"),
    )


class Edge_hasKGDocumentFileNode(Edge_hasKGEdge):
    """KGDocument -> FileNode."""

    class_uri = HALEY_KG + "Edge_hasKGDocumentFileNode"
