"""Property-based round trips: random declared values and random unknown properties."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pyoxigraph as ox
from hypothesis import given, settings
from hypothesis import strategies as st

from vitalgraph.model import IRI, FileNode, GraphObject, KGEntity, LangString, TypedLiteral, vocab

# Lone surrogates cannot be encoded as UTF-8, so no RDF syntax can carry them.
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
iris = st.from_regex(r"(http://example\.org/|urn:x:)[a-z0-9_]{1,12}", fullmatch=True)
moments = st.datetimes(
    min_value=datetime(1000, 1, 1),
    max_value=datetime(9999, 12, 31),
    timezones=st.none()
    | st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]),
)
longs = st.integers(min_value=-(2**63), max_value=2**63 - 1)
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
language_tags = st.from_regex(r"[a-z]{2}(-[A-Z]{2})?", fullmatch=True)

unknown_scalars = st.one_of(
    text,
    st.integers(),
    finite_floats,
    st.booleans(),
    moments,
    iris.map(IRI),
    st.builds(LangString, text, language_tags),
    st.builds(
        TypedLiteral,
        st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True),
        st.just(vocab.XSD + "date"),
    ),
)
unknown_values = unknown_scalars | st.lists(unknown_scalars, min_size=2, max_size=4)
unknown_predicates = st.from_regex(r"http://example\.org/prop/[a-zA-Z][a-zA-Z0-9]{0,10}", fullmatch=True)


@st.composite
def file_nodes(draw) -> FileNode:
    node = FileNode(URI=draw(iris))
    optional = {
        "name": text,
        "fileName": text,
        "fileURL": text,
        "fileType": text,
        "sha256": text,
        "blobKey": text,
        "fileLength": longs,
        "timestamp": longs,
        "contentUpdateTime": longs,
        "active": st.booleans(),
        "expirationDate": moments,
        "accountURI": iris,
    }
    for name, strategy in optional.items():
        setattr(node, name, draw(st.none() | strategy))
    for predicate, value in draw(st.dictionaries(unknown_predicates, unknown_values, max_size=4)).items():
        node.set(predicate, value)
    return node


@st.composite
def entities(draw) -> KGEntity:
    entity = KGEntity(URI=draw(iris), name=draw(text), kGEntityType=draw(iris))
    entity.kGActionTypeList = draw(st.lists(iris, max_size=3))
    entity.kGGraphAssertionDateTime = draw(st.none() | moments)
    for predicate, value in draw(st.dictionaries(unknown_predicates, unknown_values, max_size=3)).items():
        entity.set(predicate, value)
    return entity


graph_objects = file_nodes() | entities()


@settings(max_examples=150, deadline=None)
@given(graph_objects)
def test_jsonld_round_trip_through_text(obj):
    assert GraphObject.from_jsonld(json.dumps(obj.to_jsonld())) == [obj]


@settings(max_examples=150, deadline=None)
@given(graph_objects)
def test_flat_json_round_trip_through_text(obj):
    assert GraphObject.from_json(json.loads(json.dumps(obj.to_json()))) == obj


@settings(max_examples=150, deadline=None)
@given(graph_objects)
def test_triples_and_ntriples_round_trip(obj):
    assert GraphObject.from_triples(obj.to_triples()) == [obj]
    assert GraphObject.from_ntriples(obj.to_ntriples()) == [obj]


@settings(max_examples=100, deadline=None)
@given(graph_objects)
def test_our_jsonld_means_the_same_triples_to_an_independent_parser(obj):
    oracle = {quad.triple for quad in ox.parse(json.dumps(obj.to_jsonld()), format=ox.RdfFormat.JSON_LD)}
    assert oracle == set(obj.to_triples())


@settings(max_examples=50, deadline=None)
@given(st.lists(graph_objects, min_size=1, max_size=4, unique_by=lambda o: o.URI))
def test_list_forms_round_trip(objects):
    assert GraphObject.from_jsonld(GraphObject.list_to_jsonld(objects)) == objects
    assert GraphObject.from_ntriples(GraphObject.list_to_ntriples(objects)) == objects


@settings(max_examples=100, deadline=None)
@given(file_nodes(), st.sampled_from(["v", "vital", "p1"]))
def test_compacted_with_prefixes_reads_back(node, prefix):
    """Compact the expanded form with a prefix for the vital namespace; reading expands it back."""
    expanded = node.to_jsonld()
    compacted = {"@context": {prefix: vocab.VITAL}}
    for key, value in expanded.items():
        if key == "@context":
            continue
        if key.startswith(vocab.VITAL):
            key = f"{prefix}:{key[len(vocab.VITAL) :]}"
        if key == "@type" and value.startswith(vocab.VITAL):
            value = f"{prefix}:{value[len(vocab.VITAL) :]}"
        compacted[key] = value
    assert GraphObject.from_jsonld(compacted) == [node]
