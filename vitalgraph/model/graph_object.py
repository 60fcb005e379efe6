"""`GraphObject`: a light, VitalSigns-compatible graph object.

An object is a URI, a class URI and property values keyed by property URI. Each subclass
declares a property table (`declared_properties`), inherited by its subclasses; declared
properties are typed attributes (`node.fileLength = 5`). Any other property URI is still
kept (`obj.set(uri, value)`, `obj.unknown_properties`) and round-trips through every form.

Serialised forms (all produce/accept exactly what VitalSigns does):
JSON-LD (`to_jsonld`/`from_jsonld`), flat VitalSigns JSON (`to_json`/`from_json`),
pyoxigraph triples (`to_triples`/`from_triples`) and N-Triples (`to_ntriples`/`from_ntriples`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

import pyoxigraph as ox

from vitalgraph.errors import InvalidInputError
from vitalgraph.model import flat_json, jsonld, rdf, vocab
from vitalgraph.model.properties import PropertyKind, PropertySpec
from vitalgraph.model.records import NodeRecord
from vitalgraph.model.values import IRI, Term, TypedLiteral, decode, describe, encode, normalize, sort_key

G = TypeVar("G", bound="GraphObject")

# The longest URI the server stores, in UTF-8 bytes: what every route can address. Routes take URIs as
# query parameters, percent-encoded (3 characters a byte), so a request naming two of the longest
# (attaching a file to an entity) is under 25 KB and fits any client's and the server's URL limit
# (httpx allows 64 KiB). Objects, their class and type URIs and the URIs among their values are all
# held to it when written.
MAX_URI_LENGTH = 4096


def uri_length(uri: str) -> int:
    """The length the limit counts: UTF-8 bytes (a lone surrogate counted as 3, as it would encode)."""
    return len(uri.encode("utf-8", "surrogatepass"))


def check_uri_length(uri: str, what: str = "URI") -> str:
    """`uri`, or InvalidInputError naming the limit when it is longer than MAX_URI_LENGTH bytes."""
    if len(uri) > MAX_URI_LENGTH or uri_length(uri) > MAX_URI_LENGTH:
        raise InvalidInputError(
            f"{what} {uri[:60]}... is {uri_length(uri)} bytes long in UTF-8; "
            f"the limit is {MAX_URI_LENGTH} (MAX_URI_LENGTH)"
        )
    return uri


_REGISTRY: dict[str, type[GraphObject]] = {}

# Derived from the object's URI and class, never stored as values.
_STRUCTURAL_PROPERTIES = frozenset({vocab.RDF_TYPE, vocab.VITALTYPE, vocab.URI_PROP})


class _PropertyAttribute:
    """Descriptor behind each declared property: `obj.name` reads/writes the value,
    `Class.name` gives the PropertySpec."""

    def __init__(self, spec: PropertySpec) -> None:
        self.spec = spec

    def __get__(self, obj: GraphObject | None, owner: type) -> Any:
        if obj is None:
            return self.spec
        return obj.get(self.spec.uri)

    def __set__(self, obj: GraphObject, value: Any) -> None:
        obj.set(self.spec.uri, value)

    def __delete__(self, obj: GraphObject) -> None:
        obj.set(self.spec.uri, None)


class GraphObject:
    """Base of all graph objects; instantiated directly for classes the model doesn't know."""

    class_uri: ClassVar[str | None] = None
    declared_properties: ClassVar[tuple[PropertySpec, ...]] = ()
    property_specs: ClassVar[Mapping[str, PropertySpec]] = MappingProxyType({})
    _specs_by_uri: ClassVar[Mapping[str, PropertySpec]] = MappingProxyType({})

    URI: str
    _values: dict[str, Any]
    _extra_types: tuple[str, ...]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        specs = dict(cls.property_specs)  # the parent's table, inherited
        for spec in cls.__dict__.get("declared_properties", ()):
            if spec.name == "URI" or hasattr(GraphObject, spec.name):
                raise TypeError(f"{cls.__name__}: property name {spec.name!r} clashes with GraphObject")
            specs[spec.name] = spec
            setattr(cls, spec.name, _PropertyAttribute(spec))
        cls.property_specs = MappingProxyType(specs)
        cls._specs_by_uri = MappingProxyType({spec.uri: spec for spec in specs.values()})
        if cls.__dict__.get("class_uri"):
            _register(cls)

    def __init__(self, URI: str | None = None, *, class_uri: str | None = None, **properties: Any):
        """`URI` defaults to a fresh `urn:uuid:`; `class_uri` is only for a plain GraphObject
        (subclasses have their own); `properties` are declared properties by short name."""
        own_class_uri = type(self).class_uri
        if own_class_uri is None:
            if not class_uri:
                raise TypeError("a plain GraphObject needs a class_uri")
            object.__setattr__(self, "class_uri", class_uri)
        elif class_uri not in (None, own_class_uri):
            raise TypeError(f"{type(self).__name__} has class URI {own_class_uri}, not {class_uri}")
        object.__setattr__(self, "_values", {})
        object.__setattr__(self, "_extra_types", ())
        self.URI = URI if URI is not None else f"urn:uuid:{uuid.uuid4()}"
        for name, value in properties.items():
            if name not in self.property_specs:
                raise TypeError(f"{type(self).__name__} has no property {name!r}")
            self.set(name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "URI":
            if not isinstance(value, str) or not value:
                raise TypeError("URI must be a non-empty string")
            object.__setattr__(self, name, value)
        elif name in self.property_specs:
            object.__setattr__(self, name, value)  # goes through the property descriptor
        else:
            raise AttributeError(
                f"{type(self).__name__} has no property {name!r}; "
                "set undeclared properties with .set(property_uri, value)"
            )

    # --- property access --------------------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        """Value of a property by short name or property URI (a list if multi-valued)."""
        uri, _ = self._resolve(key)
        value = self._values.get(uri, default)
        return list(value) if isinstance(value, list) else value

    def set(self, key: str, value: Any) -> None:
        """Set a property by short name or property URI; None (or []) removes it.

        Declared properties check the value against their kind (TypeError/ValueError).
        A list sets several values; they are kept deduplicated in a canonical order.
        """
        uri, kind = self._resolve(key)
        if uri in _STRUCTURAL_PROPERTIES:
            raise ValueError(f"{uri} is derived from the object's URI and class; it cannot be set")
        try:
            stored = _canonical_value(kind, value)
        except (TypeError, ValueError) as err:
            spec = self._specs_by_uri.get(uri)
            label = f"{spec.name} <{uri}>" if spec else f"<{uri}>"
            raise type(err)(f"{type(self).__name__} property {label}: {err}") from None
        if stored is None:
            self._values.pop(uri, None)
        else:
            self._values[uri] = stored

    @property
    def property_values(self) -> dict[str, Any]:
        """All property values keyed by property URI (a copy)."""
        return {uri: self.get(uri) for uri in self._values}

    @property
    def unknown_properties(self) -> dict[str, Any]:
        """Values of properties this class does not declare, keyed by property URI."""
        return {uri: self.get(uri) for uri in self._values if uri not in self._specs_by_uri}

    @property
    def types(self) -> list[str]:
        """All rdf:types: the class URI first, then any extra types the data carried."""
        return [self.class_uri, *self._extra_types]

    @staticmethod
    def class_for_uri(class_uri: str) -> type[GraphObject] | None:
        """The registered Python class for a class URI, if any."""
        return _REGISTRY.get(class_uri)

    def _resolve(self, key: str) -> tuple[str, PropertyKind | None]:
        spec = self.property_specs.get(key) or self._specs_by_uri.get(key)
        if spec is not None:
            return spec.uri, spec.kind
        if ":" in key:
            return key, None
        raise KeyError(f"{type(self).__name__} has no property {key!r}; use the full property URI")

    def _kind(self, property_uri: str) -> PropertyKind | None:
        spec = self._specs_by_uri.get(property_uri)
        return spec.kind if spec else None

    # --- comparison -------------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GraphObject):
            return NotImplemented
        return (self.URI, self.class_uri, self._extra_types, self._values) == (
            other.URI,
            other.class_uri,
            other._extra_types,
            other._values,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        names = {spec.uri: spec.name for spec in self.property_specs.values()}
        shown = ", ".join(f"{names.get(uri, uri)}={value!r}" for uri, value in self._values.items())
        prefix = f"{type(self).__name__}(URI={self.URI!r}"
        if type(self).class_uri is None:
            prefix += f", class_uri={self.class_uri!r}"
        return f"{prefix}{', ' + shown if shown else ''})"

    # --- records (the neutral form every codec speaks) ------------------------------------

    def _to_record(self) -> NodeRecord:
        record = NodeRecord(self.URI, self.types)
        record.add(vocab.VITALTYPE, IRI(self.class_uri))
        record.add(vocab.URI_PROP, IRI(self.URI))
        for uri, value in self._values.items():
            kind = self._kind(uri)
            for item in value if isinstance(value, list) else [value]:
                record.add(uri, encode(kind, item))
        return record

    @staticmethod
    def _from_record(record: NodeRecord) -> GraphObject:
        properties = {predicate: _unique(terms) for predicate, terms in record.properties.items()}
        types = _unique_strings(record.types + _rdf_types(record.id, properties.pop(vocab.RDF_TYPE, [])))
        class_uri = _choose_class(record.id, types, properties.pop(vocab.VITALTYPE, []))
        _check_uri_prop(record.id, properties.pop(vocab.URI_PROP, []))
        cls = _REGISTRY.get(class_uri, GraphObject)
        obj = cls.__new__(cls)
        if cls is GraphObject:
            object.__setattr__(obj, "class_uri", class_uri)
        object.__setattr__(obj, "URI", record.id)
        object.__setattr__(obj, "_extra_types", tuple(sorted(set(types) - {class_uri})))
        object.__setattr__(obj, "_values", {})
        for predicate, terms in properties.items():
            obj._values[predicate] = _decode_values(
                record.id, predicate, cls._specs_by_uri.get(predicate), terms
            )
        return obj

    def check_uri_lengths(self) -> None:
        """InvalidInputError if the object's URI, a class or type URI or a URI value exceeds MAX_URI_LENGTH."""
        check_uri_length(self.URI, "object URI")
        record = self._to_record()
        for type_uri in record.types:
            check_uri_length(type_uri, f"object {self.URI[:60]}: type URI")
        for predicate, terms in record.properties.items():
            check_uri_length(predicate, f"object {self.URI[:60]}: property URI")
            for term in terms:
                if isinstance(term, IRI):
                    check_uri_length(term.value, f"object {self.URI[:60]}: value of {predicate[:100]}")

    # --- JSON-LD ----------------------------------------------------------------------------

    def to_jsonld(self) -> dict[str, Any]:
        """Expanded JSON-LD, exactly as VitalSigns writes it (`"@context": {}`)."""
        return jsonld.record_to_jsonld(self._to_record())

    @staticmethod
    def list_to_jsonld(objects: Iterable[GraphObject]) -> dict[str, Any]:
        """`{"@context": {}, "@graph": [...]}` for several objects."""
        return jsonld.records_to_jsonld_graph(obj._to_record() for obj in objects)

    @staticmethod
    def from_jsonld(data: Any) -> list[GraphObject]:
        """Objects in a JSON-LD document (expanded or compacted; one object, an array or a
        `@graph`; a dict or JSON text). Raises InvalidInputError on malformed input."""
        return [GraphObject._from_record(record) for record in jsonld.records_from_jsonld(data)]

    # --- flat VitalSigns JSON ---------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """VitalSigns' flat JSON: values keyed by property URI plus URI/type/types."""
        return flat_json.record_to_flat_json(self._to_record(), lambda _types, uri: self._kind(uri))

    @classmethod
    def from_json(cls: type[G], data: Any) -> G:
        """Object from VitalSigns' flat JSON. Called on a subclass, also checks the class."""
        record = flat_json.record_from_flat_json(data, _registered_kind)
        obj = GraphObject._from_record(record)
        if not isinstance(obj, cls):
            raise InvalidInputError(f"object {obj.URI} is a {obj.class_uri}, not a {cls.__name__}")
        return obj

    # --- RDF --------------------------------------------------------------------------------

    def to_triples(self) -> list[ox.Triple]:
        # Sorted so the same object always gives the same N-Triples text.
        return sorted(rdf.record_to_triples(self._to_record()), key=str)

    @staticmethod
    def list_to_triples(objects: Iterable[GraphObject]) -> list[ox.Triple]:
        return [triple for obj in objects for triple in obj.to_triples()]

    @staticmethod
    def from_triples(triples: Iterable[ox.Triple | ox.Quad]) -> list[GraphObject]:
        """One object per subject (quads' graph names are ignored)."""
        return [GraphObject._from_record(record) for record in rdf.records_from_triples(triples)]

    def to_ntriples(self) -> str:
        return rdf.serialize_ntriples(self.to_triples())

    @staticmethod
    def list_to_ntriples(objects: Iterable[GraphObject]) -> str:
        return rdf.serialize_ntriples(GraphObject.list_to_triples(objects))

    @staticmethod
    def from_ntriples(text: str | bytes) -> list[GraphObject]:
        return GraphObject.from_triples(rdf.parse_ntriples(text))


# --- registry -------------------------------------------------------------------------------


def _register(cls: type[GraphObject]) -> None:
    existing = _REGISTRY.get(cls.class_uri)
    if existing is not None and existing.__qualname__ != cls.__qualname__:
        raise TypeError(f"class URI {cls.class_uri} is already registered to {existing.__name__}")
    _REGISTRY[cls.class_uri] = cls


def _most_specific_registered(types: list[str]) -> type[GraphObject] | None:
    registered = [_REGISTRY[t] for t in types if t in _REGISTRY]
    return max(registered, key=lambda cls: len(cls.__mro__)) if registered else None


def _registered_kind(types: list[str], property_uri: str) -> PropertyKind | None:
    cls = _most_specific_registered(types)
    spec = cls._specs_by_uri.get(property_uri) if cls else None
    return spec.kind if spec else None


# --- value helpers --------------------------------------------------------------------------


def _canonical_value(kind: PropertyKind | None, value: Any) -> Any:
    """Stored form of an assigned value: None to remove, a scalar, or a sorted unique list."""
    if value is None:
        return None
    if isinstance(value, (list, tuple, set, frozenset)):
        return _canonical_list(kind, [normalize(kind, item) for item in value if item is not None])
    return normalize(kind, value)


def _canonical_list(kind: PropertyKind | None, values: list[Any]) -> Any:
    # Values equal as RDF terms are duplicates; sort so every path gives the same list.
    by_term = {encode(kind, value): value for value in values}
    ordered = [by_term[term] for term in sorted(by_term, key=sort_key)]
    if not ordered:
        return None
    return ordered[0] if len(ordered) == 1 else ordered


def _decode_values(object_uri: str, predicate: str, spec: PropertySpec | None, terms: list[Term]) -> Any:
    kind = spec.kind if spec else None
    try:
        values = [decode(kind, term) for term in terms]
    except ValueError as err:
        label = f"{predicate} ({spec.name})" if spec else predicate
        raise InvalidInputError(f"object {object_uri}: property {label}: {err}") from None
    return _canonical_list(kind, values)


def _unique(terms: list[Term]) -> list[Term]:
    return list(dict.fromkeys(terms))


def _unique_strings(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _rdf_types(object_uri: str, terms: list[Term]) -> list[str]:
    if any(not isinstance(term, IRI) for term in terms):
        raise InvalidInputError(f"object {object_uri}: property {vocab.RDF_TYPE}: types must be IRIs")
    return [term.value for term in terms if isinstance(term, IRI)]


def _choose_class(object_uri: str, types: list[str], vitaltypes: list[Term]) -> str:
    """The vitaltype if given, else the most specific registered type, else the first type."""
    declared = _unique_strings([_uri_of(object_uri, vocab.VITALTYPE, term) for term in vitaltypes])
    if len(declared) > 1:
        raise InvalidInputError(f"object {object_uri}: several vitaltype values {declared}")
    if declared:
        return declared[0]
    registered = _most_specific_registered(types)
    if registered is not None:
        return registered.class_uri  # type: ignore[return-value]
    if types:
        return types[0]
    raise InvalidInputError(f"object {object_uri} has no type (no @type, rdf:type or vitaltype)")


def _uri_of(object_uri: str, predicate: str, term: Term) -> str:
    if isinstance(term, IRI):
        return term.value
    if isinstance(term, TypedLiteral) and term.datatype == vocab.XSD_STRING:
        return term.lexical  # compacted JSON-LD without "@type": "@id"
    raise InvalidInputError(
        f"object {object_uri}: property {predicate}: expected a URI, got {describe(term)}"
    )


def _check_uri_prop(object_uri: str, terms: list[Term]) -> None:
    for term in terms:
        if _uri_of(object_uri, vocab.URI_PROP, term) != object_uri:
            raise InvalidInputError(
                f"object {object_uri}: property {vocab.URI_PROP}: {describe(term)} differs from the object URI"
            )
