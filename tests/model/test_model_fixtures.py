"""Conformance with the golden VitalSigns fixtures: same triples, same JSON-LD, same JSON."""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest

from vitalgraph.model import (
    Edge_hasEntityKGFrame,
    Edge_hasKGDocumentFileNode,
    Edge_hasKGSlot,
    FileNode,
    GraphObject,
    KGEntity,
    KGEntityType,
    KGFrame,
    KGURISlot,
    vocab,
)

FIXTURE_CLASSES = {
    "FileNode": FileNode,
    "KGEntity": KGEntity,
    "KGEntityType": KGEntityType,
    "KGFrame": KGFrame,
    "KGURISlot": KGURISlot,
    "Edge_hasEntityKGFrame": Edge_hasEntityKGFrame,
    "Edge_hasKGSlot": Edge_hasKGSlot,
    "Edge_hasKGDocumentFileNode": Edge_hasKGDocumentFileNode,
}
NAMES = sorted(FIXTURE_CLASSES)


def test_every_fixture_class_is_covered(fixtures_dir):
    on_disk = {path.stem for path in fixtures_dir.glob("*.nt")}
    assert on_disk == set(FIXTURE_CLASSES)


@pytest.mark.parametrize("name", NAMES)
def test_built_object_has_the_fixture_triples(name, fixture_objects, load_nt_triples):
    built = fixture_objects[name]
    assert set(built.to_triples()) == load_nt_triples(f"{name}.nt")


@pytest.mark.parametrize("name", NAMES)
def test_built_object_ntriples_text_parses_to_fixture_triples(name, fixture_objects, load_nt_triples):
    text = fixture_objects[name].to_ntriples()
    parsed = {quad.triple for quad in ox.parse(text, format=ox.RdfFormat.N_TRIPLES)}
    assert parsed == load_nt_triples(f"{name}.nt")


@pytest.mark.parametrize("name", NAMES)
def test_writing_jsonld_reproduces_fixture(name, fixture_objects, load_json):
    assert fixture_objects[name].to_jsonld() == load_json(f"{name}.jsonld")


@pytest.mark.parametrize("name", NAMES)
def test_writing_json_reproduces_fixture(name, fixture_objects, load_json):
    assert fixture_objects[name].to_json() == load_json(f"{name}.json")


@pytest.mark.parametrize("name", NAMES)
def test_reading_jsonld_fixture_gives_built_object(name, fixture_objects, load_json):
    [read] = GraphObject.from_jsonld(load_json(f"{name}.jsonld"))
    assert type(read) is FIXTURE_CLASSES[name]
    assert read == fixture_objects[name]
    assert read.unknown_properties == {}  # every fixture property is declared


@pytest.mark.parametrize("name", NAMES)
def test_reading_jsonld_fixture_text_gives_built_object(name, fixture_objects, fixtures_dir):
    text = (fixtures_dir / f"{name}.jsonld").read_text(encoding="utf-8")
    assert GraphObject.from_jsonld(text) == [fixture_objects[name]]


@pytest.mark.parametrize("name", NAMES)
def test_reading_json_fixture_gives_built_object(name, fixture_objects, load_json):
    read = GraphObject.from_json(load_json(f"{name}.json"))
    assert type(read) is FIXTURE_CLASSES[name]
    assert read == fixture_objects[name]
    assert read.unknown_properties == {}


@pytest.mark.parametrize("name", NAMES)
def test_subclass_from_json_returns_that_class(name, load_json):
    cls = FIXTURE_CLASSES[name]
    assert isinstance(cls.from_json(load_json(f"{name}.json")), cls)


@pytest.mark.parametrize("name", NAMES)
def test_reading_ntriples_fixture_gives_built_object(name, fixture_objects, fixtures_dir):
    text = (fixtures_dir / f"{name}.nt").read_text(encoding="utf-8")
    [read] = GraphObject.from_ntriples(text)
    assert type(read) is FIXTURE_CLASSES[name]
    assert read == fixture_objects[name]


@pytest.mark.parametrize("name", NAMES)
def test_reading_fixture_triples_and_quads(name, fixture_objects, load_nt_triples):
    triples = load_nt_triples(f"{name}.nt")
    quads = [ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode("urn:graph:g")) for t in triples]
    assert GraphObject.from_triples(triples) == [fixture_objects[name]]
    assert GraphObject.from_triples(quads) == [fixture_objects[name]]


@pytest.mark.parametrize("name", NAMES)
def test_declared_properties_match_vitalsigns_tables(name, property_tables):
    """Every row we declare has the URI and kind VitalSigns gives it (VG rows excepted)."""
    cls = FIXTURE_CLASSES[name]
    table = property_tables[name]
    assert cls.class_uri == table["class_uri"]
    for spec in cls.property_specs.values():
        if spec.uri.startswith(vocab.VG):
            continue
        assert table["properties"][spec.name] == [spec.uri, spec.kind.value], spec.name


@pytest.mark.parametrize("name", NAMES)
def test_all_vitalsigns_properties_of_the_class_are_declared(name, property_tables):
    structural = {"types", "vitaltype"}  # derived from the class, not stored as values
    expected = set(property_tables[name]["properties"]) - structural
    assert expected <= set(FIXTURE_CLASSES[name].property_specs)


def test_class_hierarchy_follows_vitalsigns(property_tables):
    for name, cls in FIXTURE_CLASSES.items():
        parent_name = property_tables[name]["parent"]
        assert parent_name in {base.__name__ for base in cls.__mro__[1:]}, name


def test_file_node_vitalgraph_properties():
    specs = FileNode.property_specs
    assert (specs["sha256"].uri, specs["sha256"].kind.value) == (vocab.VG + "hasFileSHA256", "string")
    assert (specs["blobKey"].uri, specs["blobKey"].kind.value) == (vocab.VG + "hasBlobKey", "string")
    assert (specs["contentUpdateTime"].uri, specs["contentUpdateTime"].kind.value) == (
        vocab.VG + "hasContentUpdateTime",
        "long",
    )


def test_there_is_no_edge_has_kg_entity_file_class():
    import vitalgraph.model as model

    assert not hasattr(model, "Edge_hasKGEntityFile")
    assert GraphObject.class_for_uri(vocab.HALEY_KG + "Edge_hasKGEntityFile") is None


# --- the list graph ---------------------------------------------------------------------------


@pytest.fixture
def org_graph(load_json):
    return load_json("org_with_file.jsonld")


def test_org_graph_reads_into_the_right_classes(org_graph, fixture_objects):
    objects = GraphObject.from_jsonld(org_graph)
    assert [type(obj).__name__ for obj in objects] == [
        "FileNode",
        "KGEntity",
        "KGEntityType",
        "KGFrame",
        "KGURISlot",
        "Edge_hasEntityKGFrame",
        "Edge_hasKGSlot",
        "Edge_hasKGDocumentFileNode",
    ]
    assert {obj.URI: obj for obj in objects} == {obj.URI: obj for obj in fixture_objects.values()}


def test_org_graph_attachment_path_leads_to_the_file(org_graph):
    objects = {obj.URI: obj for obj in GraphObject.from_jsonld(org_graph)}
    edges = [obj for obj in objects.values() if obj.get(vocab.VITAL_CORE + "hasEdgeSource")]

    def follow(source_uri: str, edge_class: type) -> GraphObject:
        [edge] = [e for e in edges if isinstance(e, edge_class) and e.edgeSource == source_uri]
        return objects[edge.edgeDestination]

    entity = objects["http://example.org/space1/org/acme"]
    assert isinstance(entity, KGEntity)
    assert objects[entity.kGEntityType].name == "Organization"
    frame = follow(entity.URI, Edge_hasEntityKGFrame)
    assert isinstance(frame, KGFrame)
    slot = follow(frame.URI, Edge_hasKGSlot)
    assert isinstance(slot, KGURISlot)
    file_node = objects[slot.uriSlotValue]
    assert isinstance(file_node, FileNode)
    assert (file_node.fileName, file_node.fileLength) == ("report.pdf", 1048576)


def test_list_to_jsonld_reproduces_org_graph(org_graph, fixture_objects):
    order = [
        "FileNode",
        "KGEntity",
        "KGEntityType",
        "KGFrame",
        "KGURISlot",
        "Edge_hasEntityKGFrame",
        "Edge_hasKGSlot",
        "Edge_hasKGDocumentFileNode",
    ]
    written = GraphObject.list_to_jsonld(fixture_objects[name] for name in order)
    assert written == org_graph
    assert json.loads(json.dumps(written)) == org_graph


def test_org_graph_as_triples_round_trips(org_graph):
    objects = GraphObject.from_jsonld(org_graph)
    assert GraphObject.from_ntriples(GraphObject.list_to_ntriples(objects)) == objects
    assert GraphObject.from_triples(GraphObject.list_to_triples(objects)) == objects


def test_org_graph_matches_an_independent_jsonld_parser(org_graph):
    """pyoxigraph's own JSON-LD parser sees the same triples we write."""
    oracle = {quad.triple for quad in ox.parse(json.dumps(org_graph), format=ox.RdfFormat.JSON_LD)}
    objects = GraphObject.from_jsonld(org_graph)
    assert set(GraphObject.list_to_triples(objects)) == oracle
