"""Typed replies. Graph objects stay the model's own classes (FileNode, GraphObject)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from vitalgraph.model import FileNode, GraphObject


class _Reply(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Space(_Reply):
    space_id: str
    space_name: str
    space_description: str
    created: datetime


class SpaceList(_Reply):
    spaces: list[Space]
    total_count: int


class SpaceDeleted(_Reply):
    space_id: str


class AuditEntry(_Reply):
    time: datetime
    actor: str
    action: str
    outcome: str
    status: int
    client: str
    space_id: str | None = None
    target: str | None = None
    detail: str | None = None
    request_id: str | None = None


class AuditEntries(_Reply):
    entries: list[AuditEntry]
    total_count: int


class User(_Reply):
    username: str
    role: str
    created: datetime | None
    configured: bool


class UserList(_Reply):
    users: list[User]
    total_count: int


class Grant(_Reply):
    username: str
    level: str


class GrantList(_Reply):
    space_id: str
    grants: list[Grant]


class ApiToken(_Reply):
    token_id: str
    name: str
    username: str
    created: datetime
    expires_at: datetime | None


class ApiTokenCreated(ApiToken):
    token: str  # the secret, shown only in this reply


class ApiTokenList(_Reply):
    tokens: list[ApiToken]
    total_count: int


class FileList(_Reply):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    files: list[FileNode]
    total_count: int
    page_size: int
    offset: int


class ObjectsCreated(_Reply):
    """URIs of every object written (main objects and the companions sent with them)."""

    created_uris: list[str]
    created_count: int


class ObjectsUpdated(_Reply):
    updated_uris: list[str]
    updated_count: int


class ObjectsDeleted(_Reply):
    deleted_uris: list[str]
    deleted_count: int


class FilesCreated(ObjectsCreated):
    pass


class FilesUpdated(ObjectsUpdated):
    versions: dict[str, int | None] = {}  # each node's version (metadata ETag) after the update


class FilesDeleted(ObjectsDeleted):
    pass


class UploadResult(_Reply):
    """What the server measured and stored."""

    uri: str
    size: int
    sha256: str
    content_type: str
    filename: str | None = None
    version: int | None = None  # the file node's version (metadata ETag) after the upload


class FileVersion(_Reply):
    """A previous content a file keeps: `version` is the node version (ETag) it was the content of last."""

    version: int
    size: int
    sha256: str
    content_type: str | None = None
    filename: str | None = None
    modified: datetime | None = None  # when this content was uploaded
    uploader: str | None = None


class FileVersionList(_Reply):
    uri: str
    versions: list[FileVersion]  # newest first


class PresignedUrl(_Reply):
    """A URL that downloads a file's bytes without a token until `expires_at` (S3 presigned, or signed by
    the server on the local store)."""

    uri: str
    url: str
    expires_in: int
    expires_at: datetime
    size: int
    sha256: str


class ContentInfo(_Reply):
    """A file's content as its download headers describe it."""

    uri: str
    size: int
    sha256: str | None
    content_type: str
    filename: str | None = None


class DownloadResult(ContentInfo):
    """A finished download. `path` is set when it went to a file; `resumed` counts resumes after drops.

    With `resume=True`: `continued_from` is how many bytes an earlier, interrupted run had kept (0 when
    there was nothing to continue), and `started_over` says a kept `.part` belonged to content that has
    since been replaced on the server, so it was discarded."""

    path: Path | None = None
    resumed: int = 0
    continued_from: int = 0
    started_over: bool = False


# --- knowledge graph ------------------------------------------------------------------------------
class _GraphReply(_Reply):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)


class KGTypeList(_GraphReply):
    types: list[GraphObject]
    total_count: int
    page_size: int
    offset: int


class KGEntityList(_GraphReply):
    entities: list[GraphObject]
    total_count: int
    page_size: int
    offset: int


class KGFrameList(_GraphReply):
    """A page of an entity's frames, by URI; `total_count` is how many it has."""

    frames: list[GraphObject]
    total_count: int
    page_size: int
    offset: int
    slot_counts: dict[str, int] | None = None  # frame URI -> its slots (0 included), when asked


class FramesWritten(_Reply):
    """Every URI a frame write stored: the objects sent, and the Edge_hasEntityKGFrame edges it added."""

    entity_uri: str
    uris: list[str]


class FramesDeleted(ObjectsDeleted):
    """`deleted_uris`: the frames; `deleted_related_uris`: the edges to and from them and their slots."""

    entity_uri: str
    deleted_related_uris: list[str]


class KGEntityGraph(_GraphReply):
    """An entity with its attachments: `objects` is everything the server sent (the entity, then the
    frames, slots and edges that attach files, then the FileNodes); `files` are those FileNodes."""

    entity: GraphObject
    objects: list[GraphObject]
    files: list[FileNode]


class KGEntitiesDeleted(ObjectsDeleted):
    """`deleted_related_uris`: the entities' frames, slots and edges; `deleted_file_uris`: FileNodes
    deleted with them (only with `delete_attachments=True`)."""

    deleted_related_uris: list[str]
    deleted_file_uris: list[str]


class FileAttached(_Reply):
    entity_uri: str
    file_uri: str
    created_uris: list[str]


class FileDetached(_Reply):
    entity_uri: str
    file_uri: str
    deleted_uris: list[str]


class ObjectList(_GraphReply):
    objects: list[GraphObject]
    total_count: int
    page_size: int
    offset: int


class GraphInfo(_Reply):
    """A named graph of a space."""

    graph_id: str
    triple_count: int


class SparqlResults(_Reply):
    """A SELECT or ASK answer in the SPARQL 1.1 JSON results format, as the server sent it.

    `head` holds `vars` (SELECT) and maybe `link`; `results` holds `bindings` (SELECT only);
    `boolean` is the ASK answer. Each binding maps a variable to `{"type", "value", ...}`.
    """

    head: dict[str, Any]
    results: dict[str, Any] | None = None
    boolean: bool | None = None

    @property
    def vars(self) -> list[str]:
        return list(self.head.get("vars", []))

    @property
    def bindings(self) -> list[dict[str, Any]]:
        return list((self.results or {}).get("bindings", []))

    def values(self, variable: str) -> list[str | None]:
        """The plain values bound to `variable`, row by row (None where it is unbound)."""
        return [row.get(variable, {}).get("value") for row in self.bindings]
