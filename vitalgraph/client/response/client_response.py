"""Response objects of the older client's API, with the attributes existing code reads
(`is_success`, `error_code`, `status_code`, `objects`, `created_uris`, `file_size`, ...).

The older `VitalGraphClient` (vitalgraph.client.vitalgraph_client) builds them from our clients'
typed replies: a success has `error_code` 0 and the HTTP status; a failure (for the methods that
reported failures instead of raising) has `error_code` 1, the HTTP status of the error (or 0 when
no response arrived) and the server's message in `error_message`. Graph objects are VitalGraph
model objects (vitalgraph.model), which carry the same attributes as VitalSigns ones.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vitalgraph.model.spaces_model import Space


class VitalGraphResponse(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True, extra="allow")

    error_code: int = 0
    error_message: str | None = None
    status_code: int = 200
    message: str | None = None
    status: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def is_success(self) -> bool:
        return self.error_code == 0

    @property
    def is_error(self) -> bool:
        return not self.is_success

    @property
    def is_conflict(self) -> bool:
        return self.status_code == 409

    def raise_for_error(self) -> None:
        """Raise the client error for a failed response (VitalGraphClientError and its subclasses)."""
        if self.is_error:
            from vitalgraph.client.errors import error_for_status

            detail = self.error_message or self.message or "unknown error"
            raise (
                error_for_status(self.status_code, detail)
                if self.status_code >= 400
                else _plain_error(detail)
            )


def _plain_error(detail: str) -> Exception:
    from vitalgraph.client.errors import VitalGraphClientError

    return VitalGraphClientError(detail)


# --- graph objects ----------------------------------------------------------------------------------
class GraphObjectResponse(VitalGraphResponse):
    objects: list[Any] | None = None

    @property
    def count(self) -> int:
        return len(self.objects) if self.objects else 0


class PaginatedGraphObjectResponse(GraphObjectResponse):
    total_count: int = 0
    page_size: int = 10
    offset: int = 0
    has_more: bool | None = None
    space_id: str | None = None
    graph_id: str | None = None
    entity_type_uri: str | None = None
    search: str | None = None


class EntityGraph(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    entity_uri: str
    objects: list[Any]

    @property
    def count(self) -> int:
        return len(self.objects)


class EntityResponse(GraphObjectResponse):
    space_id: str | None = None
    graph_id: str | None = None


class EntityGraphResponse(VitalGraphResponse):
    objects: EntityGraph | None = None
    space_id: str | None = None
    graph_id: str | None = None
    requested_uri: str | None = None
    requested_reference_id: str | None = None


class MultiEntityGraphResponse(VitalGraphResponse):
    graph_list: list[EntityGraph] | None = None
    total_count: int = 0
    page_size: int = 0
    offset: int = 0
    has_more: bool | None = None
    space_id: str | None = None
    graph_id: str | None = None


class FrameGraph(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    frame_uri: str
    objects: list[Any]

    @property
    def count(self) -> int:
        return len(self.objects)


class FrameResponse(GraphObjectResponse):
    space_id: str | None = None
    graph_id: str | None = None
    slot_counts: dict[str, int] | None = None  # frame URI -> slots, for the page, when asked


class QueryResponse(GraphObjectResponse):
    space_id: str | None = None
    graph_id: str | None = None
    query_criteria: dict[str, Any] | None = None
    query_info: dict[str, Any] | None = None


class FrameGraphResponse(VitalGraphResponse):
    frame_graph: FrameGraph | None = None
    space_id: str | None = None
    graph_id: str | None = None
    entity_uri: str | None = None
    parent_frame_uri: str | None = None
    requested_frame_uri: str | None = None


class MultiFrameGraphResponse(VitalGraphResponse):
    frame_graph_list: list[FrameGraph] | None = None
    space_id: str | None = None
    graph_id: str | None = None
    entity_uri: str | None = None
    requested_frame_uris: list[str] | None = None


class CreateEntityResponse(VitalGraphResponse):
    created_count: int = 0
    created_uris: list[str] = Field(default_factory=list)

    @property
    def count(self) -> int:
        return self.created_count


class UpdateEntityResponse(VitalGraphResponse):
    updated_uri: str | None = None
    updated_uris: list[str] = Field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.updated_uris)


class DeleteResponse(VitalGraphResponse):
    deleted_count: int = 0
    deleted_uris: list[str] = Field(default_factory=list)
    absent_uris: list[str] = Field(default_factory=list)
    space_id: str | None = None
    graph_id: str | None = None
    requested_uris: list[str] | None = None


# --- files ----------------------------------------------------------------------------------------
class FileResponse(GraphObjectResponse):
    file_uri: str | None = None
    file_node: Any | None = None
    space_id: str | None = None
    graph_id: str | None = None
    requested_uri: str | None = None

    @property
    def file(self) -> Any | None:
        return self.file_node


class FilesListResponse(PaginatedGraphObjectResponse):
    file_filter: str | None = None

    @property
    def files(self) -> list[Any]:
        return self.objects or []


class FileCreateResponse(VitalGraphResponse):
    created_uris: list[str] = Field(default_factory=list)
    created_count: int = 0
    objects: list[Any] | None = None
    space_id: str | None = None
    graph_id: str | None = None

    @property
    def file_uri(self) -> str | None:
        return self.created_uris[0] if self.created_uris else None

    @property
    def count(self) -> int:
        return self.created_count


class FileUpdateResponse(VitalGraphResponse):
    updated_uris: list[str] = Field(default_factory=list)
    updated_count: int = 0
    objects: list[Any] | None = None
    space_id: str | None = None
    graph_id: str | None = None

    @property
    def count(self) -> int:
        return self.updated_count


class FileDeleteResponse(VitalGraphResponse):
    deleted_uris: list[str] = Field(default_factory=list)
    deleted_count: int = 0
    space_id: str | None = None
    graph_id: str | None = None
    requested_uris: list[str] | None = None

    @property
    def count(self) -> int:
        return self.deleted_count


class FileUploadResponse(VitalGraphResponse):
    """An upload's (or download's) result: the size and SHA-256 the server measured."""

    file_uri: str
    size: int = 0
    content_type: str | None = None
    filename: str | None = None
    sha256: str | None = None
    space_id: str | None = None
    graph_id: str | None = None

    @property
    def file_size(self) -> int:
        return self.size


# --- spaces ---------------------------------------------------------------------------------------
class SpaceResponse(VitalGraphResponse):
    space: Space | None = None

    @property
    def is_success(self) -> bool:
        return self.space is not None and not self.error_code


class SpaceInfoResponse(SpaceResponse):
    statistics: dict[str, Any] | None = None
    quad_dump: list[str] | None = None


class SpacesListResponse(VitalGraphResponse):
    spaces: list[Space] = Field(default_factory=list)
    total: int = 0

    @property
    def count(self) -> int:
        return len(self.spaces)


class SpaceCreateResponse(VitalGraphResponse):
    space: Any | None = None
    created_count: int = 0
    created_uris: list[str] = Field(default_factory=list)

    @property
    def is_success(self) -> bool:
        return self.created_count > 0 and not self.error_code


class SpaceUpdateResponse(VitalGraphResponse):
    space: Any | None = None
    updated_count: int = 0

    @property
    def is_success(self) -> bool:
        return self.updated_count > 0 and not self.error_code


class SpaceDeleteResponse(VitalGraphResponse):
    deleted_count: int = 0
    space_id: str | None = None

    @property
    def is_success(self) -> bool:
        return self.deleted_count > 0 and not self.error_code


# --- graphs ---------------------------------------------------------------------------------------
class GraphResponse(VitalGraphResponse):
    graph: Any | None = None

    @property
    def is_success(self) -> bool:
        return self.graph is not None and not self.error_code


class GraphsListResponse(VitalGraphResponse):
    graphs: list[Any] = Field(default_factory=list)
    total: int = 0

    @property
    def count(self) -> int:
        return len(self.graphs)


class GraphCreateResponse(VitalGraphResponse):
    graph_uri: str | None = None
    created: bool = False

    @property
    def is_success(self) -> bool:
        return self.created and not self.error_code


class GraphDeleteResponse(VitalGraphResponse):
    graph_uri: str | None = None
    deleted: bool = False

    @property
    def is_success(self) -> bool:
        return self.deleted and not self.error_code


class GraphClearResponse(VitalGraphResponse):
    graph_uri: str | None = None
    cleared: bool = False
    triples_removed: int = 0

    @property
    def is_success(self) -> bool:
        return self.cleared and not self.error_code


# --- kgtypes and objects --------------------------------------------------------------------------
class KGTypeResponse(VitalGraphResponse):
    type: Any | None = None

    @property
    def is_success(self) -> bool:
        return self.type is not None and not self.error_code


class KGTypesListResponse(VitalGraphResponse):
    types: list[Any] = Field(default_factory=list)
    count: int = 0
    total_count: int = 0
    page_size: int | None = None
    offset: int | None = None
    has_more: bool | None = None


class _Created(VitalGraphResponse):
    created: bool = False
    created_count: int = 0
    created_uris: list[str] = Field(default_factory=list)

    @property
    def is_success(self) -> bool:
        return self.created and self.created_count > 0 and not self.error_code


class _Updated(VitalGraphResponse):
    updated: bool = False
    updated_count: int = 0
    updated_uris: list[str] = Field(default_factory=list)

    @property
    def is_success(self) -> bool:
        return self.updated and self.updated_count > 0 and not self.error_code


class _Deleted(VitalGraphResponse):
    deleted: bool = False
    deleted_count: int = 0
    deleted_uris: list[str] = Field(default_factory=list)

    @property
    def is_success(self) -> bool:
        return self.deleted and not self.error_code


class KGTypeCreateResponse(_Created):
    pass


class KGTypeUpdateResponse(_Updated):
    pass


class KGTypeDeleteResponse(_Deleted):
    pass


class ObjectResponse(VitalGraphResponse):
    object: Any | None = None

    @property
    def is_success(self) -> bool:
        return self.object is not None and not self.error_code


class ObjectsListResponse(VitalGraphResponse):
    objects: list[Any] = Field(default_factory=list)
    count: int = 0
    total_count: int = 0
    page_size: int | None = None
    offset: int | None = None
    has_more: bool | None = None


class ObjectCreateResponse(_Created):
    pass


class ObjectUpdateResponse(_Updated):
    pass


class ObjectDeleteResponse(_Deleted):
    pass
