"""Named graphs, untyped graph objects and raw triples of a space: the older client's `graphs`,
`objects` and `triples` groups, on the same graph store as files, KGTypes and KGEntities.

A graph is named by its graph_id, as everywhere else (`graph_uri(space.uid, graph_id)` inside the
store). Objects and triples may not touch what the file service owns: FileNodes are written
through /api/files only, and no triple may set or remove a file's server-measured facts (size,
SHA-256, blob key), so raw writes can never make a node point at bytes it does not own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote

import pyoxigraph as ox

from vitalgraph.errors import ConflictError, InvalidInputError, NotFoundError
from vitalgraph.graph.base import GraphStore, graph_uri, iri, space_graph_prefix
from vitalgraph.model import FileNode, GraphObject
from vitalgraph.model.vocab import RDF_TYPE
from vitalgraph.services.file_versions import FILE_VERSION_CLASS, VERSION_PREDICATES
from vitalgraph.services.files import DEFAULT_GRAPH_ID, check_uri_count
from vitalgraph.services.graph_objects import GraphObjectCollection, class_family
from vitalgraph.services.spaces import SpaceService

MAX_TRIPLES_PER_REQUEST = 100_000
PROTECTED_PREDICATES = (
    frozenset(
        FileNode.property_specs[name].uri
        for name in ("fileLength", "sha256", "blobKey", "contentUpdateTime", "contentUploader", "fileURL")
    )
    | VERSION_PREDICATES
)
FILE_NODE_CLASSES = [*class_family(FileNode), FILE_VERSION_CLASS]  # a file's versions are the file's


@dataclass(frozen=True)
class GraphInfo:
    graph_id: str
    triple_count: int


class GraphService:
    """List, create, clear and drop the named graphs of a space."""

    def __init__(self, graph: GraphStore, spaces: SpaceService) -> None:
        self.graph = graph
        self.spaces = spaces
        self._create_lock = asyncio.Lock()  # two creates of one graph: one 201, one 409

    async def list(self, space_id: str) -> list[GraphInfo]:
        space = await self.spaces.require(space_id)
        prefix = space_graph_prefix(space.uid)
        graphs = await self.graph.graphs_with_prefix(prefix)
        return [GraphInfo(unquote(g[len(prefix) :]), await self._count(g)) for g in graphs]

    async def get(self, space_id: str, graph_id: str) -> GraphInfo:
        for info in await self.list(space_id):
            if info.graph_id == graph_id:
                return info
        raise NotFoundError(f"graph {graph_id!r} not found in space {space_id!r}")

    async def create(self, space_id: str, graph_id: str) -> GraphInfo:
        """An empty named graph; 409 if it exists. (Writing to a graph_id also creates its graph.)"""
        _check_graph_id(graph_id)
        space = await self.spaces.require(space_id)
        async with self._create_lock:
            if any(info.graph_id == graph_id for info in await self.list(space_id)):
                raise ConflictError(f"graph {graph_id!r} already exists in space {space_id!r}")
            await self.graph.update(f"CREATE SILENT GRAPH {iri(graph_uri(space.uid, graph_id))}")
        return GraphInfo(graph_id, 0)

    async def clear(self, space_id: str, graph_id: str) -> int:
        """Remove every triple, keep the graph; returns how many triples went. File bytes whose
        nodes went with them are released by the orphan collection (docs/reliability.md)."""
        info = await self.get(space_id, graph_id)
        space = await self.spaces.require(space_id)
        await self.graph.update(f"CLEAR SILENT GRAPH {iri(graph_uri(space.uid, graph_id))}")
        return info.triple_count

    async def drop(self, space_id: str, graph_id: str, *, silent: bool = False) -> bool:
        """Remove the graph; 404 unless `silent` when there is none. False if there was none."""
        try:
            await self.get(space_id, graph_id)
        except NotFoundError:
            if silent:
                return False
            raise
        space = await self.spaces.require(space_id)
        await self.graph.drop_graphs([graph_uri(space.uid, graph_id)])
        return True

    async def _count(self, graph: str) -> int:
        rows = await self.graph.select(
            f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {iri(graph)} {{ ?s ?p ?o }} }}"
        )
        return int(rows[0]["n"].value) if rows else 0  # type: ignore[attr-defined]


class ObjectService(GraphObjectCollection):
    """Graph objects of any class except FileNode (files are written through /api/files)."""

    def __init__(self, graph: GraphStore, spaces: SpaceService) -> None:
        super().__init__(graph, spaces, GraphObject)
        self.label = "object"

    def check_request(self, objects: Sequence[GraphObject]) -> None:
        super().check_request(objects)
        _refuse_file_nodes(objects)

    async def update(self, space_id: str, graph_id: str | None, objects: Sequence[GraphObject]) -> list[str]:
        """Also refuses to replace a FileNode with an object of another class (its bytes would be lost)."""
        graph = await self.graph_for(space_id, graph_id)
        _refuse_file_nodes(await self.graph.get_objects(graph, [o.URI for o in objects]))
        return await super().update(space_id, graph_id, objects)

    async def delete(self, space_id: str, graph_id: str | None, uris: Sequence[str]) -> list[str]:
        graph = await self.graph_for(space_id, graph_id)
        _refuse_file_nodes(await self.graph.get_objects(graph, uris))
        return await super().delete(space_id, graph_id, uris)

    async def list(
        self, space_id: str, graph_id: str | None, *, page_size: int, offset: int, search: str | None = None
    ) -> tuple[list[GraphObject], int]:
        graph = await self.graph_for(space_id, graph_id)
        return await self.graph.list_objects(graph, [], limit=page_size, offset=offset, search=search)


@dataclass(frozen=True)
class TriplePattern:
    subject: str | None = None
    predicate: str | None = None
    object: str | None = None  # an N-Triples term (<uri>, "literal"...), or a bare URI

    def where(self) -> str:
        """`?s ?p ?o` with the given parts fixed by VALUES, so every row binds all three."""
        values = [
            f"VALUES ?{name} {{ {term} }}"
            for name, term in (
                ("s", iri(self.subject) if self.subject else None),
                ("p", iri(self.predicate) if self.predicate else None),
                ("o", _object_term(self.object) if self.object else None),
            )
            if term
        ]
        return " ".join([*values, "?s ?p ?o ."])


class TripleService:
    """Triples of one graph: list by pattern, add, delete by pattern."""

    def __init__(self, graph: GraphStore, spaces: SpaceService) -> None:
        self.graph = graph
        self.spaces = spaces

    async def _graph(self, space_id: str, graph_id: str | None) -> str:
        space = await self.spaces.require(space_id)
        return graph_uri(space.uid, graph_id or DEFAULT_GRAPH_ID)

    async def list(
        self,
        space_id: str,
        graph_id: str | None,
        pattern: TriplePattern,
        *,
        page_size: int,
        offset: int,
        object_filter: str | None = None,
    ) -> tuple[list[ox.Triple], int]:
        g = iri(await self._graph(space_id, graph_id))
        where = f"GRAPH {g} {{ {pattern.where()} }}"
        if object_filter:
            where += f" FILTER(CONTAINS(LCASE(STR(?o)), LCASE({ox.Literal(object_filter)})))"
        rows = await self.graph.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}")
        total = int(rows[0]["n"].value) if rows else 0  # type: ignore[attr-defined]
        if offset >= total:
            return [], total
        rows = await self.graph.select(
            f"SELECT ?s ?p ?o WHERE {{ {where} }} ORDER BY ?s ?p ?o LIMIT {int(page_size)} OFFSET {int(offset)}"
        )
        return [ox.Triple(row["s"], row["p"], row["o"]) for row in rows], total  # type: ignore[arg-type]

    async def add(self, space_id: str, graph_id: str | None, triples: Sequence[ox.Triple]) -> int:
        if not triples:
            raise InvalidInputError("no triples in the request body")
        if len(triples) > MAX_TRIPLES_PER_REQUEST:
            raise InvalidInputError(
                f"too many triples in one request ({len(triples)} > {MAX_TRIPLES_PER_REQUEST})"
            )
        _refuse_protected(triples)
        graph = await self._graph(space_id, graph_id)
        await self._refuse_file_subjects(graph, triples)
        g = iri(graph)
        body = "\n".join(f"{t.subject} {t.predicate} {t.object} ." for t in triples)
        await self.graph.update(f"INSERT DATA {{ GRAPH {g} {{ {body} }} }}")
        return len(triples)

    async def delete(self, space_id: str, graph_id: str | None, pattern: TriplePattern) -> int:
        """Delete every triple matching the pattern (at least one part given); returns how many."""
        if not (pattern.subject or pattern.predicate or pattern.object):
            raise InvalidInputError("give at least one of subject, predicate, object to delete triples")
        found, total = await self.list(
            space_id, graph_id, pattern, page_size=MAX_TRIPLES_PER_REQUEST, offset=0
        )
        if total > len(found):
            raise InvalidInputError(
                f"the pattern matches {total} triples, over {MAX_TRIPLES_PER_REQUEST}: narrow it"
            )
        _refuse_protected(found)
        graph = await self._graph(space_id, graph_id)
        await self._refuse_file_subjects(graph, found)
        g = iri(graph)
        if found:
            body = "\n".join(f"{t.subject} {t.predicate} {t.object} ." for t in found)
            await self.graph.update(f"DELETE DATA {{ GRAPH {g} {{ {body} }} }}")
        return len(found)

    async def _refuse_file_subjects(self, graph: str, triples: Sequence[ox.Triple]) -> None:
        """No raw triple may describe a FileNode (or make something one): files go through /api/files."""
        for t in triples:
            if t.predicate.value == RDF_TYPE and t.object.value in FILE_NODE_CLASSES:
                raise InvalidInputError(
                    f"{t.subject} would become a FileNode: create files through /api/files"
                )
        subjects = sorted({str(t.subject) for t in triples if isinstance(t.subject, ox.NamedNode)})
        for start in range(0, len(subjects), 500):
            values = " ".join(subjects[start : start + 500])
            classes = " ".join(f"<{c}>" for c in FILE_NODE_CLASSES)
            rows = await self.graph.select(
                f"SELECT ?s WHERE {{ GRAPH {iri(graph)} {{ VALUES ?s {{ {values} }} VALUES ?c {{ {classes} }} "
                f"?s <{RDF_TYPE}> ?c }} }} LIMIT 1"
            )
            if rows:
                raise InvalidInputError(
                    f"{rows[0]['s'].value} is a FileNode: change files through /api/files"  # type: ignore[attr-defined]
                )


def _check_graph_id(graph_id: str) -> None:
    if not graph_id or len(graph_id) > 256 or any(ord(c) < 32 for c in graph_id):
        raise InvalidInputError("graph_id must be 1 to 256 characters without control characters")


def _refuse_file_nodes(objects: Sequence[GraphObject]) -> None:
    check_uri_count([o.URI for o in objects])
    for obj in objects:
        if isinstance(obj, FileNode) or obj.class_uri in FILE_NODE_CLASSES:
            raise InvalidInputError(
                f"{obj.URI} is a FileNode: create, update and delete files through /api/files"
            )


def _refuse_protected(triples: Sequence[ox.Triple]) -> None:
    for t in triples:
        if t.predicate.value in PROTECTED_PREDICATES:
            raise InvalidInputError(
                f"{t.predicate.value} is measured and set by the server: upload content through /api/files"
            )


def _object_term(value: str) -> str:
    """An N-Triples term as given, else a bare URI."""
    if value.startswith(("<", '"', "_:")):
        try:
            return str(
                next(iter(ox.parse(f"<urn:x> <urn:y> {value} .", format=ox.RdfFormat.N_TRIPLES))).object
            )
        except (SyntaxError, StopIteration):
            raise InvalidInputError(f"object {value[:100]!r} is not an N-Triples term") from None
    return iri(value)
