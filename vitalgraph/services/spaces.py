"""Spaces: the top-level containers of graphs and files."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from vitalgraph.blobs.base import BlobStore
from vitalgraph.errors import ConflictError, InvalidInputError, NotFoundError
from vitalgraph.graph.base import GraphStore, iri, literal, space_graph_prefix
from vitalgraph.services.blob_keys import space_blob_prefix
from vitalgraph.services.blob_release import SYSTEM_GRAPH, BlobReleaser

VG = "http://vitalgraph.ai/ontology/vitalgraph#"
SPACE_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")  # always fullmatch: "$" takes a final "\n"


@dataclass(frozen=True)
class Space:
    space_id: str
    space_name: str
    space_description: str
    created: datetime
    uid: str  # the space's immutable identity: its graphs and blobs are named by it, not by space_id


def new_space_uid(space_id: str) -> str:
    """A fresh identity, `<space_id>~<32 hex>`: readable in graph names, and the '~' (never in a
    space_id) keeps it apart from the identities of format-1 spaces, which are their space_ids."""
    return f"{space_id}~{uuid.uuid4().hex}"


def _space_node(space_id: str) -> str:
    return f"urn:vitalgraph:space:{space_id}"


def check_space_id(space_id: str) -> str:
    if not SPACE_ID_PATTERN.fullmatch(space_id):
        raise InvalidInputError(
            f"invalid space_id {space_id[:140]!r}: use 1-128 letters, digits, '_', '-' or '.', starting "
            f"with a letter or digit"
        )
    return space_id


class SpaceService:
    def __init__(self, graph: GraphStore, blobs: BlobStore) -> None:
        self.graph = graph
        self.blobs = blobs
        self.releaser = BlobReleaser(blobs)
        self._create_lock = asyncio.Lock()
        # what else goes with a deleted space (its in-flight resumable uploads): set by the container
        self.on_deleted: list[Callable[[Space], Awaitable[None]]] = []

    async def create(
        self, space_id: str, space_name: str | None = None, space_description: str = ""
    ) -> Space:
        check_space_id(space_id)
        async with self._create_lock:
            if await self._find(space_id) is not None:
                raise ConflictError(f"space {space_id!r} already exists")
            now = datetime.now(UTC)
            uid = new_space_uid(space_id)
            node = iri(_space_node(space_id))
            created = await self.graph.create_once(
                SYSTEM_GRAPH,
                _space_node(space_id),
                f"{node} a <{VG}Space> ; <{VG}spaceId> {literal(space_id)} ; <{VG}spaceUid> {literal(uid)} ; "
                f"<{VG}spaceName> {literal(space_name or space_id)} ; "
                f"<{VG}spaceDescription> {literal(space_description)} ; <{VG}created> {literal(now.isoformat())} .",
            )
            if not created:  # another replica created it (or is creating it) just now
                raise ConflictError(
                    f"space {space_id!r} already exists or is being created by another request"
                )
        return Space(space_id, space_name or space_id, space_description, now, uid)

    async def list(self) -> list[Space]:
        return await self._query_spaces(None)

    async def get(self, space_id: str) -> Space:
        check_space_id(space_id)  # a malformed id is a bad request (400), not a missing space
        space = await self._find(space_id)
        if space is None:
            raise NotFoundError(f"space {space_id!r} not found")
        return space

    async def update(
        self, space_id: str, space_name: str | None = None, space_description: str | None = None
    ) -> Space:
        """Change a space's name and/or description (its id and creation time stay)."""
        space = await self.get(space_id)
        node = iri(_space_node(space_id))
        changes = [(f"<{VG}spaceName>", space_name), (f"<{VG}spaceDescription>", space_description)]
        for predicate, value in changes:
            if value is not None:
                await self.graph.update(
                    f"DELETE {{ GRAPH <{SYSTEM_GRAPH}> {{ {node} {predicate} ?old }} }} "
                    f"INSERT {{ GRAPH <{SYSTEM_GRAPH}> {{ {node} {predicate} {literal(value)} }} }} "
                    f"WHERE {{ GRAPH <{SYSTEM_GRAPH}> {{ {node} {predicate} ?old }} }}"
                )
        return Space(
            space_id,
            space.space_name if space_name is None else space_name,
            space.space_description if space_description is None else space_description,
            space.created,
            space.uid,
        )

    async def require(self, space_id: str) -> Space:
        return await self.get(space_id)

    async def delete(self, space_id: str) -> None:
        """Remove the space, every graph in it, every file's bytes and its in-flight uploads.

        The space node goes first: from then on no upload can commit into it (a commit checks the
        space's identity), and a space created anew under the same id is another space."""
        space = await self.get(space_id)
        node = iri(_space_node(space_id))
        await self.graph.update(
            f"DELETE WHERE {{ GRAPH <{SYSTEM_GRAPH}> {{ {node} <{VG}spaceUid> {literal(space.uid)} ; ?p ?o }} }}"
        )
        for hook in self.on_deleted:
            await hook(space)
        # graphs before bytes: should releasing fail, what is left is bytes no node points at (gc's)
        await self.graph.drop_graphs(await self.graph.graphs_with_prefix(space_graph_prefix(space.uid)))
        await self.releaser.release_prefix(space_blob_prefix(space.uid), reason=f"space {space_id!r} deleted")

    async def _find(self, space_id: str) -> Space | None:
        if not SPACE_ID_PATTERN.fullmatch(space_id):
            return None
        found = await self._query_spaces(space_id)
        return found[0] if found else None

    async def _query_spaces(self, space_id: str | None) -> list[Space]:
        subject = iri(_space_node(space_id)) if space_id else "?s"
        rows = await self.graph.select(
            f"SELECT ?id ?name ?desc ?created ?uid WHERE {{ GRAPH <{SYSTEM_GRAPH}> {{ {subject} a <{VG}Space> ; "
            f"<{VG}spaceId> ?id ; <{VG}spaceName> ?name ; <{VG}spaceDescription> ?desc ; <{VG}created> ?created ; "
            f"<{VG}spaceUid> ?uid }} }} "
            "ORDER BY ?id",
            point_lookup=space_id is not None,
        )
        return [
            Space(
                r["id"].value,
                r["name"].value,
                r["desc"].value,
                datetime.fromisoformat(r["created"].value),
                r["uid"].value,
            )
            for r in rows
        ]
