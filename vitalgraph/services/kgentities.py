"""KGEntities: entities with their frames, slots and edges, and the files attached to them.

A file is attached the way VitalSigns data does it (see the org_with_file.jsonld fixture):

    entity -Edge_hasEntityKGFrame-> KGFrame -Edge_hasKGSlot-> KGURISlot --hasUriSlotValue--> FileNode

Attachments are found by that pattern alone, never by a marker of ours, so the frames, slots and
edges a client writes itself count exactly like the ones `attach_file` creates.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from vitalgraph.errors import ConflictError, InvalidInputError, NotFoundError
from vitalgraph.graph.base import GraphStore, iri, literal
from vitalgraph.model import (
    Edge_hasEntityKGFrame,
    Edge_hasKGFrame,
    Edge_hasKGSlot,
    FileNode,
    GraphObject,
    KGEntity,
    KGFrame,
    KGSlot,
    KGURISlot,
    VITAL_Edge,
)
from vitalgraph.model.kgentities_model import EntityQueryCriteria
from vitalgraph.model.properties import PropertySpec
from vitalgraph.model.values import TypedLiteral, parse_datetime
from vitalgraph.model.vocab import (
    OBJECT_CREATION_TIME,
    OBJECT_MODIFICATION_TIME,
    RDF_TYPE,
    REFERENCE_IDENTIFIER,
    VITAL_CORE,
)
from vitalgraph.services.entity_query import criteria_patterns, criteria_sort_keys
from vitalgraph.services.files import FileService, check_uri_count
from vitalgraph.services.graph_objects import GraphObjectCollection, class_family
from vitalgraph.services.spaces import SpaceService

EDGE_SOURCE = VITAL_CORE + "hasEdgeSource"
EDGE_DESTINATION = VITAL_CORE + "hasEdgeDestination"
URI_SLOT_VALUE = KGURISlot.uriSlotValue.uri
# The frame and slot types of the fixture data; informative only, attachments are recognised without them.
DOCUMENT_FRAME_TYPE = "urn:kgtype:DocumentFrame"
DOCUMENT_FILE_SLOT_TYPE = "urn:kgtype:DocumentFileURISlot"


@dataclass(frozen=True)
class Attachment:
    """One entity -> frame -> slot -> file path."""

    entity: str
    entity_edge: str
    frame: str
    slot_edge: str
    slot: str
    file: str

    @property
    def link_uris(self) -> tuple[str, str, str, str]:
        return (self.entity_edge, self.frame, self.slot_edge, self.slot)


@dataclass(frozen=True)
class EntityDeletion:
    entity_uris: list[str]
    structure_uris: list[str]  # the entities' frames, slots and the edges between them
    file_uris: list[str]  # files deleted with them (delete_attachments=true)


def attachment_objects(entity_uri: str, file_uri: str) -> list[GraphObject]:
    """The four objects that attach a file to an entity, as in org_with_file.jsonld."""
    frame = KGFrame(kGFrameType=DOCUMENT_FRAME_TYPE)
    slot = KGURISlot(kGSlotType=DOCUMENT_FILE_SLOT_TYPE, uriSlotValue=file_uri)
    return [
        Edge_hasEntityKGFrame(edgeSource=entity_uri, edgeDestination=frame.URI),
        frame,
        Edge_hasKGSlot(edgeSource=frame.URI, edgeDestination=slot.URI),
        slot,
    ]


def as_utc(moment: datetime) -> datetime:
    """A date-time in UTC; one without a zone is taken to be UTC."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def entity_time(entity: GraphObject, prop: str) -> datetime | None:
    """An entity's creation or modification time (undeclared properties: a date-time, or the typed
    literal the store's canonical form `...Z` leaves them as)."""
    value = entity.get(prop)
    if isinstance(value, TypedLiteral):
        value = parse_datetime(value.lexical)
    return value if isinstance(value, datetime) else None


def touched(entity: GraphObject, now: datetime | None = None) -> GraphObject:
    """The entity with its modification time set to now (in place), as the older server kept it."""
    entity.set(OBJECT_MODIFICATION_TIME, now or datetime.now(UTC))
    return entity


def parent_link(parent_uri: str, entity_uri: str) -> Edge_hasEntityKGFrame:
    """The edge from a parent entity to a child, as the older server linked them (`parent_uri`). Its URI
    follows from the two ends, so linking twice writes the same edge."""
    name = uuid.uuid5(uuid.NAMESPACE_URL, f"{parent_uri} {entity_uri}")
    return Edge_hasEntityKGFrame(
        f"urn:vitalgraph:entity-parent:{name}", edgeSource=parent_uri, edgeDestination=entity_uri
    )


def check_edge_ends(objects: Iterable[GraphObject]) -> None:
    for obj in objects:
        if isinstance(obj, VITAL_Edge) and not (obj.edgeSource and obj.edgeDestination):
            raise InvalidInputError(f"edge {obj.URI} needs both hasEdgeSource and hasEdgeDestination")


def _given(uri: str | None) -> list[str]:
    return [] if uri is None else [uri]


def entity_property(name: str, parameter: str) -> str:
    """The IRI of a property given as an IRI or a KGEntity attribute name (400 naming `parameter`)."""
    spec = getattr(KGEntity, name, None)
    if isinstance(spec, PropertySpec):
        return spec.uri
    if ":" not in name:
        raise InvalidInputError(
            f"{parameter} {name!r} is not a KGEntity property: give its IRI or attribute name (e.g. name)"
        )
    return name


def _values(variable: str, uris: Iterable[str]) -> str:
    return f"VALUES ?{variable} {{ {' '.join(iri(u) for u in uris)} }}"


class KGEntityService(GraphObjectCollection):
    """Entity CRUD (requests may carry the entities' frames, slots and edges) plus file attachments."""

    def __init__(self, graph: GraphStore, spaces: SpaceService, files: FileService) -> None:
        super().__init__(graph, spaces, KGEntity, companions=(KGFrame, KGSlot, VITAL_Edge))
        self.files = files

    def check_request(self, objects: Sequence[GraphObject]) -> None:
        super().check_request(objects)
        check_edge_ends(objects)

    def stamped(
        self, objects: Sequence[GraphObject], current: dict[str, GraphObject]
    ) -> Sequence[GraphObject]:
        """Entities get their creation and modification times from the server, as the older server
        stamped them: a new one both now, a replaced one keeps its stored creation time."""
        now = datetime.now(UTC)
        for entity in objects:
            if isinstance(entity, KGEntity):
                stored = current[entity.URI].get(OBJECT_CREATION_TIME) if entity.URI in current else None
                entity.set(OBJECT_CREATION_TIME, stored or now)
                touched(entity, now)
        return objects

    async def create(  # type: ignore[override]  # adds the older client's parent_uri
        self,
        space_id: str,
        graph_id: str | None,
        objects: Sequence[GraphObject],
        *,
        parent_uri: str | None = None,
    ) -> list[str]:
        """Insert entities with their frames, slots and edges (409 if a URI exists). `parent_uri`: an
        existing entity (404 otherwise) each new one is linked under by an Edge_hasEntityKGFrame."""
        links = self._parent_links(objects, parent_uri)
        return await super().create(space_id, graph_id, [*objects, *links], requires=_given(parent_uri))

    async def update(  # type: ignore[override]  # adds the older client's parent_uri
        self,
        space_id: str,
        graph_id: str | None,
        objects: Sequence[GraphObject],
        *,
        parent_uri: str | None = None,
    ) -> list[str]:
        """Replace entities (404 if missing); `parent_uri` as in `create` (an existing link stays one)."""
        links = self._parent_links(objects, parent_uri)
        return await super().update(space_id, graph_id, [*objects, *links], requires=_given(parent_uri))

    @staticmethod
    def _parent_links(objects: Sequence[GraphObject], parent_uri: str | None) -> list[GraphObject]:
        if parent_uri is None:
            return []
        entities = [o.URI for o in objects if isinstance(o, KGEntity)]
        if parent_uri in entities:
            raise InvalidInputError(f"parent_uri {parent_uri} is one of the entities sent")
        return [parent_link(parent_uri, uri) for uri in entities]

    async def find_by_reference_ids(
        self, space_id: str, graph_id: str | None, reference_ids: Sequence[str]
    ) -> list[GraphObject]:
        """The entities whose hasReferenceIdentifier is one of `reference_ids` (as the older server
        looked them up), by URI; unknown ids are left out."""
        if not reference_ids:
            raise InvalidInputError("no reference ids given")
        check_uri_count(reference_ids)
        graph = await self.graph_for(space_id, graph_id)
        ids = ", ".join(literal(i) for i in dict.fromkeys(reference_ids))
        rows = await self.graph.select(
            f"SELECT DISTINCT ?s WHERE {{ GRAPH {iri(graph)} {{ ?s {iri(REFERENCE_IDENTIFIER)} ?id "
            f"FILTER(STR(?id) IN ({ids})) }} }} ORDER BY ?s"
        )
        found = await self.graph.get_objects(graph, [row["s"].value for row in rows])
        return [o for o in found if isinstance(o, KGEntity)]

    async def list_entities(
        self,
        space_id: str,
        graph_id: str | None,
        criteria: EntityQueryCriteria,
        *,
        page_size: int,
        offset: int,
        sort_by: str | None = None,
        descending: bool = False,
    ) -> tuple[list[GraphObject], int]:
        """A page of the entities matching `criteria`, by URI or by the property `sort_by` (an IRI or
        KGEntity attribute name; entities without it first), `descending` reversing the order."""
        return await self.query(
            space_id,
            graph_id,
            criteria,
            page_size=page_size,
            offset=offset,
            order_by=entity_property(sort_by, "sort_by") if sort_by else None,
            descending=descending,
        )

    async def update_entities_only(
        self, space_id: str, graph_id: str | None, objects: Sequence[GraphObject]
    ) -> list[str]:
        """Replace the entities' own properties; their frames, slots and edges stay. KGEntity objects
        only (400 naming the others)."""
        others = [o.URI for o in objects if not isinstance(o, KGEntity)]
        if others:
            raise InvalidInputError(
                f"an entity_only update takes KGEntity objects only, not: {', '.join(others)}"
            )
        return await self.update(space_id, graph_id, objects)

    async def query(
        self,
        space_id: str,
        graph_id: str | None,
        criteria: EntityQueryCriteria,
        *,
        page_size: int,
        offset: int,
        order_by: str | None = None,
        descending: bool = False,
    ) -> tuple[list[GraphObject], int]:
        """A page of the entities matching the older client's query criteria, by URI (or the property
        IRI `order_by`), and how many match."""
        graph = await self.graph_for(space_id, graph_id)
        objects, total = await self.graph.list_objects(
            graph,
            class_family(KGEntity),
            limit=page_size,
            offset=offset,
            search=criteria.search_string,
            patterns=criteria_patterns(criteria),
            order_by=order_by,
            descending=descending,
            sort_keys=criteria_sort_keys(criteria),
        )
        return [o for o in objects if isinstance(o, KGEntity)], total

    async def count(self, space_id: str, graph_id: str | None, criteria: EntityQueryCriteria) -> int:
        return (await self.query(space_id, graph_id, criteria, page_size=0, offset=0))[1]

    # --- reads ------------------------------------------------------------------------------
    async def get_with_attachments(
        self, space_id: str, graph_id: str | None, uris: Sequence[str]
    ) -> list[GraphObject]:
        """The entities, then their attachment frames, slots, edges and FileNodes."""
        graph = await self.graph_for(space_id, graph_id)
        entities = await self.require_all(graph, uris)
        attachments = await self._attachments(graph, uris)
        related = dict.fromkeys(u for a in attachments for u in (*a.link_uris, a.file))
        return [*entities, *await self.graph.get_objects(graph, list(related))]

    async def attached_files(self, space_id: str, graph_id: str | None, entity_uri: str) -> list[FileNode]:
        graph = await self.graph_for(space_id, graph_id)
        await self.require_all(graph, [entity_uri])
        files = dict.fromkeys(a.file for a in await self._attachments(graph, [entity_uri]))
        return [o for o in await self.graph.get_objects(graph, list(files)) if isinstance(o, FileNode)]

    # --- attachments ------------------------------------------------------------------------
    async def attach_file(
        self, space_id: str, graph_id: str | None, entity_uri: str, file_uri: str
    ) -> list[str]:
        """Link a FileNode to an entity; returns the URIs of the edge, frame, edge and slot created."""
        graph = await self.graph_for(space_id, graph_id)
        async with self.writing(graph):
            await self.require_all(graph, [entity_uri])
            await self._require_file(graph, file_uri)
            if await self._attachments(graph, [entity_uri], file_uri):
                raise ConflictError(f"file {file_uri} is already attached to entity {entity_uri}")
            objects = attachment_objects(entity_uri, file_uri)
            await self.graph.insert_objects(graph, objects)
        return [o.URI for o in objects]

    async def detach_file(
        self, space_id: str, graph_id: str | None, entity_uri: str, file_uri: str
    ) -> list[str]:
        """Remove every path linking the file to the entity (the file itself stays); returns what was removed.

        A frame goes too once it has no slot left, along with the edges leading to it.
        """
        graph = await self.graph_for(space_id, graph_id)
        async with self.writing(graph):
            await self.require_all(graph, [entity_uri])
            attachments = await self._attachments(graph, [entity_uri], file_uri)
            if not attachments:
                raise NotFoundError(f"file {file_uri} is not attached to entity {entity_uri}")
            removed = {u for a in attachments for u in (a.slot_edge, a.slot)}
            frames = {a.frame for a in attachments}
            slots_by_frame: dict[str, set[str]] = {f: set() for f in frames}
            for _edge, frame, slot in await self.edges(graph, Edge_hasKGSlot, sources=frames):
                slots_by_frame[frame].add(slot)
            emptied = {f for f, slots in slots_by_frame.items() if slots <= removed}
            removed |= emptied
            removed |= {
                edge for edge, _, _ in await self.edges(graph, Edge_hasEntityKGFrame, destinations=emptied)
            }
            await self.graph.delete_objects(graph, sorted(removed))
        return sorted(removed)

    # --- delete -----------------------------------------------------------------------------
    async def delete(  # type: ignore[override]  # returns what went, not only the entity URIs
        self, space_id: str, graph_id: str | None, uris: Sequence[str], *, delete_attachments: bool = False
    ) -> EntityDeletion:
        """Delete entities with their frames, slots and edges; their attached files too if asked.

        All entities must exist (404, nothing deleted). Frames or slots another entity still links
        to are kept. Files go first, so a failure there leaves the entities to retry with.
        """
        graph = await self.graph_for(space_id, graph_id)
        async with self.writing(graph):
            entity_uris = [o.URI for o in await self.require_all(graph, uris)]
            structure = await self._structure(graph, set(entity_uris))
            file_uris: list[str] = []
            if delete_attachments:
                file_uris = list(dict.fromkeys(a.file for a in await self._attachments(graph, entity_uris)))
                if file_uris:
                    await self.files.delete_files(space_id, graph_id, file_uris)
            await self.graph.delete_objects(graph, [*entity_uris, *structure])
        return EntityDeletion(entity_uris, sorted(structure), file_uris)

    # --- graph patterns ---------------------------------------------------------------------
    async def _attachments(
        self, graph: str, entity_uris: Iterable[str], file_uri: str | None = None
    ) -> list[Attachment]:
        file_filter = _values("file", [file_uri]) if file_uri else ""
        rows = await self.graph.select(
            f"SELECT ?entity ?entityEdge ?frame ?slotEdge ?slot ?file WHERE {{ GRAPH {iri(graph)} {{ "
            f"{_values('entity', entity_uris)} {file_filter} "
            f"?entityEdge <{RDF_TYPE}> <{Edge_hasEntityKGFrame.class_uri}> ; "
            f"<{EDGE_SOURCE}> ?entity ; <{EDGE_DESTINATION}> ?frame . "
            f"?slotEdge <{RDF_TYPE}> <{Edge_hasKGSlot.class_uri}> ; <{EDGE_SOURCE}> ?frame ; "
            f"<{EDGE_DESTINATION}> ?slot . "
            f"?slot <{URI_SLOT_VALUE}> ?file . ?file <{RDF_TYPE}> <{FileNode.class_uri}> . "
            f"}} }} ORDER BY ?entity ?frame ?slot"
        )
        names = ("entity", "entityEdge", "frame", "slotEdge", "slot", "file")
        return [Attachment(*(row[n].value for n in names)) for row in rows]

    async def edges(
        self,
        graph: str,
        edge_class: type[VITAL_Edge],
        *,
        sources: Iterable[str] | None = None,
        destinations: Iterable[str] | None = None,
    ) -> list[tuple[str, str, str]]:
        """(edge, source, destination) of the edges of a class, from and/or to the given nodes."""
        sources = None if sources is None else list(sources)
        destinations = None if destinations is None else list(destinations)
        if sources == [] or destinations == []:
            return []
        filters = (_values("source", sources) if sources else "") + (
            _values("destination", destinations) if destinations else ""
        )
        rows = await self.graph.select(
            f"SELECT ?edge ?source ?destination WHERE {{ GRAPH {iri(graph)} {{ {filters} "
            f"?edge <{RDF_TYPE}> <{edge_class.class_uri}> ; <{EDGE_SOURCE}> ?source ; "
            f"<{EDGE_DESTINATION}> ?destination "
            f"}} }}"
        )
        return [(row["edge"].value, row["source"].value, row["destination"].value) for row in rows]

    async def owned(
        self, graph: str, parents: set[str], edge_class: type[VITAL_Edge]
    ) -> tuple[set[str], set[str]]:
        """Edges of `edge_class` leaving `parents`, and their destinations no other node links to."""
        outgoing = await self.edges(graph, edge_class, sources=parents)
        children = {destination for _, _, destination in outgoing}
        incoming = await self.edges(graph, edge_class, destinations=children)
        shared = {destination for _, source, destination in incoming if source not in parents}
        return {edge for edge, _, _ in outgoing}, children - shared

    async def _structure(self, graph: str, entity_uris: set[str]) -> set[str]:
        """The entities' frames and slots, the edges to them and those between their frames, and the
        edges linking them to parent or child entities (`parent_uri`; the other entity stays)."""
        frame_edges, frames = await self.owned(graph, entity_uris, Edge_hasEntityKGFrame)
        frames -= {
            o.URI for o in await self.graph.get_objects(graph, list(frames)) if isinstance(o, KGEntity)
        }
        slot_edges, slots = await self.owned(graph, frames, Edge_hasKGSlot)
        child_edges = {edge for edge, _, _ in await self.edges(graph, Edge_hasKGFrame, sources=frames)}
        parent_edges = {
            edge for edge, _, _ in await self.edges(graph, Edge_hasEntityKGFrame, destinations=entity_uris)
        }
        return frame_edges | frames | slot_edges | slots | child_edges | parent_edges

    async def _require_file(self, graph: str, file_uri: str) -> None:
        found = await self.graph.get_objects(graph, [file_uri])
        if not found or not isinstance(found[0], FileNode):
            raise NotFoundError(f"file node not found: {file_uri}")
