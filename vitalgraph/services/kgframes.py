"""An entity's frames, read and written on their own (the older client's entity frame methods).

An entity's frames are the KGFrames its Edge_hasEntityKGFrame edges lead to; a frame's graph is the
frame, its Edge_hasKGSlot edges and the slots they lead to. Every write is checked in full against
the graph, then made in one SPARQL update, so a request that fails changes nothing. Two writers of one
entity's frames never interleave, on one server or on several sharing the store: each writes in the
graph's write turn (`GraphObjectCollection.writing`: a `GraphStore.turn` claim), as the entity writes do.

A frame may hang under a parent frame of the same entity (`parent_frame_uri`), as the older server
modelled it: an Edge_hasKGFrame leads from the parent to the child, which the entity also links to.
A frame whose parentFrameURI names the parent counts as its child too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from vitalgraph.errors import ConflictError, InvalidInputError, NotFoundError
from vitalgraph.graph.base import iri
from vitalgraph.model import (
    Edge_hasEntityKGFrame,
    Edge_hasKGFrame,
    Edge_hasKGSlot,
    GraphObject,
    KGFrame,
    KGSlot,
)
from vitalgraph.model.vocab import OBJECT_MODIFICATION_TIME
from vitalgraph.services.files import check_uri_count
from vitalgraph.services.graph_objects import GraphObjectCollection, class_family
from vitalgraph.services.kgentities import KGEntityService, as_utc, check_edge_ends, entity_time, touched

FrameWriteMode = Literal["create", "update", "upsert", "replace"]


@dataclass(frozen=True)
class FrameDeletion:
    frame_uris: list[str]
    related_uris: list[str]  # the edges to and from them, and the slots no other frame links to


class KGFrameService(GraphObjectCollection):
    """KGFrames with their slots and edges, always in the context of one entity."""

    def __init__(self, entities: KGEntityService) -> None:
        super().__init__(
            entities.graph,
            entities.spaces,
            KGFrame,
            companions=(KGSlot, Edge_hasKGSlot, Edge_hasEntityKGFrame, Edge_hasKGFrame),
            locks=entities.locks,
        )
        self.entities = entities

    def check_request(self, objects: Sequence[GraphObject]) -> None:
        super().check_request(objects)
        check_edge_ends(objects)

    # --- reads ------------------------------------------------------------------------------
    async def list_frames(
        self,
        space_id: str,
        graph_id: str | None,
        entity_uri: str,
        *,
        page_size: int,
        offset: int,
        parent_frame_uri: str | None = None,
        search: str | None = None,
        sort_by: str | None = None,
        descending: bool = False,
    ) -> tuple[list[GraphObject], int]:
        """A page of the entity's frames (those under `parent_frame_uri` if given, with a literal
        containing `search`), and how many there are; 404 if the entity, or its parent frame, is
        missing. By URI, or by the KGFrame property `sort_by` (an IRI or attribute name; frames
        without it first, 400 for another property), then URI; `descending` reverses the order."""
        order_by = _frame_property(sort_by) if sort_by else None
        graph = await self.graph_for(space_id, graph_id)
        frames = await self._frames_of(graph, entity_uri, parent_frame_uri)
        among = f"FILTER(?s IN ({', '.join(iri(f.URI) for f in frames)}))"
        return await self.graph.list_objects(
            graph,
            class_family(KGFrame),
            limit=page_size,
            offset=offset,
            search=search,
            patterns=[among],
            order_by=order_by,
            descending=descending,
        )

    async def frame_graphs(
        self,
        space_id: str,
        graph_id: str | None,
        entity_uri: str,
        frame_uris: Sequence[str],
        parent_frame_uri: str | None = None,
    ) -> dict[str, list[GraphObject]]:
        """Each asked frame the entity has (under `parent_frame_uri` if given), with its Edge_hasKGSlot
        edges and slots; others are left out."""
        check_uri_count(frame_uris)
        graph = await self.graph_for(space_id, graph_id)
        owned = {f.URI: f for f in await self._frames_of(graph, entity_uri, parent_frame_uri)}
        frames = [owned[u] for u in dict.fromkeys(frame_uris) if u in owned]
        slot_edges = await self.entities.edges(graph, Edge_hasKGSlot, sources=[f.URI for f in frames])
        linked = await self.graph.get_objects(
            graph, [u for edge, _, slot in slot_edges for u in (edge, slot)]
        )
        by_uri = {o.URI: o for o in linked}
        graphs: dict[str, list[GraphObject]] = {f.URI: [f] for f in frames}
        for edge, frame, slot in sorted(slot_edges):
            graphs[frame] += [by_uri[u] for u in (edge, slot) if u in by_uri]
        return graphs

    async def slot_counts(
        self, space_id: str, graph_id: str | None, frames: Sequence[GraphObject]
    ) -> dict[str, int]:
        """Frame URI -> how many slots its Edge_hasKGSlot edges lead to (0 included)."""
        graph = await self.graph_for(space_id, graph_id)
        edges = await self.entities.edges(graph, Edge_hasKGSlot, sources=[f.URI for f in frames])
        counts = dict.fromkeys((f.URI for f in frames), 0)
        for frame, _ in {(source, slot) for _, source, slot in edges}:
            counts[frame] += 1
        return counts

    # --- writes -----------------------------------------------------------------------------
    async def write_frames(
        self,
        space_id: str,
        graph_id: str | None,
        entity_uri: str,
        objects: Sequence[GraphObject],
        mode: FrameWriteMode = "create",
        parent_frame_uri: str | None = None,
        if_unmodified_since: datetime | None = None,
    ) -> list[str]:
        """Create (`create`), replace (`update`), create-or-replace (`upsert`) frames of the entity with
        their slots and edges, or replace all of them (`replace`); returns every URI written.

        A frame sent without an Edge_hasEntityKGFrame from the entity gets one. Replacing a frame
        replaces its graph: its slots and slot edges that are not sent again go. `replace`, as the
        older server did it, first removes every frame of the entity (with `parent_frame_uri`: every
        frame under that frame) with their child frames, slots and edges, then creates the frames
        sent; here both happen in the one update. Refused, with nothing changed: a missing entity
        (404); a frame of another entity, or a URI held by anything other than the replaced frames'
        graphs (409); `update` of a frame the entity does not have (404); edges that lead elsewhere
        than from the entity to a frame sent, or from a frame sent to a slot sent, and slots no sent
        frame links to (400); an entity modified after `if_unmodified_since` (409).

        With `parent_frame_uri` (a frame of the entity, 404 otherwise) the frames sent hang under it: a
        new one gets an Edge_hasKGFrame from it, and one replaced must already be its child (404).
        The entity's modification time moves to now in the same update.
        """
        self.check_request(objects)
        _check_structure(entity_uri, objects, parent_frame_uri)
        graph = await self.graph_for(space_id, graph_id)
        async with self.writing(graph):
            entity = await self._unmodified_entity(graph, entity_uri, if_unmodified_since)
            frames = await self._frames_of(graph, entity_uri)
            if mode == "replace":
                written, removing = await self._replacement(
                    graph, entity_uri, frames, objects, parent_frame_uri
                )
            else:
                written, removing = await self._changes(
                    graph, entity_uri, frames, objects, mode, parent_frame_uri
                )
            await self.graph.replace_objects(graph, [*written, touched(entity)], removing=removing)
        return [o.URI for o in written]

    async def _changes(
        self,
        graph: str,
        entity_uri: str,
        frames: Sequence[GraphObject],
        objects: Sequence[GraphObject],
        mode: FrameWriteMode,
        parent_frame_uri: str | None,
    ) -> tuple[list[GraphObject], list[str]]:
        """create / update / upsert: the objects to write and the URIs to remove."""
        owned = {f.URI for f in frames}
        sent = [o.URI for o in objects if isinstance(o, KGFrame)]
        parent_links = await self._parent_links(graph, entity_uri, frames, parent_frame_uri, objects)
        existing = await self.graph.existing(graph, [o.URI for o in objects])
        if mode == "create" and existing:
            raise ConflictError(f"object already exists: {sorted(existing)[0]}")
        if mode == "update" and (missing := [u for u in sent if u not in owned]):
            raise NotFoundError(f"entity {entity_uri} has no frame {missing[0]}")
        if foreign := [u for u in sent if u in existing and u not in owned]:
            raise ConflictError(f"{foreign[0]} is not a frame of entity {entity_uri}")
        replaced = {u for u in sent if u in owned}
        slot_edges, slots = await self.entities.owned(graph, replaced, Edge_hasKGSlot)
        frame_edges = await self.entities.edges(graph, Edge_hasEntityKGFrame, destinations=replaced)
        child_edges = await self.entities.edges(graph, Edge_hasKGFrame, destinations=replaced)
        structure = replaced | slot_edges | slots | {edge for edge, _, _ in frame_edges + child_edges}
        if taken := sorted(existing - structure):
            raise ConflictError(f"{taken[0]} already exists outside the frames of entity {entity_uri}")
        linked = {o.edgeDestination for o in objects if isinstance(o, Edge_hasEntityKGFrame)}
        linked |= {frame for _, source, frame in frame_edges if source == entity_uri}
        links = [
            Edge_hasEntityKGFrame(edgeSource=entity_uri, edgeDestination=u) for u in sent if u not in linked
        ]
        return [*objects, *links, *parent_links], sorted(slot_edges | slots)

    async def _replacement(
        self,
        graph: str,
        entity_uri: str,
        frames: Sequence[GraphObject],
        objects: Sequence[GraphObject],
        parent_frame_uri: str | None,
    ) -> tuple[list[GraphObject], list[str]]:
        """replace: every frame of the entity (or under `parent_frame_uri`) and their descendants go
        with their slots and edges; the frames sent come, linked as new ones are."""
        if parent_frame_uri is None:
            doomed = {f.URI for f in frames}
        else:
            doomed = await self._require_children(graph, entity_uri, frames, parent_frame_uri, [])
        while children := await self._children(graph, frames, doomed) - doomed:
            doomed |= children
        doomed.discard(parent_frame_uri or "")
        slot_edges, slots = await self.entities.owned(graph, doomed, Edge_hasKGSlot)
        edges = await self.entities.edges(graph, Edge_hasEntityKGFrame, destinations=doomed)
        edges += await self.entities.edges(graph, Edge_hasKGFrame, sources=doomed)
        edges += await self.entities.edges(graph, Edge_hasKGFrame, destinations=doomed)
        removing = doomed | slot_edges | slots | {edge for edge, _, _ in edges}
        existing = await self.graph.existing(graph, [o.URI for o in objects])
        if taken := sorted(existing - removing):
            raise ConflictError(
                f"{taken[0]} already exists outside the frames replaced of entity {entity_uri}"
            )
        sent = [o.URI for o in objects if isinstance(o, KGFrame)]
        linked = {o.edgeDestination for o in objects if isinstance(o, Edge_hasEntityKGFrame)}
        links: list[GraphObject] = [
            Edge_hasEntityKGFrame(edgeSource=entity_uri, edgeDestination=u) for u in sent if u not in linked
        ]
        if parent_frame_uri is not None:
            children = {
                o.edgeDestination
                for o in objects
                if isinstance(o, Edge_hasKGFrame) and o.edgeSource == parent_frame_uri
            }
            links += [
                Edge_hasKGFrame(edgeSource=parent_frame_uri, edgeDestination=u)
                for u in sent
                if u not in children
            ]
        return [*objects, *links], sorted(removing)

    async def delete_frames(
        self,
        space_id: str,
        graph_id: str | None,
        entity_uri: str,
        frame_uris: Sequence[str],
        *,
        recursive: bool,
        parent_frame_uri: str | None = None,
    ) -> FrameDeletion:
        """Delete frames of the entity with the edges to and from them and the slots no other frame
        links to, all or nothing. Child frames of a deleted one go too with `recursive`; otherwise
        they fail the call (409). A frame the entity does not have, or (with `parent_frame_uri`) one
        not under that parent: 404."""
        if not frame_uris:
            raise InvalidInputError("no frame URIs given")
        check_uri_count(frame_uris)
        graph = await self.graph_for(space_id, graph_id)
        async with self.writing(graph):
            entity = await self._unmodified_entity(graph, entity_uri, None)
            frames = await self._frames_of(graph, entity_uri)
            owned = {f.URI for f in frames}
            if missing := [u for u in frame_uris if u not in owned]:
                raise NotFoundError(f"entity {entity_uri} has no frame {', '.join(missing)}")
            if parent_frame_uri is not None:
                await self._require_children(graph, entity_uri, frames, parent_frame_uri, frame_uris)
            doomed = set(frame_uris)
            while children := await self._children(graph, frames, doomed) - doomed:
                if not recursive:
                    raise ConflictError(
                        f"frames have child frames ({', '.join(sorted(children))}); pass recursive=true"
                    )
                doomed |= children
            slot_edges, slots = await self.entities.owned(graph, doomed, Edge_hasKGSlot)
            frame_edges = await self.entities.edges(graph, Edge_hasEntityKGFrame, destinations=doomed)
            frame_edges += await self.entities.edges(graph, Edge_hasKGFrame, sources=doomed)
            frame_edges += await self.entities.edges(graph, Edge_hasKGFrame, destinations=doomed)
            related = sorted(slot_edges | slots | {edge for edge, _, _ in frame_edges})
            await self.graph.replace_objects(graph, [touched(entity)], removing=[*sorted(doomed), *related])
        return FrameDeletion(sorted(doomed), related)

    async def _unmodified_entity(
        self, graph: str, entity_uri: str, if_unmodified_since: datetime | None
    ) -> GraphObject:
        """The entity (404 if missing); 409 if it was modified after `if_unmodified_since`."""
        [entity] = await self.entities.require_all(graph, [entity_uri])
        modified = entity_time(entity, OBJECT_MODIFICATION_TIME)
        if if_unmodified_since is not None and modified is not None:
            if as_utc(modified) > as_utc(if_unmodified_since):
                raise ConflictError(
                    f"entity {entity_uri} was modified at {modified.isoformat()}, after if_unmodified_since "
                    f"{if_unmodified_since.isoformat()}: nothing was changed; read it again"
                )
        return entity

    async def _frames_of(
        self, graph: str, entity_uri: str, parent_frame_uri: str | None = None
    ) -> list[GraphObject]:
        """The entity's frames (those under `parent_frame_uri` if given) by URI; 404 if the entity,
        or its parent frame, is missing."""
        await self.entities.require_all(graph, [entity_uri])
        edges = await self.entities.edges(graph, Edge_hasEntityKGFrame, sources=[entity_uri])
        destinations = sorted({frame for _, _, frame in edges})
        frames = [o for o in await self.graph.get_objects(graph, destinations) if isinstance(o, KGFrame)]
        if parent_frame_uri is None:
            return frames
        children = await self._require_children(graph, entity_uri, frames, parent_frame_uri, [])
        return [f for f in frames if f.URI in children]

    async def _children(self, graph: str, frames: Sequence[GraphObject], parents: set[str]) -> set[str]:
        """The frames directly under `parents`: an Edge_hasKGFrame from one leads to them, or their
        parentFrameURI names one."""
        edges = await self.entities.edges(graph, Edge_hasKGFrame, sources=parents)
        linked = {child for _, _, child in edges}
        return {f.URI for f in frames if f.URI in linked or getattr(f, "parentFrameURI", None) in parents}

    async def _require_children(
        self,
        graph: str,
        entity_uri: str,
        frames: Sequence[GraphObject],
        parent_frame_uri: str,
        frame_uris: Sequence[str],
    ) -> set[str]:
        """The children of the entity's frame `parent_frame_uri`; 404 if the entity has no such frame
        or one of `frame_uris` is not its child."""
        if parent_frame_uri not in {f.URI for f in frames}:
            raise NotFoundError(f"entity {entity_uri} has no frame {parent_frame_uri} (parent_frame_uri)")
        children = await self._children(graph, frames, {parent_frame_uri})
        if strays := [u for u in frame_uris if u not in children]:
            raise NotFoundError(f"frame {strays[0]} is not a child of frame {parent_frame_uri}")
        return children

    async def _parent_links(
        self,
        graph: str,
        entity_uri: str,
        frames: Sequence[GraphObject],
        parent_frame_uri: str | None,
        objects: Sequence[GraphObject],
    ) -> list[GraphObject]:
        """Edge_hasKGFrame edges from the parent frame to the frames sent that are not under it yet;
        404 if the entity has no such parent frame, or a frame sent that it has is not under it."""
        if parent_frame_uri is None:
            return []
        owned = {f.URI for f in frames}
        sent = [o.URI for o in objects if isinstance(o, KGFrame)]
        replaced = [u for u in sent if u in owned]
        children = await self._require_children(graph, entity_uri, frames, parent_frame_uri, replaced)
        children |= {
            o.edgeDestination
            for o in objects
            if isinstance(o, Edge_hasKGFrame) and o.edgeSource == parent_frame_uri
        }
        return [
            Edge_hasKGFrame(edgeSource=parent_frame_uri, edgeDestination=u) for u in sent if u not in children
        ]


def _frame_property(name: str) -> str:
    """The IRI of a KGFrame property given as its IRI or attribute name (400 otherwise)."""
    specs = KGFrame.property_specs
    if name in specs:
        return specs[name].uri
    if name in {spec.uri for spec in specs.values()}:
        return name
    raise InvalidInputError(
        f"sort_by {name!r} is not a KGFrame property: give its IRI or attribute name (e.g. frameSequence)"
    )


def _check_structure(entity_uri: str, objects: Sequence[GraphObject], parent_frame_uri: str | None) -> None:
    """Edges from the entity to frames sent, from frames sent to slots sent, from the parent frame
    or a frame sent to a frame sent; every slot linked (400)."""
    frames = {o.URI for o in objects if isinstance(o, KGFrame)}
    slots = {o.URI for o in objects if isinstance(o, KGSlot)}
    if parent_frame_uri in frames:
        raise InvalidInputError(f"parent_frame_uri {parent_frame_uri} is one of the frames sent")
    for edge in objects:
        if isinstance(edge, Edge_hasEntityKGFrame):
            ends, expected = (
                (edge.edgeSource == entity_uri, edge.edgeDestination in frames),
                "the entity to a frame",
            )
        elif isinstance(edge, Edge_hasKGSlot):
            ends, expected = (edge.edgeSource in frames, edge.edgeDestination in slots), "a frame to a slot"
        elif isinstance(edge, Edge_hasKGFrame):
            parents = frames | {parent_frame_uri} if parent_frame_uri else frames
            ends = (edge.edgeSource in parents, edge.edgeDestination in frames - {edge.edgeSource})
            expected = "the parent frame or a frame to a frame"
        else:
            continue
        if not all(ends):
            raise InvalidInputError(
                f"edge {edge.URI} leads from {edge.edgeSource} to {edge.edgeDestination}; "
                f"it must lead from {expected} in this request (entity {entity_uri})"
            )
    linked = {o.edgeDestination for o in objects if isinstance(o, Edge_hasKGSlot)}
    if unlinked := sorted(slots - linked):
        raise InvalidInputError(
            f"slot {unlinked[0]} is not linked to a frame in this request by an Edge_hasKGSlot"
        )
