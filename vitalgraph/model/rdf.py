"""Records <-> pyoxigraph triples and N-Triples text."""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox

from vitalgraph.errors import InvalidInputError
from vitalgraph.model import vocab
from vitalgraph.model.records import NodeRecord
from vitalgraph.model.values import IRI, LangString, Term, TypedLiteral

_BLANK_PREFIX = "_:"


def record_to_triples(record: NodeRecord) -> list[ox.Triple]:
    subject = _resource(record.id)
    rdf_type = ox.NamedNode(vocab.RDF_TYPE)
    triples = [ox.Triple(subject, rdf_type, _resource(type_uri)) for type_uri in record.types]
    for predicate, terms in record.properties.items():
        predicate_node = ox.NamedNode(predicate)
        triples.extend(ox.Triple(subject, predicate_node, _to_oxigraph(term)) for term in terms)
    return triples


def records_from_triples(triples: Iterable[ox.Triple | ox.Quad]) -> list[NodeRecord]:
    """Group triples (or quads, graph ignored) by subject, in first-seen order. rdf:type stays a
    property here."""
    records: dict[str, NodeRecord] = {}
    for triple in triples:
        if not isinstance(triple, (ox.Triple, ox.Quad)):
            raise InvalidInputError(f"expected pyoxigraph triples or quads, got {type(triple).__name__}")
        subject = _subject_id(triple.subject)
        record = records.get(subject)
        if record is None:
            record = records[subject] = NodeRecord(subject)
        predicate = triple.predicate.value
        record.add(predicate, _from_oxigraph(subject, predicate, triple.object))
    return list(records.values())


def serialize_ntriples(triples: Iterable[ox.Triple]) -> str:
    return ox.serialize(list(triples), format=ox.RdfFormat.N_TRIPLES).decode("utf-8")


def parse_ntriples(text: str | bytes) -> list[ox.Triple]:
    try:
        return [quad.triple for quad in ox.parse(text, format=ox.RdfFormat.N_TRIPLES)]
    except SyntaxError as err:
        raise InvalidInputError(f"invalid N-Triples: {err}") from None


def _resource(identifier: str) -> ox.NamedNode | ox.BlankNode:
    if identifier.startswith(_BLANK_PREFIX):
        return ox.BlankNode(identifier[len(_BLANK_PREFIX) :])
    try:
        return ox.NamedNode(identifier)
    except ValueError as err:
        raise InvalidInputError(f"invalid IRI {identifier!r}: {err}") from None


def _to_oxigraph(term: Term) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, IRI):
        return _resource(term.value)
    if isinstance(term, LangString):
        return ox.Literal(term.text, language=term.language)
    return ox.Literal(term.lexical, datatype=ox.NamedNode(term.datatype))


def _subject_id(subject: object) -> str:
    if isinstance(subject, ox.NamedNode):
        return subject.value
    if isinstance(subject, ox.BlankNode):
        return _BLANK_PREFIX + subject.value
    raise InvalidInputError(f"unsupported triple subject {subject}")


def _from_oxigraph(subject: str, predicate: str, node: object) -> Term:
    if isinstance(node, (ox.NamedNode, ox.BlankNode)):
        return IRI(_subject_id(node))
    if isinstance(node, ox.Literal):
        if node.language:
            return LangString(node.value, node.language)
        return TypedLiteral(node.value, node.datatype.value)
    raise InvalidInputError(f"object {subject}: property {predicate}: unsupported value {node}")
