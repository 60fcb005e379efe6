"""Namespace and term constants shared by the graph-object model.

VitalSigns' own namespaces are reproduced verbatim so our data is interchangeable with
theirs; `VG` holds the few properties VitalGraph needs that VitalSigns does not define.
"""

from __future__ import annotations

VITAL_CORE = "http://vital.ai/ontology/vital-core#"
VITAL = "http://vital.ai/ontology/vital#"
HALEY_KG = "http://vital.ai/ontology/haley-ai-kg#"
VITAL_AIMP = "http://vital.ai/ontology/vital-aimp#"
VG = "http://vitalgraph.ai/ontology/vitalgraph#"

XSD = "http://www.w3.org/2001/XMLSchema#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

RDF_TYPE = RDF + "type"
RDF_LANG_STRING = RDF + "langString"

# VitalSigns' object bookkeeping (not in the VitalSigns 0.1.55 tables, so undeclared here: read and
# set by URI). The older server kept them on entities; the two times are the server's to set.
OBJECT_CREATION_TIME = VITAL_AIMP + "hasObjectCreationTime"
OBJECT_MODIFICATION_TIME = VITAL + "hasObjectModificationDateTime"
OBJECT_STATUS_TYPE = VITAL_AIMP + "hasObjectStatusType"
REFERENCE_IDENTIFIER = VITAL_AIMP + "hasReferenceIdentifier"

# Structural properties every VitalSigns object carries; the model derives them from the
# object's URI and class instead of storing them as ordinary property values.
VITALTYPE = VITAL_CORE + "vitaltype"
URI_PROP = VITAL_CORE + "URIProp"

# Literal datatypes the model writes.
XSD_STRING = XSD + "string"
XSD_INTEGER = XSD + "integer"
XSD_DOUBLE = XSD + "double"
XSD_FLOAT = XSD + "float"
XSD_BOOLEAN = XSD + "boolean"
XSD_DATETIME = XSD + "dateTime"
XSD_ANY_URI = XSD + "anyURI"

# Datatypes accepted when reading integers (other writers use long/int rather than integer).
XSD_INTEGER_TYPES = frozenset(
    XSD + name
    for name in (
        "integer",
        "long",
        "int",
        "short",
        "byte",
        "nonNegativeInteger",
        "nonPositiveInteger",
        "positiveInteger",
        "negativeInteger",
        "unsignedLong",
        "unsignedInt",
        "unsignedShort",
        "unsignedByte",
    )
)
XSD_DECIMAL_TYPES = frozenset({XSD_DOUBLE, XSD_FLOAT, XSD + "decimal"})
XSD_DATETIME_TYPES = frozenset({XSD_DATETIME, XSD + "dateTimeStamp"})

# VitalGraph's own file properties.
VG_FILE_SHA256 = VG + "hasFileSHA256"  # hex SHA-256 of the file content
VG_BLOB_KEY = VG + "hasBlobKey"  # server-internal key of the stored bytes
VG_CONTENT_UPDATE_TIME = VG + "hasContentUpdateTime"  # ms since the epoch
VG_CONTENT_UPLOADER = VG + "hasContentUploader"  # the user whose upload (or copy) set the content
VG_NODE_VERSION = VG + "hasNodeVersion"  # kept by the graph store: +1 on every compare-and-set
