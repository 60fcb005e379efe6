"""Create, update, get, list and delete the graph objects of one class family in a space's graph.

KGTypes and KGEntities both go through `GraphObjectCollection`. Every write is validated in full
before the single SPARQL update that performs it, so a request that fails changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

from vitalgraph.errors import ConflictError, InvalidInputError, NotFoundError
from vitalgraph.graph.base import GraphStore, graph_uri
from vitalgraph.model import GraphObject
from vitalgraph.services.files import DEFAULT_GRAPH_ID, check_uri_count
from vitalgraph.services.spaces import SpaceService
from vitalgraph.services.upload_locks import LOCKS_GRAPH

# A write of one graph's objects holds the graph's claim this long at most: a server that dies
# mid-write blocks that graph's writers no longer. Writers wait a little longer than that for it.
OBJECT_WRITE_TTL_SECONDS = 30.0
OBJECT_WRITE_WAIT_SECONDS = OBJECT_WRITE_TTL_SECONDS + 5

ObjectClasses = tuple[type[GraphObject], ...]


def class_family(base: type[GraphObject]) -> list[str]:
    """Class URIs of `base` and every registered subclass, for rdf:type filters."""
    found, pending = [], [base]
    while pending:
        cls = pending.pop()
        if cls.class_uri and cls.class_uri not in found:
            found.append(cls.class_uri)
        pending.extend(cls.__subclasses__())
    return sorted(found)


class GraphObjectCollection:
    """The objects of class `kind` (or a registered subclass) in the graphs of spaces.

    Writes may carry companion objects (e.g. an entity's frames) of the classes in `companions`:
    a create inserts them, an update inserts or replaces them; they are never required to exist.
    Collections that write the same objects share `locks` (see `writing`).
    """

    def __init__(
        self,
        graph: GraphStore,
        spaces: SpaceService,
        kind: type[GraphObject],
        companions: ObjectClasses = (),
        locks: dict[str, asyncio.Lock] | None = None,
    ) -> None:
        self.graph = graph
        self.spaces = spaces
        self.kind = kind
        self.companions = companions
        self.label = kind.__name__
        self.locks: dict[str, asyncio.Lock] = {} if locks is None else locks

    async def graph_for(self, space_id: str, graph_id: str | None) -> str:
        space = await self.spaces.require(space_id)
        return graph_uri(space.uid, graph_id or DEFAULT_GRAPH_ID)

    @contextlib.asynccontextmanager
    async def writing(self, graph: str) -> AsyncIterator[None]:
        """Serialises check-then-write sequences on one graph, so two requests can't both pass a check:
        on every server sharing the graph store (a claim there), and within this one first (its lock,
        so that its own writers queue here instead of polling the store for the claim)."""
        async with self.locks.setdefault(graph, asyncio.Lock()):
            async with self.graph.turn(
                LOCKS_GRAPH,
                f"object-writes {graph}",
                ttl_seconds=OBJECT_WRITE_TTL_SECONDS,
                wait_seconds=OBJECT_WRITE_WAIT_SECONDS,
                busy=f"graph {graph} was busy with other writers for {OBJECT_WRITE_WAIT_SECONDS:.0f} s: "
                "nothing was changed, try again",
            ):
                yield

    # --- writes -------------------------------------------------------------------------------
    async def create(self, space_id: str, graph_id: str | None, objects: Sequence[GraphObject]) -> list[str]:
        """Insert the objects; 409 (and nothing stored) if any URI is already in the graph. Returns all URIs written."""
        graph = await self.graph_for(space_id, graph_id)
        self.check_request(objects)
        async with self.writing(graph):
            taken = await self.graph.existing(graph, [o.URI for o in objects])
            if taken:
                raise ConflictError(f"object already exists: {sorted(taken)[0]}")
            await self.graph.insert_objects(graph, objects)
        return [o.URI for o in objects]

    async def update(self, space_id: str, graph_id: str | None, objects: Sequence[GraphObject]) -> list[str]:
        """Replace the objects; 404 if a main object is missing, 409 if a companion's URI holds something else."""
        graph = await self.graph_for(space_id, graph_id)
        self.check_request(objects)
        async with self.writing(graph):
            current = {o.URI: o for o in await self.graph.get_objects(graph, [o.URI for o in objects])}
            for obj in objects:
                self._check_replaceable(obj, current.get(obj.URI))
            await self.graph.replace_objects(graph, objects)
        return [o.URI for o in objects]

    async def delete(self, space_id: str, graph_id: str | None, uris: Sequence[str]) -> list[str]:
        """Delete the objects; 404 (and nothing deleted) if any is missing."""
        graph = await self.graph_for(space_id, graph_id)
        async with self.writing(graph):
            found = await self.require_all(graph, uris)
            await self.graph.delete_objects(graph, [o.URI for o in found])
        return [o.URI for o in found]

    # --- reads ------------------------------------------------------------------------------
    async def get(self, space_id: str, graph_id: str | None, uri: str) -> GraphObject:
        graph = await self.graph_for(space_id, graph_id)
        return (await self.require_all(graph, [uri]))[0]

    async def get_many(self, space_id: str, graph_id: str | None, uris: Sequence[str]) -> list[GraphObject]:
        """The objects that exist, in the order asked; unknown URIs are left out."""
        check_uri_count(uris)
        graph = await self.graph_for(space_id, graph_id)
        return [o for o in await self.graph.get_objects(graph, uris) if isinstance(o, self.kind)]

    async def list(
        self, space_id: str, graph_id: str | None, *, page_size: int, offset: int, search: str | None = None
    ) -> tuple[list[GraphObject], int]:
        graph = await self.graph_for(space_id, graph_id)
        objects, total = await self.graph.list_objects(
            graph, class_family(self.kind), limit=page_size, offset=offset, search=search
        )
        return [o for o in objects if isinstance(o, self.kind)], total

    async def require_all(self, graph: str, uris: Sequence[str]) -> list[GraphObject]:
        """The objects, all of which must exist and be of this collection's kind (404 otherwise)."""
        if not uris:
            raise InvalidInputError("no URIs given")
        check_uri_count(uris)
        found = {o.URI: o for o in await self.graph.get_objects(graph, uris) if isinstance(o, self.kind)}
        missing = [u for u in uris if u not in found]
        if missing:
            raise NotFoundError(f"{self.label} not found: {missing[0]}")
        return [found[u] for u in dict.fromkeys(uris)]

    # --- validation -------------------------------------------------------------------------
    def check_request(self, objects: Sequence[GraphObject]) -> None:
        """A non-empty list of this kind (plus companions) with each URI once; 400 otherwise."""
        if not objects:
            raise InvalidInputError("no graph objects in the request body")
        check_uri_count([o.URI for o in objects])
        for obj in objects:
            obj.check_uri_lengths()
            if not isinstance(obj, (self.kind, *self.companions)):
                raise InvalidInputError(f"{obj.URI} is a {obj.class_uri}, which is not {self._accepted()}")
        if not any(isinstance(o, self.kind) for o in objects):
            raise InvalidInputError(f"the request holds no {self.label}")
        seen: set[str] = set()
        for obj in objects:
            if obj.URI in seen:
                raise InvalidInputError(f"{obj.URI} appears twice in the request")
            seen.add(obj.URI)

    def _check_replaceable(self, new: GraphObject, current: GraphObject | None) -> None:
        if isinstance(new, self.kind):
            if not isinstance(current, self.kind):
                raise NotFoundError(f"{self.label} not found: {new.URI}")
        elif current is not None and not isinstance(current, self.companions):
            raise ConflictError(f"{new.URI} already exists as a {current.class_uri}")

    def _accepted(self) -> str:
        names = [self.kind.__name__, *(c.__name__ for c in self.companions)]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
        return f"a {listed} (or a subclass)"
