"""Typed replies. Graph objects stay the model's own classes (FileNode, GraphObject)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from vitalgraph.model import FileNode


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


class FilesCreated(_Reply):
    created_uris: list[str]
    created_count: int


class FilesUpdated(_Reply):
    updated_uris: list[str]
    updated_count: int


class FilesDeleted(_Reply):
    deleted_uris: list[str]
    deleted_count: int


class UploadResult(_Reply):
    """What the server measured and stored."""

    uri: str
    size: int
    sha256: str
    content_type: str
    filename: str | None = None


class ContentInfo(_Reply):
    """A file's content as its download headers describe it."""

    uri: str
    size: int
    sha256: str | None
    content_type: str
    filename: str | None = None


class DownloadResult(ContentInfo):
    """A finished download. `path` is set when it went to a file; `resumed` counts resumes after drops."""

    path: Path | None = None
    resumed: int = 0
