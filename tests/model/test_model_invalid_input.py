"""Bad input is refused with InvalidInputError, and the message says where."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from vitalgraph.errors import InvalidInputError, VitalGraphError
from vitalgraph.model import FileNode, GraphObject, KGEntity, vocab

FILE_NODE = vocab.VITAL + "FileNode"
FILE_LENGTH = vocab.VITAL + "hasFileLength"
XSD_INTEGER = vocab.XSD_INTEGER


def file_node_jsonld(**properties):
    return {"@id": "urn:f:1", "@type": FILE_NODE, **properties}


def test_invalid_input_error_is_a_vitalgraph_error():
    assert issubclass(InvalidInputError, VitalGraphError)


# --- JSON-LD structure ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "document, message",
    [
        (42, "must be an object or an array"),
        ("not json {", "invalid JSON"),
        ([1], "items must be objects"),
        ({"@type": FILE_NODE}, "without @id"),
        ({"@id": 7, "@type": FILE_NODE}, "@id must be a string"),
        ({"@id": ["urn:a"], "@type": FILE_NODE}, "@id must be a string"),
        ({"@id": "urn:f:1"}, "object urn:f:1 has no type"),
        ({"@graph": [{"@type": FILE_NODE}]}, "without @id"),
        ({"@id": "urn:g", "@graph": []}, "named graphs are not supported"),
        ({"@context": "http://schema.org/", "@id": "urn:f:1"}, "remote @context"),
        ({"@context": 5, "@id": "urn:f:1"}, "@context must be"),
        ({"@id": "relative/id", "@type": FILE_NODE}, "cannot expand 'relative/id'"),
        ({"@id": "urn:f:1", "@type": 3}, "@type values must be strings"),
        ({"@id": "urn:f:1", "@type": FILE_NODE, "@reverse": {}}, "object urn:f:1: '@reverse'"),
    ],
)
def test_malformed_jsonld_documents(document, message):
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        GraphObject.from_jsonld(document)


def test_unresolvable_prefix_in_type_names_object_and_prefix():
    with pytest.raises(InvalidInputError) as caught:
        GraphObject.from_jsonld({"@id": "urn:f:1", "@type": "vital:FileNode"})
    assert "urn:f:1" in str(caught.value) and "unresolvable prefix 'vital'" in str(caught.value)


def test_unresolvable_prefix_in_property_names_object_and_property():
    document = {
        "@context": {"v": vocab.VITAL},
        "@id": "urn:f:1",
        "@type": "v:FileNode",
        "vitl:hasFileName": "a",
    }
    with pytest.raises(InvalidInputError) as caught:
        GraphObject.from_jsonld(document)
    message = str(caught.value)
    assert (
        "object urn:f:1" in message and "'vitl:hasFileName'" in message and "unresolvable prefix" in message
    )


def test_unresolvable_prefix_in_id_value():
    document = {
        "@context": {"c": vocab.VITAL_CORE},
        "@id": "urn:e:1",
        "@type": FILE_NODE,
        "c:hasProvenance": {"@id": "nope:x"},
    }
    with pytest.raises(InvalidInputError, match=r"object urn:e:1: property .*hasProvenance.*'nope'"):
        GraphObject.from_jsonld(document)


def test_undefined_term_without_vocab_is_refused_not_dropped():
    with pytest.raises(InvalidInputError, match=r"object urn:f:1: property 'fileName'.*cannot expand"):
        GraphObject.from_jsonld(file_node_jsonld(fileName="a"))


def test_term_mapped_to_null_is_refused():
    document = {"@context": {"skip": None}, **file_node_jsonld(skip="a")}
    with pytest.raises(InvalidInputError, match="mapped to null"):
        GraphObject.from_jsonld(document)


@pytest.mark.parametrize(
    "value, message",
    [
        ({"@list": [1, 2]}, "@list values are not supported"),
        ({"@value": 1, "@type": XSD_INTEGER, "@language": "en"}, "both @type and @language"),
        ({"@value": {"x": 1}}, "expected a JSON string, number or boolean"),
        ({"@value": "x", "@foo": 1}, "unknown keyword '@foo'"),
        ([[1]], "nested arrays"),
    ],
)
def test_malformed_values_name_object_and_property(value, message):
    document = file_node_jsonld(**{"http://example.org/p": value})
    with pytest.raises(InvalidInputError) as caught:
        GraphObject.from_jsonld(document)
    assert "object urn:f:1: property http://example.org/p" in str(caught.value)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "context_entry, message",
    [
        ({"t": {"@id": "http://x/t", "@container": "@list"}}, "@container"),
        ({"t": {"@id": "http://x/t", "@type": "@json"}}, "type mapping '@json'"),
        ({"t": {"@id": 5}}, "@id must be a string"),
        ({"t": 5}, "term definition must be"),
        ({"@import": "http://x/ctx"}, "'@import' is not supported"),
    ],
)
def test_unsupported_context_features(context_entry, message):
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        GraphObject.from_jsonld({"@context": context_entry, **file_node_jsonld()})


# --- typed values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        {"@value": "abc", "@type": XSD_INTEGER},
        {"@value": 5.5, "@type": XSD_INTEGER},
        {"@value": True, "@type": XSD_INTEGER},
        5.5,
        "5",
        True,
        {"@id": "urn:x"},
        {"@value": "5", "@language": "en"},
    ],
)
def test_non_integer_for_long_property(value):
    with pytest.raises(InvalidInputError) as caught:
        GraphObject.from_jsonld(file_node_jsonld(**{FILE_LENGTH: value}))
    message = str(caught.value)
    assert "object urn:f:1" in message and FILE_LENGTH in message and "fileLength" in message


@pytest.mark.parametrize(
    "property_uri, value, expected",
    [
        (vocab.VITAL_CORE + "isActive", "yes", "expected a boolean literal"),
        (vocab.VITAL_CORE + "isActive", {"@value": "yes", "@type": vocab.XSD_BOOLEAN}, "not a boolean"),
        (
            vocab.VITAL + "hasExpirationDate",
            {"@value": "tomorrow", "@type": vocab.XSD_DATETIME},
            "xsd:dateTime",
        ),
        (vocab.VITAL + "hasExpirationDate", "2027-01-01T00:00:00Z", "expected a datetime literal"),
        (vocab.VITAL + "hasFileName", 5, "expected a string literal"),
        (vocab.VITAL + "hasAccountURI", 5, "expected a URI"),
    ],
)
def test_wrong_value_types(property_uri, value, expected):
    with pytest.raises(InvalidInputError) as caught:
        GraphObject.from_jsonld(file_node_jsonld(**{property_uri: value}))
    assert "object urn:f:1" in str(caught.value) and property_uri in str(caught.value)
    assert expected in str(caught.value)


def test_uri_prop_must_match_the_object_uri():
    document = file_node_jsonld(**{vocab.URI_PROP: {"@id": "urn:other"}})
    with pytest.raises(InvalidInputError, match=r"object urn:f:1: property .*URIProp.*differs"):
        GraphObject.from_jsonld(document)


def test_conflicting_vitaltypes():
    document = file_node_jsonld(**{vocab.VITALTYPE: [{"@id": FILE_NODE}, {"@id": KGEntity.class_uri}]})
    with pytest.raises(InvalidInputError, match="several vitaltype values"):
        GraphObject.from_jsonld(document)


def test_literal_rdf_type_is_refused():
    document = {"@id": "urn:f:1", vocab.RDF_TYPE: "FileNode"}
    with pytest.raises(InvalidInputError, match="types must be IRIs"):
        GraphObject.from_jsonld(document)


# --- flat JSON ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, message",
    [
        ([], "must be an object"),
        ({"type": FILE_NODE}, 'without a "URI"'),
        ({"URI": "", "type": FILE_NODE}, 'without a "URI"'),
        ({"URI": "urn:f:1"}, "object urn:f:1 has no type"),
        ({"URI": "urn:f:1", "type": 5}, "must hold URI strings"),
        ({"URI": "urn:f:1", "type": FILE_NODE, "fileName": "a"}, "'fileName' is not a property URI"),
        ({"URI": "urn:f:1", "type": FILE_NODE, FILE_LENGTH: "12"}, "expected a long literal"),
        ({"URI": "urn:f:1", "type": FILE_NODE, FILE_LENGTH: 1.5}, "expected a long literal"),
        ({"URI": "urn:f:1", "type": FILE_NODE, vocab.VITAL + "hasExpirationDate": "soon"}, "xsd:dateTime"),
        ({"URI": "urn:f:1", "type": FILE_NODE, "http://x/p": {"a": 1}}, "unsupported value object"),
        ({"URI": "urn:f:1", "type": FILE_NODE, "http://x/p": [[1]]}, "expected a JSON string"),
    ],
)
def test_malformed_flat_json(data, message):
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        GraphObject.from_json(data)


def test_flat_json_error_names_object_and_property():
    with pytest.raises(InvalidInputError) as caught:
        GraphObject.from_json({"URI": "urn:f:9", "type": FILE_NODE, FILE_LENGTH: "12"})
    assert "object urn:f:9" in str(caught.value) and FILE_LENGTH in str(caught.value)


def test_subclass_from_json_refuses_other_classes():
    with pytest.raises(InvalidInputError, match="not a KGEntity"):
        KGEntity.from_json({"URI": "urn:f:1", "type": FILE_NODE})


# --- RDF ------------------------------------------------------------------------------------


def test_ntriples_syntax_error():
    with pytest.raises(InvalidInputError, match="invalid N-Triples"):
        GraphObject.from_ntriples("<urn:a> <urn:p> .\n")


def test_subject_without_type_in_triples():
    with pytest.raises(InvalidInputError, match="object urn:a has no type"):
        GraphObject.from_ntriples('<urn:a> <urn:p> "x" .\n')


def test_from_triples_rejects_non_triples():
    with pytest.raises(InvalidInputError, match="expected pyoxigraph triples"):
        GraphObject.from_triples(["<urn:a> <urn:p> <urn:b> ."])


def test_ntriples_bad_datatype_value_names_object():
    text = (
        f'<urn:f:1> <{vocab.RDF_TYPE}> <{FILE_NODE}> .\n<urn:f:1> <{FILE_LENGTH}> "big"^^<{XSD_INTEGER}> .\n'
    )
    with pytest.raises(InvalidInputError, match=r"object urn:f:1: property .*hasFileLength \(fileLength\)"):
        GraphObject.from_ntriples(text)


# --- assignments in Python ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, value, error",
    [
        ("fileLength", "5", TypeError),
        ("fileLength", True, TypeError),
        ("fileLength", 5.0, TypeError),
        ("active", 1, TypeError),
        ("fileName", 5, TypeError),
        ("expirationDate", "not a date", ValueError),
        ("expirationDate", 1767225600000, TypeError),
        ("accountURI", "", ValueError),
        ("accountURI", 5, TypeError),
    ],
)
def test_assigning_wrong_types_fails(name, value, error):
    node = FileNode(URI="urn:f:1")
    with pytest.raises(error, match=f"FileNode property {name}"):
        setattr(node, name, value)
    assert node.get(name) is None


def test_undeclared_attribute_names_are_refused():
    node = FileNode(URI="urn:f:1")
    with pytest.raises(AttributeError, match="has no property 'fileSize'"):
        node.fileSize = 5
    with pytest.raises(TypeError, match="has no property 'fileSize'"):
        FileNode(URI="urn:f:1", fileSize=5)
    with pytest.raises(KeyError, match="use the full property URI"):
        node.set("fileSize", 5)


def test_structural_properties_cannot_be_set():
    node = FileNode(URI="urn:f:1")
    for uri in (vocab.VITALTYPE, vocab.URI_PROP, vocab.RDF_TYPE):
        with pytest.raises(ValueError, match="derived from the object's URI and class"):
            node.set(uri, "urn:x")


def test_uri_must_be_a_non_empty_string():
    node = FileNode(URI="urn:f:1")
    with pytest.raises(TypeError):
        node.URI = ""
    with pytest.raises(TypeError):
        FileNode(URI=5)


def test_unknown_values_of_unsupported_python_types():
    node = FileNode(URI="urn:f:1")
    with pytest.raises(TypeError, match="unsupported property value type"):
        node.set("http://example.org/p", {"a": 1})
    with pytest.raises(TypeError, match="unsupported property value type"):
        node.set("http://example.org/p", datetime.now().date())
