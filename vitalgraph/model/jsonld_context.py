"""The subset of JSON-LD context processing our clients use (no remote contexts).

Supported: prefixes (`{"vital": "http://vital.ai/ontology/vital#"}`), term definitions with
`@id`/`@type`/`@language`/`@container: @set`, keyword aliases (`"id": "@id"`), `@vocab`,
`@base`, `@language`, nested and array contexts. Anything outside that subset raises
InvalidInputError instead of being silently ignored: dropping data is worse than refusing it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from vitalgraph.errors import InvalidInputError

KEYWORDS = frozenset(
    {
        "@base",
        "@container",
        "@context",
        "@direction",
        "@graph",
        "@id",
        "@import",
        "@included",
        "@index",
        "@json",
        "@language",
        "@list",
        "@nest",
        "@none",
        "@prefix",
        "@propagate",
        "@protected",
        "@reverse",
        "@set",
        "@type",
        "@value",
        "@version",
        "@vocab",
    }
)

# Schemes accepted as absolute IRIs when no context prefix of that name exists; any other
# undefined `prefix:suffix` is reported as an unresolvable prefix (most likely a typo).
KNOWN_SCHEMES = frozenset(
    {
        "http",
        "https",
        "urn",
        "mailto",
        "file",
        "ftp",
        "ftps",
        "s3",
        "gs",
        "tag",
        "data",
        "did",
        "uuid",
        "ipfs",
        "ws",
        "wss",
        "tel",
        "geo",
        "doi",
        "info",
    }
)

_IGNORED_CONTEXT_KEYWORDS = frozenset({"@version", "@protected", "@propagate"})


@dataclass(frozen=True)
class TermDefinition:
    iri: str | None  # absolute IRI, `_:` blank id or keyword alias; None = mapped to null
    type_mapping: str | None = None  # "@id", "@vocab" or a datatype IRI
    language: str | None = None
    has_language: bool = False  # the term sets (or clears, with None) the language itself


@dataclass(frozen=True)
class Context:
    terms: dict[str, TermDefinition] = field(default_factory=dict)
    vocab: str | None = None
    base: str | None = None
    language: str | None = None

    def updated(self, local: Any) -> Context:
        """The active context after applying a local `@context` value."""
        if local is None:
            return EMPTY_CONTEXT
        if isinstance(local, list):
            context = self
            for item in local:
                context = context.updated(item)
            return context
        if isinstance(local, str):
            raise InvalidInputError(f"remote @context {local!r} is not supported; inline the context")
        if not isinstance(local, dict):
            raise InvalidInputError("@context must be an object, an array or null")
        return _ContextBuilder(self, local).build()

    def term(self, key: str) -> TermDefinition | None:
        return self.terms.get(key)

    def expand_iri(self, value: str, *, vocab: bool) -> str:
        """Absolute IRI for `value`. vocab=True: property/type position (terms and @vocab
        apply); vocab=False: @id position (compact IRIs and @base apply)."""
        return _expand(value, vocab=vocab, lookup=self.terms.get, vocab_iri=self.vocab, base=self.base)

    def is_alias(self, key: str, keyword: str) -> bool:
        if key == keyword:
            return True
        definition = self.terms.get(key)
        return definition is not None and definition.iri == keyword


EMPTY_CONTEXT = Context()


def _expand(
    value: str,
    *,
    vocab: bool,
    lookup: Callable[[str], TermDefinition | None],
    vocab_iri: str | None,
    base: str | None,
) -> str:
    if value.startswith("@"):
        if value in KEYWORDS:
            return value
        raise InvalidInputError(f"unknown keyword {value!r}")
    if vocab:
        definition = lookup(value)
        if definition is not None:
            if definition.iri is None:
                raise InvalidInputError(f"term {value!r} is mapped to null")
            return definition.iri
    if ":" in value:
        return _expand_prefixed(value, lookup)
    if vocab and vocab_iri is not None:
        return vocab_iri + value
    if not vocab and base is not None:
        return urljoin(base, value)
    raise InvalidInputError(
        f"cannot expand {value!r} to an absolute IRI: no matching term, prefix, "
        f"{'@vocab' if vocab else '@base'} in the context"
    )


def _expand_prefixed(value: str, lookup: Callable[[str], TermDefinition | None]) -> str:
    prefix, suffix = value.split(":", 1)
    if prefix == "_" or suffix.startswith("//"):
        return value  # blank node id or hierarchical absolute IRI
    definition = lookup(prefix)
    if definition is not None and definition.iri is not None and not definition.iri.startswith("@"):
        return definition.iri + suffix
    if prefix.lower() in KNOWN_SCHEMES:
        return value
    raise InvalidInputError(f"unresolvable prefix {prefix!r} in {value!r}: not defined in the @context")


class _ContextBuilder:
    """Applies one local context object; term definitions may refer to each other."""

    def __init__(self, active: Context, local: dict[str, Any]) -> None:
        self.active = active
        self.local = local
        self.pending = {key: value for key, value in local.items() if not key.startswith("@")}
        self.terms = dict(active.terms)
        self.defined: set[str] = set()
        self.resolving: set[str] = set()
        self.vocab = active.vocab
        self.base = active.base

    def build(self) -> Context:
        for key in self.local:
            if (
                key.startswith("@")
                and key not in ("@vocab", "@base", "@language")
                and key not in _IGNORED_CONTEXT_KEYWORDS
            ):
                raise InvalidInputError(f"@context keyword {key!r} is not supported")
        language = self._language()
        self.base = self._base()
        self.vocab = self._vocab()
        for term in self.pending:
            self._define(term)
        return Context(self.terms, self.vocab, self.base, language)

    def _language(self) -> str | None:
        if "@language" not in self.local:
            return self.active.language
        return _optional_string(self.local["@language"], "@language")

    def _base(self) -> str | None:
        if "@base" not in self.local:
            return self.active.base
        base = _optional_string(self.local["@base"], "@base")
        if base is None or self.active.base is None:
            return base
        return urljoin(self.active.base, base)

    def _vocab(self) -> str | None:
        if "@vocab" not in self.local:
            return self.active.vocab
        raw = _optional_string(self.local["@vocab"], "@vocab")
        return None if raw is None else self._expand(raw, vocab=True)

    def _expand(self, value: str, *, vocab: bool) -> str:
        return _expand(value, vocab=vocab, lookup=self._lookup, vocab_iri=self.vocab, base=self.base)

    def _lookup(self, term: str) -> TermDefinition | None:
        if term in self.pending and term not in self.defined:
            if term in self.resolving:
                return None  # a term used inside its own definition: fall back to prefix/@vocab
            self._define(term)
        return self.terms.get(term)

    def _define(self, term: str) -> None:
        if term in self.defined:
            return
        self.resolving.add(term)
        try:
            self.terms[term] = self._definition(term, self.pending[term])
        except InvalidInputError as err:
            raise InvalidInputError(f"@context term {term!r}: {err}") from None
        finally:
            self.resolving.discard(term)
        self.defined.add(term)

    def _definition(self, term: str, raw: Any) -> TermDefinition:
        if raw is None:
            return TermDefinition(None)
        if isinstance(raw, str):
            return TermDefinition(self._term_iri(term, raw))
        if not isinstance(raw, dict):
            raise InvalidInputError("a term definition must be a string, an object or null")
        unsupported = set(raw) - {"@id", "@type", "@language", "@container", "@prefix", "@protected"}
        if unsupported:
            raise InvalidInputError(f"unsupported term definition keys {sorted(unsupported)}")
        _check_container(raw.get("@container"))
        if "@id" in raw and raw["@id"] is None:
            return TermDefinition(None)
        iri = self._term_iri(term, raw.get("@id"))
        type_mapping = self._type_mapping(raw["@type"]) if "@type" in raw else None
        has_language = "@language" in raw
        language = _optional_string(raw["@language"], "@language") if has_language else None
        return TermDefinition(iri, type_mapping, language, has_language)

    def _term_iri(self, term: str, raw_id: Any) -> str:
        if raw_id is None:
            return self._expand(term, vocab=True)  # `"name": {"@type": ...}` without @id
        if not isinstance(raw_id, str):
            raise InvalidInputError("@id must be a string")
        return self._expand(raw_id, vocab=True)

    def _type_mapping(self, raw: Any) -> str:
        if not isinstance(raw, str):
            raise InvalidInputError("@type must be a string")
        if raw in ("@id", "@vocab"):
            return raw
        if raw.startswith("@"):
            raise InvalidInputError(f"type mapping {raw!r} is not supported")
        return self._expand(raw, vocab=True)


def _check_container(container: Any) -> None:
    values = container if isinstance(container, list) else [container]
    if any(value not in (None, "@set") for value in values):
        raise InvalidInputError(f"@container {container!r} is not supported (only @set)")


def _optional_string(value: Any, keyword: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidInputError(f"{keyword} must be a string or null")
    return value
