"""JSON quads: the wire format of the older VitalGraph client, and its conversion to GraphObjects.

A quad is `{"s", "p", "o", "g"}`, each term written as in N-Quads: `<uri>`, `_:blank`, `"text"`,
`"3"^^<datatype>` or `"hi"@en`; `g` is None for the default graph. Request bodies are
`QuadRequest {"quads": [...]}`; replies are `QuadResponse` (a page) or `QuadResultsResponse`.
The module path is the older client's, so code that imports these names keeps working.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pyoxigraph as ox
from pydantic import BaseModel, Field, ValidationError

from vitalgraph.errors import InvalidInputError
from vitalgraph.model.graph_object import GraphObject

# Sent (Content-Type) or asked for (Accept) to say "JSON quads, not JSON-LD".
QUADS_MEDIA_TYPE = "application/vnd.vitalgraph.quads+json"
MAX_QUADS = 1_000_000


class Quad(BaseModel):
    """One RDF quad, each term in N-Quads syntax."""

    s: str = Field(max_length=65_536)
    p: str = Field(max_length=65_536)
    o: str = Field(max_length=16 * 1024 * 1024)
    g: str | None = Field(default=None, max_length=65_536)


class QuadRequest(BaseModel):
    """A request body of quads (no metadata)."""

    quads: list[Quad]


class QuadResultsResponse(BaseModel):
    """A reply of quads that is not a page (get by URI or URIs)."""

    success: bool = True
    status: str = "found"
    message: str | None = None
    total_count: int
    results: list[Quad]


class QuadResponse(QuadResultsResponse):
    """A page of quads; `total_count` counts objects, not quads."""

    page_size: int
    offset: int
    has_more: bool | None = None


def objects_to_quads(objects: Iterable[GraphObject], graph: str | None = None) -> list[Quad]:
    """The objects' triples as quads in `graph` (None: no graph term)."""
    g = f"<{graph}>" if graph else None
    return [
        Quad(s=str(t.subject), p=str(t.predicate), o=str(t.object), g=g)
        for t in GraphObject.list_to_triples(objects)
    ]


def quads_to_objects(quads: Sequence[Quad | dict[str, Any]]) -> list[GraphObject]:
    """GraphObjects from quads (one per subject; graph terms are ignored)."""
    return GraphObject.from_triples(parse_quad_triples(quads))


def parse_quad_triples(quads: Sequence[Quad | dict[str, Any]]) -> list[ox.Triple]:
    """The quads' triples (graph terms ignored). InvalidInputError names the first quad whose terms
    are not valid N-Quads."""
    if len(quads) > MAX_QUADS:
        raise InvalidInputError(f"too many quads in one request ({len(quads)} > {MAX_QUADS})")
    triples = []
    for index, item in enumerate(quads):
        try:
            quad = item if isinstance(item, Quad) else Quad.model_validate(item)
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"]
            raise InvalidInputError(f"quad {index} is not an object with s, p, o (and g): {reason}") from None
        triples.append(_parse_triple(index, quad))
    return triples


def read_quad_request(document: Any) -> list[GraphObject]:
    """GraphObjects from a parsed `QuadRequest` body (or a bare list of quads)."""
    quads = document.get("quads") if isinstance(document, dict) else document
    if not isinstance(quads, list):
        raise InvalidInputError('a JSON quads body is {"quads": [{"s", "p", "o", "g"}, ...]}')
    return quads_to_objects(quads)


def is_quad_request(document: Any) -> bool:
    """True for `{"quads": [...]}`, which no JSON-LD document is (its keys are IRIs or @-keywords)."""
    return isinstance(document, dict) and isinstance(document.get("quads"), list) and len(document) == 1


def quad_reply(
    objects: Sequence[GraphObject],
    *,
    graph: str | None = None,
    total_count: int | None = None,
    page_size: int | None = None,
    offset: int | None = None,
) -> dict[str, Any]:
    """A QuadResponse (when paged) or QuadResultsResponse body for `objects`."""
    quads = objects_to_quads(objects, graph)
    status = "found" if objects else "empty"
    total = len(objects) if total_count is None else total_count
    if page_size is None:
        return QuadResultsResponse(total_count=total, results=quads, status=status).model_dump()
    has_more = (offset or 0) + len(objects) < total
    return QuadResponse(
        total_count=total,
        results=quads,
        status=status,
        page_size=page_size,
        offset=offset or 0,
        has_more=has_more,
    ).model_dump()


def _parse_triple(index: int, quad: Quad) -> ox.Triple:
    line = f"{quad.s} {quad.p} {quad.o} .\n"
    if "\n" in line[:-1] or "\r" in line:
        raise InvalidInputError(f"quad {index}: a term holds a raw line break (escape it as \\n)")
    try:
        parsed = list(ox.parse(line, format=ox.RdfFormat.N_TRIPLES))
    except SyntaxError as exc:
        raise InvalidInputError(f"quad {index} is not valid N-Quads terms: {exc}") from None
    if len(parsed) != 1:
        raise InvalidInputError(f"quad {index} is not one triple")
    return parsed[0].triple
