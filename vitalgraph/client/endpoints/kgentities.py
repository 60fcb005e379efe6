"""`client.kgentities`: KGEntities as GraphObjects (with their frames, slots and edges), and files
attached to them (entity -> Edge_hasEntityKGFrame -> KGFrame -> Edge_hasKGSlot -> KGURISlot -> FileNode).

Argument order follows the existing VitalGraph client: `(space_id, graph_id, ...)`, with `graph_id`
None for the space's default graph.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx

from vitalgraph.client._requests import Call, model_reply, query
from vitalgraph.client.endpoints._graph_objects import (
    graph_objects,
    jsonld_body,
    objects_of,
    split_uris,
    the_object,
)
from vitalgraph.client.endpoints._operation import AsyncEndpointGroup, SyncEndpointGroup
from vitalgraph.client.errors import NotFoundError
from vitalgraph.client.models import (
    FileAttached,
    FileDetached,
    FramesDeleted,
    FramesWritten,
    KGEntitiesDeleted,
    KGEntityGraph,
    KGEntityList,
    KGFrameList,
    ObjectsCreated,
    ObjectsUpdated,
)
from vitalgraph.model import FileNode, GraphObject

KGENTITIES_PATH = "/api/graphs/kgentities"
ATTACHMENTS_PATH = "/api/graphs/kgentities/files"
FRAMES_PATH = "/api/graphs/kgentities/kgframes"
QUERY_PATH = "/api/graphs/kgentities/query"
COUNT_PATH = "/api/graphs/kgentities/count"
COUNTS_PATH = "/api/graphs/kgentities/counts"


def _texts(values: Mapping[str, str | datetime | None]) -> dict[str, str | None]:
    """Query values as text: date-times in ISO 8601."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}


def _paging(reply: dict[str, Any]) -> dict[str, int]:
    return {name: reply[name] for name in ("total_count", "page_size", "offset")}


def _entity_page(response: httpx.Response) -> KGEntityList:
    reply = response.json()
    return KGEntityList(entities=graph_objects(reply["entities"]), **_paging(reply))


def _entity_graph(uri: str) -> Callable[[httpx.Response], KGEntityGraph]:
    def parse(response: httpx.Response) -> KGEntityGraph:
        objects = graph_objects(response.json())
        entity = next((obj for obj in objects if obj.URI == uri), None)
        if entity is None:
            raise NotFoundError(f"KGEntity not found: {uri}", status_code=404)
        files = [obj for obj in objects if isinstance(obj, FileNode)]
        return KGEntityGraph(entity=entity, objects=objects, files=files)

    return parse


class KGEntityCalls:
    """The KGEntities API as requests and reply parsers (no I/O)."""

    @staticmethod
    def list_kgentities(
        space_id: str,
        graph_id: str | None = None,
        page_size: int = 100,
        offset: int = 0,
        search: str | None = None,
        sort_by: str | None = None,
        sort_order: str = "asc",
        **filters: str | datetime | None,
    ) -> Call[KGEntityList]:
        """A page of KGEntities; `search` keeps those with a text value containing it (case-insensitive),
        `filters` those matching the older list filters (`entity_type_uri`, `status`, `exclude_status`,
        `created_after`, ..., docs/api.md). By URI, or by the property `sort_by` in `sort_order`."""
        params = query(
            space_id=space_id,
            graph_id=graph_id,
            page_size=page_size,
            offset=offset,
            search=search,
            sort_by=sort_by,
            sort_order=sort_order if sort_by else None,
            **_texts(filters),
        )

        return Call("GET", KGENTITIES_PATH, _entity_page, params=params)

    @staticmethod
    def get_kgentity(
        space_id: str, graph_id: str | None, uri: str, include_attachments: bool = False
    ) -> Call[GraphObject | KGEntityGraph]:
        """One KGEntity; NotFoundError if unknown. With `include_attachments=True` a KGEntityGraph:
        the entity, the frames, slots and edges attaching files to it, and those FileNodes."""
        params = query(
            space_id=space_id,
            graph_id=graph_id,
            uri=uri,
            include_attachments="true" if include_attachments else None,
        )
        parse = _entity_graph(uri) if include_attachments else the_object(uri, "KGEntity")
        return Call("GET", KGENTITIES_PATH, parse, params=params)  # type: ignore[arg-type]

    @staticmethod
    def get_kgentities_by_uris(
        space_id: str, graph_id: str | None, uri_list: str | Sequence[str], include_attachments: bool = False
    ) -> Call[list[GraphObject]]:
        """The KGEntities among `uri_list` that exist. With `include_attachments=True` every one must
        exist (NotFoundError otherwise) and the list goes on with their attachment objects and FileNodes."""
        params = query(
            space_id=space_id,
            graph_id=graph_id,
            uri_list=split_uris(uri_list),
            include_attachments="true" if include_attachments else None,
        )
        return Call("GET", KGENTITIES_PATH, lambda response: graph_objects(response.json()), params=params)

    @staticmethod
    def get_kgentities_by_reference_ids(
        space_id: str, graph_id: str | None, reference_ids: str | Sequence[str]
    ) -> Call[list[GraphObject]]:
        """The KGEntities whose hasReferenceIdentifier is one of `reference_ids`; unknown ids are left out."""
        params = query(space_id=space_id, graph_id=graph_id, reference_id_list=split_uris(reference_ids))
        return Call("GET", KGENTITIES_PATH, lambda response: graph_objects(response.json()), params=params)

    @staticmethod
    def create_kgentities(
        space_id: str,
        graph_id: str | None,
        objects: GraphObject | Sequence[GraphObject],
        parent_uri: str | None = None,
    ) -> Call[ObjectsCreated]:
        """Create KGEntities, optionally with their KGFrames, KGSlots and edges; ConflictError (and
        nothing stored) if any URI exists. Frames and slots that attach FileNodes count as attachments.
        `parent_uri`: an existing entity each one is linked under (Edge_hasEntityKGFrame)."""
        return Call(
            "POST",
            KGENTITIES_PATH,
            model_reply(ObjectsCreated),
            params=query(space_id=space_id, graph_id=graph_id, parent_uri=parent_uri),
            json=jsonld_body(objects),
        )

    @staticmethod
    def update_kgentities(
        space_id: str,
        graph_id: str | None,
        objects: GraphObject | Sequence[GraphObject],
        entity_only: bool = False,
        parent_uri: str | None = None,
    ) -> Call[ObjectsUpdated]:
        """Replace KGEntities (NotFoundError if one is missing); frames, slots and edges sent along are
        created or replaced. `entity_only=True` takes KGEntity objects only (InvalidRequestError
        otherwise) and leaves their frames, slots and edges as they are. `parent_uri` as in create."""
        params = query(
            space_id=space_id,
            graph_id=graph_id,
            entity_only="true" if entity_only else None,
            parent_uri=parent_uri,
        )
        return Call(
            "PUT", KGENTITIES_PATH, model_reply(ObjectsUpdated), params=params, json=jsonld_body(objects)
        )

    @staticmethod
    def delete_kgentity(
        space_id: str, graph_id: str | None, uri: str, delete_attachments: bool = False
    ) -> Call[KGEntitiesDeleted]:
        """Delete a KGEntity with its frames, slots and edges. `delete_attachments=True` also deletes
        the attached FileNodes and their bytes; otherwise the files stay."""
        params = query(
            space_id=space_id,
            graph_id=graph_id,
            uri=uri,
            delete_attachments="true" if delete_attachments else None,
        )
        return Call("DELETE", KGENTITIES_PATH, model_reply(KGEntitiesDeleted), params=params)

    @staticmethod
    def delete_kgentities_batch(
        space_id: str, graph_id: str | None, uri_list: str | Sequence[str], delete_attachments: bool = False
    ) -> Call[KGEntitiesDeleted]:
        """Delete several KGEntities as `delete_kgentity` does; if one is missing, none is deleted."""
        params = query(
            space_id=space_id,
            graph_id=graph_id,
            uri_list=split_uris(uri_list),
            delete_attachments="true" if delete_attachments else None,
        )
        return Call("DELETE", KGENTITIES_PATH, model_reply(KGEntitiesDeleted), params=params)

    @staticmethod
    def query_kgentities(
        space_id: str, graph_id: str | None, criteria: Mapping[str, Any], page_size: int = 10, offset: int = 0
    ) -> Call[KGEntityList]:
        """A page of the KGEntities matching `criteria` (`search_string`, `entity_type`, `frame_type`,
        `filters`, `entity_property_filters`: docs/api.md), by URI."""
        body = {"criteria": dict(criteria), "page_size": page_size, "offset": offset}
        return Call(
            "POST", QUERY_PATH, _entity_page, params=query(space_id=space_id, graph_id=graph_id), json=body
        )

    @staticmethod
    def count_kgentities(
        space_id: str, graph_id: str | None = None, **filters: str | datetime | None
    ) -> Call[int]:
        """How many KGEntities match `search`, `sort_by` (has that property) and the list filters."""
        params = query(space_id=space_id, graph_id=graph_id, **_texts(filters))
        return Call("GET", COUNT_PATH, lambda response: response.json()["count"], params=params)

    @staticmethod
    def batch_count_kgentities(
        space_id: str, graph_id: str | None, count_requests: Sequence[Mapping[str, Any]]
    ) -> Call[list[dict[str, Any]]]:
        """`[{"label", "count"}]`, one per request (`label` plus the filters of `count_kgentities`)."""
        body = {
            "space_id": space_id,
            "graph_id": graph_id,
            "count_requests": [dict(r) for r in count_requests],
        }
        return Call("POST", COUNTS_PATH, lambda response: response.json()["counts"], json=body)

    # --- frames -----------------------------------------------------------------------------------
    @staticmethod
    def list_entity_frames(
        space_id: str,
        graph_id: str | None,
        entity_uri: str,
        page_size: int = 10,
        offset: int = 0,
        parent_frame_uri: str | None = None,
        search: str | None = None,
        sort_by: str | None = None,
        sort_order: str = "asc",
        include_slot_counts: bool = False,
    ) -> Call[KGFrameList]:
        """A page of the KGFrames the entity's Edge_hasEntityKGFrame edges lead to, only those under
        `parent_frame_uri` if given (NotFoundError if the entity or that frame is unknown) and with a
        literal containing `search`; by URI, or by the KGFrame property `sort_by` (`sort_order`
        asc or desc). `include_slot_counts`: each listed frame's number of slots in `slot_counts`."""
        params = query(
            space_id=space_id,
            graph_id=graph_id,
            entity_uri=entity_uri,
            page_size=page_size,
            offset=offset,
            parent_frame_uri=parent_frame_uri,
            search=search,
            sort_by=sort_by,
            sort_order=sort_order if sort_by else None,
            include_slot_counts="true" if include_slot_counts else None,
        )

        def parse(response: httpx.Response) -> KGFrameList:
            reply = response.json()
            frames = graph_objects(reply["frames"])
            return KGFrameList(frames=frames, slot_counts=reply.get("slot_counts"), **_paging(reply))

        return Call("GET", FRAMES_PATH, parse, params=params)

    @staticmethod
    def get_entity_frame_graphs(
        space_id: str,
        graph_id: str | None,
        entity_uri: str,
        frame_uris: str | Sequence[str],
        parent_frame_uri: str | None = None,
    ) -> Call[dict[str, list[GraphObject]]]:
        """Each asked frame the entity has (under `parent_frame_uri` if given), with its Edge_hasKGSlot
        edges and slots; other frames are left out."""
        params = query(
            space_id=space_id,
            graph_id=graph_id,
            entity_uri=entity_uri,
            frame_uris=split_uris(frame_uris),
            parent_frame_uri=parent_frame_uri,
        )

        def parse(response: httpx.Response) -> dict[str, list[GraphObject]]:
            graphs = response.json()["frame_graphs"]
            return {uri: graph_objects(graph) for uri, graph in graphs.items() if "error" not in graph}

        return Call("GET", FRAMES_PATH, parse, params=params)

    @staticmethod
    def write_entity_frames(
        space_id: str,
        graph_id: str | None,
        entity_uri: str,
        objects: GraphObject | Sequence[GraphObject],
        operation_mode: str = "create",
        parent_frame_uri: str | None = None,
        if_unmodified_since: str | datetime | None = None,
    ) -> Call[FramesWritten]:
        """Frames of the entity with their slots and edges, in one atomic write: `create`, `update`
        (replaces frames it has, slot graphs included), `upsert`, or `replace` (all its frames, or
        those under `parent_frame_uri`, give way to the ones sent); under the entity's frame
        `parent_frame_uri` if given. NotFoundError if the entity (or parent frame) is unknown,
        ConflictError for a frame of another entity or an entity modified after
        `if_unmodified_since`, InvalidRequestError for edges leading elsewhere; then nothing is stored."""
        params = query(
            space_id=space_id,
            graph_id=graph_id,
            entity_uri=entity_uri,
            operation_mode=operation_mode,
            parent_frame_uri=parent_frame_uri,
            **_texts({"if_unmodified_since": if_unmodified_since}),
        )

        def parse(response: httpx.Response) -> FramesWritten:
            reply = response.json()
            uris = reply["created_uris"] if "created_uris" in reply else reply["updated_uris"]
            return FramesWritten(entity_uri=entity_uri, uris=uris)

        return Call("POST", FRAMES_PATH, parse, params=params, json=jsonld_body(objects))

    @staticmethod
    def delete_entity_frames(
        space_id: str,
        graph_id: str | None,
        entity_uri: str,
        frame_uris: str | Sequence[str],
        recursive: bool = False,
        parent_frame_uri: str | None = None,
    ) -> Call[FramesDeleted]:
        """Delete frames of the entity with their edges and the slots no other frame links to, all or
        nothing; child frames (Edge_hasKGFrame or parentFrameURI) go too with `recursive=True`, else
        ConflictError. With `parent_frame_uri`, NotFoundError for a frame not under it."""
        params = query(
            space_id=space_id,
            graph_id=graph_id,
            entity_uri=entity_uri,
            frame_uris=split_uris(frame_uris),
            recursive="true" if recursive else None,
            parent_frame_uri=parent_frame_uri,
        )
        return Call("DELETE", FRAMES_PATH, model_reply(FramesDeleted), params=params)

    # --- attachments ------------------------------------------------------------------------------
    @staticmethod
    def attach_file(
        space_id: str, graph_id: str | None, entity_uri: str, file_uri: str
    ) -> Call[FileAttached]:
        """Attach an existing FileNode to an entity (the server creates the frame, slot and edges).
        NotFoundError if either is missing, ConflictError if the file is already attached."""
        params = query(space_id=space_id, graph_id=graph_id, entity_uri=entity_uri, file_uri=file_uri)
        return Call("POST", ATTACHMENTS_PATH, model_reply(FileAttached), params=params)

    @staticmethod
    def detach_file(
        space_id: str, graph_id: str | None, entity_uri: str, file_uri: str
    ) -> Call[FileDetached]:
        """Remove the frame, slot and edges linking the file to the entity; the FileNode and its bytes stay."""
        params = query(space_id=space_id, graph_id=graph_id, entity_uri=entity_uri, file_uri=file_uri)
        return Call("DELETE", ATTACHMENTS_PATH, model_reply(FileDetached), params=params)

    @staticmethod
    def list_attached_files(space_id: str, graph_id: str | None, entity_uri: str) -> Call[list[FileNode]]:
        """The FileNodes attached to an entity (NotFoundError if the entity is unknown)."""
        params = query(space_id=space_id, graph_id=graph_id, entity_uri=entity_uri)
        return Call(
            "GET",
            ATTACHMENTS_PATH,
            lambda response: objects_of(FileNode, response.json()["files"]),
            params=params,
        )


class AsyncKGEntitiesEndpoint(AsyncEndpointGroup, calls=KGEntityCalls):
    """The group of AsyncVitalGraphClient: a method for each of KGEntityCalls."""


class KGEntitiesEndpoint(SyncEndpointGroup, calls=KGEntityCalls):
    """The group of VitalGraphClient: a method for each of KGEntityCalls."""
