"""GraphObject behaviour: attributes, registry, unknown classes and properties, equality."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pyoxigraph as ox
import pytest

from vitalgraph.model import (
    IRI,
    FileNode,
    GraphObject,
    KGEntity,
    KGFrame,
    KGNode,
    KGURISlot,
    LangString,
    PropertyKind,
    TypedLiteral,
    VITAL_Edge,
    VITAL_Node,
    vocab,
)
from vitalgraph.model.properties import prop


class Measurement(VITAL_Node):
    """Test-only class exercising the kinds our VitalSigns classes don't use."""

    class_uri = "urn:vitalgraph-test:Measurement"
    declared_properties = (
        prop("reading", "urn:vitalgraph-test:hasReading", "double"),
        prop("ratio", "urn:vitalgraph-test:hasRatio", "float"),
        prop("count", "urn:vitalgraph-test:hasCount", "integer"),
    )


def all_round_trips(obj: GraphObject) -> dict[str, GraphObject]:
    """The object after a trip through every serialised form (via JSON/N-Triples text)."""
    return {
        "jsonld": GraphObject.from_jsonld(json.loads(json.dumps(obj.to_jsonld())))[0],
        "jsonld-list": GraphObject.from_jsonld(GraphObject.list_to_jsonld([obj]))[0],
        "json": GraphObject.from_json(json.loads(json.dumps(obj.to_json()))),
        "triples": GraphObject.from_triples(obj.to_triples())[0],
        "ntriples": GraphObject.from_ntriples(obj.to_ntriples())[0],
    }


def assert_round_trips(obj: GraphObject) -> None:
    for form, read in all_round_trips(obj).items():
        assert read == obj, form
        assert type(read) is type(obj), form


# --- attributes -----------------------------------------------------------------------------


def test_attribute_access_by_short_name():
    node = FileNode(URI="urn:f:1")
    assert node.fileLength is None
    node.fileLength = 5
    node.name = "a.txt"
    assert (node.fileLength, node.name) == (5, "a.txt")
    assert node.get("fileLength") == node.get(vocab.VITAL + "hasFileLength") == 5
    del node.fileLength
    assert node.fileLength is None and vocab.VITAL + "hasFileLength" not in node.property_values


def test_set_by_uri_and_none_removes():
    node = FileNode(URI="urn:f:1", fileName="a")
    node.set(vocab.VITAL + "hasFileName", "b")
    assert node.fileName == "b"
    node.fileName = None
    assert node.property_values == {}


def test_class_attribute_gives_the_property_spec():
    spec = FileNode.fileLength
    assert (spec.name, spec.uri, spec.kind) == (
        "fileLength",
        vocab.VITAL + "hasFileLength",
        PropertyKind.LONG,
    )


def test_properties_are_inherited():
    assert "name" in KGURISlot.property_specs and "kGSlotType" in KGURISlot.property_specs
    assert "edgeSource" in VITAL_Edge.property_specs and "edgeSource" not in KGEntity.property_specs
    slot = KGURISlot(URI="urn:slot:1", name="slot", uriSlotValue="urn:f:1")
    assert slot.name == "slot"


def test_vitalgraph_file_properties():
    node = FileNode(URI="urn:f:1", sha256="ab" * 32, blobKey="blobs/1", contentUpdateTime=1767225600000)
    triples = {(t.predicate.value, t.object.value) for t in node.to_triples()}
    assert (vocab.VG_FILE_SHA256, "ab" * 32) in triples
    assert (vocab.VG_BLOB_KEY, "blobs/1") in triples
    assert (vocab.VG_CONTENT_UPDATE_TIME, "1767225600000") in triples
    assert_round_trips(node)


def test_default_uri_is_unique():
    first, second = FileNode(), FileNode()
    assert first.URI.startswith("urn:uuid:") and first.URI != second.URI


def test_datetime_accepts_iso_text_and_double_coerces_int():
    node = FileNode(URI="urn:f:1", expirationDate="2027-01-01T00:00:00Z")
    assert node.expirationDate == datetime(2027, 1, 1, tzinfo=UTC)
    measurement = Measurement(URI="urn:m:1", reading=3)
    assert measurement.reading == 3.0 and isinstance(measurement.reading, float)


def test_double_float_and_integer_kinds():
    measurement = Measurement(URI="urn:m:1", reading=1.5, ratio=0.25, count=7)
    literals = {t.predicate.value: t.object for t in measurement.to_triples()}
    assert literals["urn:vitalgraph-test:hasReading"] == ox.Literal(
        "1.5", datatype=ox.NamedNode(vocab.XSD_DOUBLE)
    )
    assert literals["urn:vitalgraph-test:hasRatio"] == ox.Literal(
        "0.25", datatype=ox.NamedNode(vocab.XSD_FLOAT)
    )
    assert literals["urn:vitalgraph-test:hasCount"] == ox.Literal(
        "7", datatype=ox.NamedNode(vocab.XSD_INTEGER)
    )
    assert_round_trips(measurement)


def test_repr_shows_short_names():
    assert repr(FileNode(URI="urn:f:1", fileLength=5)) == "FileNode(URI='urn:f:1', fileLength=5)"


# --- registry and unknown classes -----------------------------------------------------------


def test_registry_maps_class_uris_to_classes():
    assert GraphObject.class_for_uri(vocab.VITAL + "FileNode") is FileNode
    assert GraphObject.class_for_uri(vocab.HALEY_KG + "KGFrame") is KGFrame
    assert GraphObject.class_for_uri("urn:vitalgraph-test:Measurement") is Measurement
    assert GraphObject.class_for_uri("http://example.org/Unknown") is None


def test_registering_a_class_uri_twice_fails():
    with pytest.raises(TypeError, match="already registered"):
        type("OtherFileNode", (VITAL_Node,), {"class_uri": vocab.VITAL + "FileNode"})


def test_property_names_cannot_shadow_the_api():
    with pytest.raises(TypeError, match="clashes with GraphObject"):
        type("Broken", (VITAL_Node,), {"declared_properties": (prop("types", "urn:x:types", "uri"),)})


def test_unknown_class_keeps_its_class_and_properties():
    document = {
        "@id": "urn:doc:1",
        "@type": vocab.HALEY_KG + "KGDocument",
        vocab.VITAL_CORE + "hasName": [{"@value": "Doc", "@type": vocab.XSD_STRING}],
        vocab.HALEY_KG + "hasKGDocumentType": [{"@id": "urn:doctype:pdf"}],
        vocab.HALEY_KG + "hasKGDocumentTokenLength": [{"@value": 12, "@type": vocab.XSD_INTEGER}],
    }
    [doc] = GraphObject.from_jsonld(document)
    assert type(doc) is GraphObject
    assert doc.class_uri == vocab.HALEY_KG + "KGDocument"
    assert doc.get(vocab.HALEY_KG + "hasKGDocumentType") == IRI("urn:doctype:pdf")
    assert doc.get(vocab.HALEY_KG + "hasKGDocumentTokenLength") == 12
    assert doc.get(vocab.VITAL_CORE + "hasName") == "Doc"
    expected = dict(
        document,
        **{
            "@context": {},
            vocab.URI_PROP: [{"@id": "urn:doc:1"}],
            vocab.VITALTYPE: [{"@id": vocab.HALEY_KG + "KGDocument"}],
        },
    )
    assert doc.to_jsonld() == expected
    assert_round_trips(doc)


def test_plain_graph_object_needs_a_class_uri():
    with pytest.raises(TypeError, match="needs a class_uri"):
        GraphObject(URI="urn:x:1")
    obj = GraphObject(URI="urn:x:1", class_uri="http://example.org/Thing")
    obj.set("http://example.org/p", "v")
    assert obj.types == ["http://example.org/Thing"]
    assert_round_trips(obj)


def test_subclass_rejects_a_different_class_uri():
    with pytest.raises(TypeError, match="has class URI"):
        FileNode(URI="urn:f:1", class_uri=vocab.HALEY_KG + "KGEntity")


def test_vitaltype_decides_the_class_and_extra_types_are_kept():
    text = (
        f"<urn:e:1> <{vocab.RDF_TYPE}> <{vocab.HALEY_KG}KGNode> .\n"
        f"<urn:e:1> <{vocab.RDF_TYPE}> <http://example.org/Tagged> .\n"
        f"<urn:e:1> <{vocab.VITALTYPE}> <{vocab.HALEY_KG}KGEntity> .\n"
    )
    [entity] = GraphObject.from_ntriples(text)
    assert type(entity) is KGEntity
    assert entity.types == [KGEntity.class_uri, "http://example.org/Tagged", KGNode.class_uri]
    assert_round_trips(entity)
    assert entity.to_jsonld()["@type"] == entity.types
    assert entity.to_json()["types"] == entity.types


def test_most_specific_registered_type_wins_without_vitaltype():
    document = {"@id": "urn:e:1", "@type": [KGNode.class_uri, KGEntity.class_uri]}
    [entity] = GraphObject.from_jsonld(document)
    assert type(entity) is KGEntity


def test_blank_node_subjects_and_objects_round_trip():
    text = f"_:b1 <{vocab.RDF_TYPE}> <{vocab.VITAL}FileNode> .\n_:b1 <http://example.org/rel> _:b2 .\n"
    [node] = GraphObject.from_ntriples(text)
    assert node.URI == "_:b1" and node.get("http://example.org/rel") == IRI("_:b2")
    assert GraphObject.from_triples(node.to_triples()) == [node]


# --- unknown properties ---------------------------------------------------------------------

UNKNOWN_VALUES = {
    "string": "hello",
    "integer": 42,
    "big integer": 2**80,
    "double": 2.5,
    "boolean": False,
    "datetime": datetime(2026, 5, 17, 8, 30, tzinfo=timezone(timedelta(hours=2))),
    "iri": IRI("http://example.org/thing"),
    "language string": LangString("Hallo", "de"),
    "date": TypedLiteral("2026-05-17", vocab.XSD + "date"),
    "non-canonical integer": TypedLiteral("007", vocab.XSD_INTEGER),
    "xsd:long": TypedLiteral("12", vocab.XSD + "long"),
    "several": [IRI("urn:b"), "text", 3],
}


@pytest.mark.parametrize("label", sorted(UNKNOWN_VALUES))
def test_unknown_properties_survive_every_form(label):
    node = FileNode(URI="urn:f:1", fileName="a.txt")
    node.set("http://example.org/extra", UNKNOWN_VALUES[label])
    assert node.unknown_properties == {"http://example.org/extra": node.get("http://example.org/extra")}
    for form, read in all_round_trips(node).items():
        assert read.get("http://example.org/extra") == node.get("http://example.org/extra"), form
        assert read == node, form


def test_unknown_values_become_plain_python_only_when_lossless():
    node = FileNode(URI="urn:f:1")
    node.set("http://example.org/a", TypedLiteral("12", vocab.XSD_INTEGER))
    node.set("http://example.org/b", TypedLiteral("+12", vocab.XSD_INTEGER))
    assert node.get("http://example.org/a") == 12
    assert node.get("http://example.org/b") == TypedLiteral("+12", vocab.XSD_INTEGER)


def test_unknown_properties_in_flat_json_use_value_objects_when_needed():
    node = FileNode(URI="urn:f:1")
    node.set("http://example.org/iri", IRI("urn:x"))
    node.set("http://example.org/text", "plain")
    node.set("http://example.org/number", 3)
    node.set("http://example.org/date", TypedLiteral("2026-05-17", vocab.XSD + "date"))
    data = node.to_json()
    assert data["http://example.org/iri"] == {"@id": "urn:x"}
    assert data["http://example.org/text"] == "plain"
    assert data["http://example.org/number"] == 3
    assert data["http://example.org/date"] == {"@value": "2026-05-17", "@type": vocab.XSD + "date"}


def test_unknown_properties_from_ntriples_are_kept():
    text = (
        f"<urn:f:1> <{vocab.RDF_TYPE}> <{vocab.VITAL}FileNode> .\n"
        f'<urn:f:1> <http://example.org/note> "n1" .\n'
        f'<urn:f:1> <http://example.org/note> "n2"@en .\n'
    )
    [node] = GraphObject.from_ntriples(text)
    assert node.get("http://example.org/note") == ["n1", LangString("n2", "en")]
    source = {quad.triple for quad in ox.parse(text, format=ox.RdfFormat.N_TRIPLES)}
    subject = ox.NamedNode("urn:f:1")
    derived = {
        ox.Triple(subject, ox.NamedNode(vocab.VITALTYPE), ox.NamedNode(vocab.VITAL + "FileNode")),
        ox.Triple(subject, ox.NamedNode(vocab.URI_PROP), subject),
    }
    assert set(node.to_triples()) == source | derived


# --- multi-valued properties and lenient reading --------------------------------------------


def test_multi_valued_declared_property():
    entity = KGEntity(URI="urn:e:1", kGActionTypeList=["urn:b", "urn:a", "urn:b"])
    assert entity.kGActionTypeList == ["urn:a", "urn:b"]
    predicate = vocab.HALEY_KG + "hasKGActionTypeList"
    assert sorted(t.object.value for t in entity.to_triples() if t.predicate.value == predicate) == [
        "urn:a",
        "urn:b",
    ]
    assert_round_trips(entity)
    entity.kGActionTypeList = ["urn:c"]
    assert entity.kGActionTypeList == "urn:c"
    entity.kGActionTypeList = []
    assert entity.kGActionTypeList is None


def test_returned_lists_are_copies():
    entity = KGEntity(URI="urn:e:1", kGActionTypeList=["urn:a", "urn:b"])
    entity.kGActionTypeList.append("urn:c")
    assert entity.kGActionTypeList == ["urn:a", "urn:b"]


def test_lenient_reading_of_equivalent_datatypes():
    text = (
        f"<urn:f:1> <{vocab.RDF_TYPE}> <{vocab.VITAL}FileNode> .\n"
        f'<urn:f:1> <{vocab.VITAL}hasFileLength> "12"^^<{vocab.XSD}long> .\n'
        f'<urn:f:1> <{vocab.VITAL_CORE}hasTimestamp> "7"^^<{vocab.XSD}int> .\n'
        f'<urn:f:1> <{vocab.VITAL}hasFileName> "plain" .\n'
        f'<urn:f:1> <{vocab.VITAL}hasAccountURI> "urn:acct:1"^^<{vocab.XSD}anyURI> .\n'
        f'<urn:f:1> <{vocab.VITAL_CORE}isActive> "1"^^<{vocab.XSD_BOOLEAN}> .\n'
    )
    [node] = GraphObject.from_ntriples(text)
    assert node == FileNode(
        URI="urn:f:1", fileLength=12, timestamp=7, fileName="plain", accountURI="urn:acct:1", active=True
    )


def test_equivalent_values_in_different_datatypes_are_one_value():
    text = (
        f"<urn:f:1> <{vocab.RDF_TYPE}> <{vocab.VITAL}FileNode> .\n"
        f'<urn:f:1> <{vocab.VITAL}hasFileLength> "12"^^<{vocab.XSD}long> .\n'
        f'<urn:f:1> <{vocab.VITAL}hasFileLength> "12"^^<{vocab.XSD_INTEGER}> .\n'
    )
    [node] = GraphObject.from_ntriples(text)
    assert node.fileLength == 12


# --- equality -------------------------------------------------------------------------------


def test_equality_compares_uri_class_and_values():
    node = FileNode(URI="urn:f:1", fileName="a", fileLength=1)
    assert node == FileNode(URI="urn:f:1", fileLength=1, fileName="a")
    assert node != FileNode(URI="urn:f:2", fileName="a", fileLength=1)
    assert node != FileNode(URI="urn:f:1", fileName="a", fileLength=2)
    assert node != FileNode(URI="urn:f:1", fileName="a")
    assert node != GraphObject(URI="urn:f:1", class_uri="http://example.org/Other")
    assert node != "urn:f:1"


def test_iri_and_string_values_are_different():
    first, second = FileNode(URI="urn:f:1"), FileNode(URI="urn:f:1")
    first.set("http://example.org/p", "urn:x")
    second.set("http://example.org/p", IRI("urn:x"))
    assert first != second


def test_multi_value_order_does_not_matter():
    first, second = FileNode(URI="urn:f:1"), FileNode(URI="urn:f:1")
    first.set("http://example.org/p", ["b", "a", 1])
    second.set("http://example.org/p", [1, "a", "b"])
    assert first == second


def test_graph_objects_are_unhashable():
    with pytest.raises(TypeError):
        hash(FileNode(URI="urn:f:1"))


def test_naive_and_aware_datetimes_round_trip():
    for moment in (datetime(2026, 1, 2, 3, 4, 5, 123456), datetime(2026, 1, 2, tzinfo=UTC)):
        assert_round_trips(FileNode(URI="urn:f:1", expirationDate=moment))
    with pytest.raises(TypeError):
        FileNode(URI="urn:f:1", expirationDate=date(2026, 1, 2))


def test_flat_json_reads_properties_with_the_most_specific_class():
    data = {
        "URI": "urn:f:1",
        "types": [VITAL_Node.class_uri, FileNode.class_uri],
        vocab.VITAL + "hasExpirationDate": "2027-01-01T00:00:00+00:00",
    }
    node = GraphObject.from_json(data)
    assert type(node) is FileNode
    assert node.expirationDate == datetime(2027, 1, 1, tzinfo=UTC)
