"""Reading compacted JSON-LD (prefixes, term definitions, @vocab, aliases, @graph)."""

from __future__ import annotations

import json
from typing import Any

import pyoxigraph as ox

from vitalgraph.model import IRI, FileNode, GraphObject, KGEntity, LangString, vocab

CONTEXT_PREFIXES = {
    "vital": vocab.VITAL,
    "vital-core": vocab.VITAL_CORE,
    "haley": vocab.HALEY_KG,
    "xsd": vocab.XSD,
}


def oracle_objects(document: Any) -> list[GraphObject]:
    """What an independent JSON-LD processor (pyoxigraph's) makes of the document."""
    quads = ox.parse(json.dumps(document), format=ox.RdfFormat.JSON_LD)
    return GraphObject.from_triples(quads)


def assert_reads_as(document: Any, expected: list[GraphObject]) -> None:
    read = GraphObject.from_jsonld(document)
    assert read == expected
    assert oracle_objects(document) == expected


def test_prefix_map_with_typed_values(fixture_objects):
    document = {
        "@context": CONTEXT_PREFIXES,
        "@id": "http://example.org/space1/file/abc123",
        "@type": "vital:FileNode",
        "vital-core:hasName": "report.pdf",
        "vital:hasFileName": {"@value": "report.pdf", "@type": "xsd:string"},
        "vital:hasFileURL": "s3://bucket/space1/abc123",
        "vital:hasFileLength": {"@value": 1048576, "@type": "xsd:integer"},
        "vital:hasFileType": "application/pdf",
        "vital-core:hasTimestamp": 1767225600000,
        "vital-core:isActive": True,
        "vital:hasExpirationDate": {"@value": "2027-01-01T00:00:00+00:00", "@type": "xsd:dateTime"},
    }
    assert_reads_as(document, [fixture_objects["FileNode"]])


def test_term_definitions_and_keyword_aliases(fixture_objects):
    context = {
        **CONTEXT_PREFIXES,
        "id": "@id",
        "type": "@type",
        "name": "vital-core:hasName",
        "entityType": {"@id": "haley:hasKGEntityType", "@type": "@id"},
        "KGEntity": "haley:KGEntity",
    }
    document = {
        "@context": context,
        "id": "http://example.org/space1/org/acme",
        "type": "KGEntity",
        "name": "Acme Corp",
        "entityType": "haley:OrganizationEntity",
    }
    assert_reads_as(document, [fixture_objects["KGEntity"]])


def test_typed_terms_coerce_plain_values():
    context = {
        **CONTEXT_PREFIXES,
        "fileLength": {"@id": "vital:hasFileLength", "@type": "xsd:long"},
        "expires": {"@id": "vital:hasExpirationDate", "@type": "xsd:dateTime"},
    }
    document = {
        "@context": context,
        "@id": "urn:file:1",
        "@type": "vital:FileNode",
        "fileLength": "42",
        "expires": "2027-01-01T00:00:00Z",
    }
    [node] = GraphObject.from_jsonld(document)
    assert isinstance(node, FileNode)
    assert node.fileLength == 42
    assert node.expirationDate.isoformat() == "2027-01-01T00:00:00+00:00"


def test_vocab_and_type_list(fixture_objects):
    document = {
        "@context": {"@vocab": vocab.HALEY_KG, "vc": vocab.VITAL_CORE},
        "@id": "urn:frame:1",
        "@type": ["KGFrame"],
        "vc:hasName": "Acme documents",
        "hasKGFrameType": {"@id": "urn:kgtype:DocumentFrame"},
    }
    assert_reads_as(document, [fixture_objects["KGFrame"]])


def test_vocab_typed_terms_expand_values_against_vocab():
    document = {
        "@context": {"@vocab": vocab.HALEY_KG, "hasKGEntityType": {"@type": "@vocab"}},
        "@id": "urn:org:1",
        "@type": "KGEntity",
        "hasKGEntityType": "OrganizationEntity",
    }
    [entity] = GraphObject.from_jsonld(document)
    assert entity.kGEntityType == vocab.HALEY_KG + "OrganizationEntity"
    assert oracle_objects(document) == [entity]


def test_uri_property_given_as_plain_string_is_accepted():
    document = {
        "@context": CONTEXT_PREFIXES,
        "@id": "urn:slot:1",
        "@type": "haley:KGURISlot",
        "haley:hasUriSlotValue": "http://example.org/space1/file/abc123",
    }
    [slot] = GraphObject.from_jsonld(document)
    assert slot.uriSlotValue == "http://example.org/space1/file/abc123"
    assert IRI(slot.uriSlotValue) in [
        IRI(t.object.value) for t in slot.to_triples() if isinstance(t.object, ox.NamedNode)
    ]


def test_compacted_graph_with_shared_context(fixture_objects):
    context = {
        **CONTEXT_PREFIXES,
        "source": {"@id": "vital-core:hasEdgeSource", "@type": "@id"},
        "destination": {"@id": "vital-core:hasEdgeDestination", "@type": "@id"},
        "slotValue": {"@id": "haley:hasUriSlotValue", "@type": "@id"},
        "slotType": {"@id": "haley:hasKGSlotType", "@type": "@id"},
    }
    document = {
        "@context": context,
        "@graph": [
            {
                "@id": "urn:slot:1",
                "@type": "haley:KGURISlot",
                "slotType": "urn:kgtype:DocumentFileURISlot",
                "slotValue": "http://example.org/space1/file/abc123",
            },
            {
                "@id": "urn:edge:2",
                "@type": "haley:Edge_hasKGSlot",
                "source": "urn:frame:1",
                "destination": "urn:slot:1",
            },
        ],
    }
    assert_reads_as(document, [fixture_objects["KGURISlot"], fixture_objects["Edge_hasKGSlot"]])


def test_array_of_objects_each_with_own_context(fixture_objects):
    document = [
        {
            "@context": {"h": vocab.HALEY_KG, "c": vocab.VITAL_CORE},
            "@id": "urn:frame:1",
            "@type": "h:KGFrame",
            "c:hasName": "Acme documents",
            "h:hasKGFrameType": {"@id": "urn:kgtype:DocumentFrame"},
        },
        fixture_objects["KGEntity"].to_jsonld(),
    ]
    assert GraphObject.from_jsonld(document) == [fixture_objects["KGFrame"], fixture_objects["KGEntity"]]


def test_graph_without_context():
    [node] = GraphObject.from_jsonld({"@graph": [FileNode(URI="urn:f:1", fileLength=3).to_jsonld()]})
    assert node == FileNode(URI="urn:f:1", fileLength=3)


def test_nested_context_overrides_prefix():
    document = {
        "@context": {"p": "http://wrong.example/"},
        "@graph": [
            {"@context": {"p": vocab.VITAL}, "@id": "urn:f:1", "@type": "p:FileNode", "p:hasFileName": "a"}
        ],
    }
    [node] = GraphObject.from_jsonld(document)
    assert isinstance(node, FileNode) and node.fileName == "a"


def test_base_resolves_relative_ids():
    document = {
        "@context": {"@base": "http://example.org/space1/", "v": vocab.VITAL},
        "@id": "file/abc",
        "@type": "v:FileNode",
    }
    [node] = GraphObject.from_jsonld(document)
    assert node.URI == "http://example.org/space1/file/abc"
    assert oracle_objects(document) == [node]


def test_embedded_node_is_flattened_and_referenced():
    document = {
        "@context": {"h": vocab.HALEY_KG, "c": vocab.VITAL_CORE},
        "@id": "urn:org:1",
        "@type": "h:KGEntity",
        "h:hasKGEntityType": {"@id": "urn:type:org", "@type": "h:KGEntityType", "c:hasName": "Organization"},
    }
    entity, entity_type = GraphObject.from_jsonld(document)
    assert isinstance(entity, KGEntity) and entity.kGEntityType == "urn:type:org"
    assert entity_type.URI == "urn:type:org" and entity_type.name == "Organization"
    assert sorted(oracle_objects(document), key=lambda o: o.URI) == [entity, entity_type]


def test_language_tagged_values_are_kept():
    document = {
        "@context": {
            "c": vocab.VITAL_CORE,
            "label": {"@id": "http://example.org/label", "@language": "de"},
            "@language": "en",
        },
        "@id": "urn:f:1",
        "@type": vocab.VITAL + "FileNode",
        "c:hasName": "report",
        "label": "Bericht",
    }
    [node] = GraphObject.from_jsonld(document)
    assert node.name == LangString("report", "en")
    assert node.get("http://example.org/label") == LangString("Bericht", "de")
    assert oracle_objects(document) == [node]
    assert GraphObject.from_jsonld(node.to_jsonld()) == [node]


def test_null_values_and_index_are_ignored():
    document = {
        "@id": "urn:f:1",
        "@type": vocab.VITAL + "FileNode",
        "@index": "x",
        vocab.VITAL + "hasFileName": None,
        vocab.VITAL + "hasFileType": [None, "text/plain"],
    }
    [node] = GraphObject.from_jsonld(document)
    assert node == FileNode(URI="urn:f:1", fileType="text/plain")


def test_duplicate_node_objects_merge():
    document = [
        {"@id": "urn:f:1", "@type": vocab.VITAL + "FileNode", vocab.VITAL + "hasFileName": "a"},
        {"@id": "urn:f:1", vocab.VITAL + "hasFileType": "text/plain"},
    ]
    assert GraphObject.from_jsonld(document) == [FileNode(URI="urn:f:1", fileName="a", fileType="text/plain")]


def test_set_container_and_set_objects():
    context = {"v": vocab.VITAL, "names": {"@id": "http://example.org/names", "@container": "@set"}}
    document = {
        "@context": context,
        "@id": "urn:f:1",
        "@type": "v:FileNode",
        "names": ["b", "a"],
        "http://example.org/more": {"@set": [1, 2]},
    }
    [node] = GraphObject.from_jsonld(document)
    assert node.get("http://example.org/names") == ["a", "b"]
    assert node.get("http://example.org/more") == [1, 2]
    assert oracle_objects(document) == [node]
