"""Files: FileNode graph objects whose bytes live in the blob store.

The graph holds the metadata; the server alone sets what it measured (length, SHA-256, blob key),
so a client can never make a node claim bytes it does not have.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import anyio

from vitalgraph.blobs.base import PRESIGN_MAX_SECONDS, BlobStore, PresigningBlobStore, WrittenBlob
from vitalgraph.errors import (
    ConflictError,
    FeatureDisabledError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    PreconditionFailedError,
)
from vitalgraph.graph.base import GraphStore, graph_uri
from vitalgraph.model import FileNode, GraphObject
from vitalgraph.services.blob_keys import new_content_key
from vitalgraph.services.blob_release import BlobReleaser
from vitalgraph.services.disposition import content_disposition
from vitalgraph.services.spaces import SpaceService
from vitalgraph.services.transfer_log import logged_transfer

DEFAULT_GRAPH_ID = "default"
DEFAULT_CONTENT_TYPE = "application/octet-stream"
_CONTENT_TYPE = re.compile(r"^[A-Za-z0-9!#$&^_.+-]{1,127}/[A-Za-z0-9!#$&^_.+-]{1,127}(\s*;.{0,256})?$")
SERVER_OWNED = ("fileLength", "sha256", "blobKey", "contentUpdateTime", "nodeVersion")
MAX_URIS_PER_REQUEST = 1000
DEFAULT_PRESIGN_SECONDS = 3600


OPEN_ATTEMPTS = 5  # a download re-reads the node when its blob was replaced just before it opened
CHANGE_ATTEMPTS = 20  # writers of one node that may get in between before a request gives up (409)
# What refuses an upload at commit; its bytes are released at once.
COMMIT_REFUSALS = (NotFoundError, ConflictError, PermissionDeniedError)
CommitCheck = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class FileTarget:
    """The file node an upload fills: its space (and the space's identity when the upload began, None
    for records written before spaces had one), graph and URI."""

    space_id: str
    graph_id: str
    uri: str
    space_uid: str | None

    @property
    def graph_iri(self) -> str:
        return graph_uri(self.space_uid or self.space_id, self.graph_id)


@dataclass(frozen=True)
class UploadResult:
    uri: str
    size: int
    sha256: str
    content_type: str
    filename: str | None
    version: int | None = None  # the node's version once the upload committed


@dataclass(frozen=True)
class NodeVersion:
    uri: str
    version: int | None


@dataclass(frozen=True)
class NodeChange:
    before: FileNode
    after: FileNode | None
    version: int | None  # after the change; None once deleted


@dataclass(frozen=True)
class VersionMatch:
    """An If-Match header: `*` (any version) or the versions (ETags) the client accepts."""

    versions: frozenset[int] | None  # None for "*"

    def matches(self, version: int) -> bool:
        return self.versions is None or version in self.versions

    def __str__(self) -> str:
        return "*" if self.versions is None else ", ".join(node_etag(v) for v in sorted(self.versions))


IfMatch = VersionMatch | None
_ETAG = re.compile(r'\s*(W/)?"([^"]*)"\s*')


def node_etag(version: int | None) -> str:
    """The ETag of a file node's metadata: its version, quoted."""
    return f'"{version or 0}"'


def parse_if_match(header: str | None) -> IfMatch:
    """If-Match (RFC 9110 §13.1.1) on a node: strong comparison, so weak tags match nothing."""
    if header is None:
        return None
    if header.strip() == "*":
        return VersionMatch(None)
    versions: set[int] = set()
    for item in header.split(","):
        match = _ETAG.fullmatch(item)
        if match is None:
            raise InvalidInputError(f'If-Match must be "*" or quoted ETags such as "3", not {header[:80]!r}')
        weak, tag = match.groups()
        if not weak and tag.isdigit() and len(tag) < 19:
            versions.add(int(tag))
    return VersionMatch(frozenset(versions))


@dataclass(frozen=True)
class FileContent:
    """What a download needs: the facts for the headers, and a way to read any byte range."""

    uri: str
    size: int
    sha256: str
    content_type: str
    filename: str | None
    modified: datetime | None
    read_range: Callable[[int, int], AsyncIterator[bytes]]
    close: Callable[[], Awaitable[None]]  # lets the pinned blob version go


@dataclass(frozen=True)
class PresignedDownload:
    """A URL that fetches a file's bytes straight from the blob store, until `expires_at`."""

    uri: str
    url: str
    expires_in: int
    expires_at: datetime
    size: int
    sha256: str


def parse_expires(value: str | None) -> int:
    """The `expires` query parameter: whole seconds, 1 to 604800 (SigV4's limit of one week)."""
    if value is None or value == "":
        return DEFAULT_PRESIGN_SECONDS
    try:
        seconds = int(value.strip())
    except ValueError:
        seconds = 0
    if not 1 <= seconds <= PRESIGN_MAX_SECONDS:
        raise InvalidInputError(
            f"query parameter 'expires' must be a whole number of seconds from 1 to {PRESIGN_MAX_SECONDS}, "
            f"not {value[:40]!r}"
        )
    return seconds


def check_content_type(value: str | None) -> str:
    if not value:
        return DEFAULT_CONTENT_TYPE
    value = value.strip()
    if not _CONTENT_TYPE.match(value) or any(c in value for c in "\r\n\x00"):
        raise InvalidInputError(f"invalid content type {value[:100]!r}")
    return value


def check_file_size(size: int | None, max_size: int | None) -> None:
    """The one rule for a size announced before the bytes (Content-Length, tus Upload-Length)."""
    if size is not None and max_size is not None and size > max_size:
        raise PayloadTooLargeError(
            f"upload of {size} bytes exceeds the maximum file size of {max_size} bytes (MAX_STREAMING_FILE_SIZE)"
        )


def check_filename(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if len(value) > 1024 or any(ord(c) < 32 for c in value):
        raise InvalidInputError("invalid filename: control characters or longer than 1024 characters")
    return value


class FileService:
    def __init__(
        self,
        graph_store: GraphStore,
        blobs: BlobStore,
        spaces: SpaceService,
        *,
        max_upload_size: int | None,
        log_every_mib: int = 256,
    ) -> None:
        self.graph_store = graph_store
        self.blobs = blobs
        self.spaces = spaces
        self.max_upload_size = max_upload_size
        self.log_every_mib = log_every_mib
        self.releaser = BlobReleaser(blobs)
        # streamed uploads receiving bytes on this server, by (space uid, graph, node): cancelled at
        # once when their space or node is deleted (on other replicas, their commit refuses them)
        self._in_flight: dict[tuple[str, str, str], set[anyio.CancelScope]] = {}
        # what else goes with a deleted node (its in-flight resumable uploads): set by the container
        self.on_node_deleted: list[Callable[[str, str, str], Awaitable[None]]] = []

    async def _graph_iri(self, space_id: str, graph_id: str | None) -> str:
        """The IRI of the space's named graph `graph_id`; NotFoundError when the space does not exist."""
        space = await self.spaces.require(space_id)
        return graph_uri(space.uid, graph_id or DEFAULT_GRAPH_ID)

    # --- metadata ------------------------------------------------------------------------
    async def create_files(
        self, space_id: str, graph_id: str | None, objects: Sequence[GraphObject]
    ) -> list[str]:
        graph_iri = await self._graph_iri(space_id, graph_id)
        nodes = _file_nodes(objects)
        taken = await self.graph_store.existing(graph_iri, [n.URI for n in nodes])
        if taken:
            raise ConflictError(f"file node already exists: {sorted(taken)[0]}")
        for node in nodes:
            for name in SERVER_OWNED:
                setattr(node, name, None)
        for node in nodes:  # each node is created by a compare-and-set: two creators never merge
            if not await self.graph_store.compare_and_set(graph_iri, node.URI, None, node):
                raise ConflictError(f"file node already exists: {node.URI}")
        return [n.URI for n in nodes]

    async def update_files(
        self,
        space_id: str,
        graph_id: str | None,
        objects: Sequence[GraphObject],
        *,
        if_match: IfMatch = None,
    ) -> list[NodeVersion]:
        """Replace the nodes' metadata (the content facts stay the server's); each node's new version.

        `if_match` (one node only) names the versions the client accepts: 412 when the node moved on.
        """
        graph_iri = await self._graph_iri(space_id, graph_id)
        nodes = _file_nodes(objects)
        if if_match is not None and len(nodes) != 1:
            raise InvalidInputError("If-Match applies to one file node; send one node per request")
        existing = await self.graph_store.existing(graph_iri, [n.URI for n in nodes])
        missing = [n.URI for n in nodes if n.URI not in existing]
        if missing:
            raise NotFoundError(f"file node not found: {missing[0]}")
        updated = []
        for node in nodes:

            def keep_content(current: FileNode, new: FileNode = node) -> FileNode:
                for name in SERVER_OWNED:  # metadata updates never touch the content facts
                    setattr(new, name, getattr(current, name, None))
                return new

            change = await self._change_node(graph_iri, node.URI, keep_content, if_match=if_match)
            updated.append(NodeVersion(node.URI, change.version))
        return updated

    async def get_file(self, space_id: str, graph_id: str | None, uri: str) -> FileNode:
        graph_iri = await self._graph_iri(space_id, graph_id)
        return await self._get_node(graph_iri, uri)

    async def get_files(self, space_id: str, graph_id: str | None, uris: Sequence[str]) -> list[FileNode]:
        check_uri_count(uris)
        graph_iri = await self._graph_iri(space_id, graph_id)
        return [o for o in await self.graph_store.get_objects(graph_iri, uris) if isinstance(o, FileNode)]

    async def list_files(
        self, space_id: str, graph_id: str | None, *, page_size: int, offset: int, file_filter: str | None
    ) -> tuple[list[FileNode], int]:
        graph_iri = await self._graph_iri(space_id, graph_id)
        objects, total = await self.graph_store.list_objects(
            graph_iri, [FileNode.class_uri], limit=page_size, offset=offset, search=file_filter
        )
        return [o for o in objects if isinstance(o, FileNode)], total

    async def delete_files(
        self, space_id: str, graph_id: str | None, uris: Sequence[str], *, if_match: IfMatch = None
    ) -> list[str]:
        """Delete nodes and release their bytes; every URI must exist, else nothing is deleted."""
        check_uri_count(uris)
        if if_match is not None and len(uris) != 1:
            raise InvalidInputError("If-Match applies to one file node; delete one node per request")
        graph_iri = await self._graph_iri(space_id, graph_id)
        nodes = [o for o in await self.graph_store.get_objects(graph_iri, uris) if isinstance(o, FileNode)]
        found = {n.URI for n in nodes}
        missing = [u for u in uris if u not in found]
        if missing:
            raise NotFoundError(f"file node not found: {missing[0]}")
        for uri in found:
            change = await self._change_node(graph_iri, uri, lambda _current: None, if_match=if_match)
            await self.releaser.release([change.before.blobKey], reason=f"file {uri} deleted")
            self.cancel_uploads(lambda target, g=graph_iri, u=uri: target[1:] == (g, u))
            for hook in self.on_node_deleted:
                await hook(space_id, graph_iri, uri)
        return list(found)

    def cancel_uploads(self, matches: Callable[[tuple[str, str, str]], bool]) -> int:
        """Stop the streamed uploads into deleted targets now; their partial bytes go with them."""
        scopes = [scope for target, group in self._in_flight.items() if matches(target) for scope in group]
        for scope in scopes:
            scope.cancel()
        return len(scopes)

    # --- one writer per node ------------------------------------------------------------------
    async def _change_node(
        self,
        graph_iri: str,
        uri: str,
        change: Callable[[FileNode], FileNode | None],
        *,
        if_match: IfMatch = None,
    ) -> NodeChange:
        """Read the node, apply `change` (None deletes it), and store the result by a compare-and-set
        on the version read; when another writer got in between, read again and apply again. With
        `if_match`, the version read must be one of those, and a writer in between is a 412."""
        for _ in range(CHANGE_ATTEMPTS):
            current = await self._get_node(graph_iri, uri)
            version = current.nodeVersion or 0
            if if_match is not None and not if_match.matches(version):
                raise PreconditionFailedError(
                    f"file node {uri} is at version {node_etag(version)}, not {if_match}: it changed since "
                    "you read it (read it again, then retry with its new ETag)"
                )
            before = copy.deepcopy(current)
            after = change(current)
            if await self.graph_store.compare_and_set(graph_iri, uri, version, after):
                return NodeChange(before, after, version + 1 if after is not None else None)  # type: ignore[arg-type]
            if if_match is not None:
                raise PreconditionFailedError(
                    f"file node {uri} changed while this request applied its change (If-Match {if_match})"
                )
        raise ConflictError(
            f"file node {uri} is being changed by other requests at the same moment; try again"
        )

    # --- content -------------------------------------------------------------------------
    def check_upload_size(self, size: int | None) -> None:
        """PayloadTooLargeError for a declared size over MAX_STREAMING_FILE_SIZE (bytes that arrive are
        counted by the blob store against the same limit)."""
        check_file_size(size, self.max_upload_size)

    async def upload_target(self, space_id: str, graph_id: str | None, uri: str) -> FileTarget:
        """The file node an upload will fill, found once before any byte is read (NotFoundError if not);
        the space's identity is pinned here and checked again at commit."""
        space = await self.spaces.require(space_id)
        target = FileTarget(space_id, graph_id or DEFAULT_GRAPH_ID, uri, space.uid)
        await self._get_node(target.graph_iri, uri)
        return target

    async def upload_content(
        self,
        target: FileTarget,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str | None,
        filename: str | None,
        expected_size: int | None = None,
        authorize: CommitCheck | None = None,
    ) -> UploadResult:
        """Stream `chunks` into a new blob, then point the node at it; the old bytes go last.

        If the space is deleted (or deleted and created anew) before the commit, or `authorize` (the
        caller's write grant, checked again) fails then, the upload is refused and its bytes released
        at once.
        """
        content_type = check_content_type(content_type)
        filename = check_filename(filename)
        key = new_content_key(target.space_uid or target.space_id, target.graph_id, target.uri)
        source = logged_transfer(chunks, label=f"upload {target.uri}", every_mib=self.log_every_mib)
        in_flight = (target.space_uid or target.space_id, target.graph_iri, target.uri)
        with anyio.CancelScope() as scope:
            self._in_flight.setdefault(in_flight, set()).add(scope)
            try:
                written = await self.blobs.write(
                    key, source, max_size=self.max_upload_size, expected_size=expected_size
                )
            finally:
                self._in_flight[in_flight].discard(scope)
                if not self._in_flight[in_flight]:
                    del self._in_flight[in_flight]
        if scope.cancelled_caught:  # its space or node was deleted: the store dropped the partial bytes
            raise NotFoundError(
                f"file node {target.uri} in space {target.space_id!r} was deleted during the upload; "
                "the upload is refused"
            )
        return await self.attach_content(
            target, written, content_type=content_type, filename=filename, authorize=authorize
        )

    async def attach_content(
        self,
        target: FileTarget,
        written: WrittenBlob,
        *,
        content_type: str | None,
        filename: str | None,
        authorize: CommitCheck | None = None,
    ) -> UploadResult:
        """Commit a blob just written (streamed, or a finished resumable upload): point the node at it
        by a compare-and-set; the old bytes go.

        Authorized again at commit: the space must still be the one the upload started in
        (`target.space_uid`), `authorize` must pass, and the node must still exist. If not, the upload is
        refused (NotFoundError, ConflictError, PermissionDeniedError naming why) and its blob is
        released at once. A store failure (StorageUnavailableError) keeps the blob, so a resumable
        upload can commit it on a later try.
        """
        content_type = check_content_type(content_type)
        filename = check_filename(filename)
        uri = target.uri

        def point_at_blob(node: FileNode) -> FileNode:
            node.blobKey = written.key
            node.sha256 = written.sha256
            node.fileLength = written.size
            node.fileType = content_type
            node.contentUpdateTime = int(time.time() * 1000)
            if filename:
                node.fileName = filename
            return node

        # Every byte is stored: finish even if cancelled (shutdown), or the blob would be orphaned, or
        # the node's update left running on a thread after the client was told it failed.
        with anyio.CancelScope(shield=True):
            try:
                graph_iri = await self._commit_target(target, authorize)
                change = await self._change_node(graph_iri, uri, point_at_blob)
            except COMMIT_REFUSALS:
                await self.releaser.release([written.key], reason=f"upload to {uri} refused at commit")
                raise
            if change.before.blobKey != written.key:
                await self.releaser.release([change.before.blobKey], reason=f"file {uri} replaced")
        node = change.after
        assert node is not None
        return UploadResult(
            node.URI, written.size, written.sha256, content_type, node.fileName, change.version
        )

    async def _commit_target(self, target: FileTarget, authorize: CommitCheck | None) -> str:
        """The graph an upload commits into, after checking again that it may."""
        space_id, uri = target.space_id, target.uri
        try:
            space = await self.spaces.require(space_id)
        except NotFoundError:
            raise NotFoundError(
                f"space {space_id!r} was deleted during the upload to {uri}; the upload is refused"
            ) from None
        if target.space_uid is not None and space.uid != target.space_uid:
            raise ConflictError(
                f"space {space_id!r} was deleted and created anew during the upload to {uri}: it is "
                "another space now, so the upload is refused"
            )
        if authorize is not None:
            await authorize()
        return graph_uri(space.uid, target.graph_id)

    async def open_content(self, space_id: str, graph_id: str | None, uri: str) -> FileContent:
        """The node's content, pinned to the blob version the node points at now: every range of the
        download reads that version (call `close` when done). A replace meanwhile either leaves the
        download the old bytes (local store) or makes its later ranges fail (S3); never a mix."""
        graph_iri = await self._graph_iri(space_id, graph_id)
        for _ in range(OPEN_ATTEMPTS):
            node = await self._get_node(graph_iri, uri)
            if not node.blobKey or node.sha256 is None:
                raise NotFoundError(f"file node {uri} has no content yet: upload it first")
            try:
                pinned = await self.blobs.open_pinned(node.blobKey)
            except NotFoundError:
                continue  # replaced between reading the node and opening its blob: read the node again
            break
        else:
            raise ConflictError(f"file {uri} is being replaced again and again; try the download later")
        every = self.log_every_mib

        def read_range(start: int, end: int) -> AsyncIterator[bytes]:
            return logged_transfer(pinned.read(start, end), label=f"download {uri}", every_mib=every)

        modified = (
            datetime.fromtimestamp(node.contentUpdateTime / 1000, tz=UTC)
            if node.contentUpdateTime
            else pinned.stat.modified
        )
        return FileContent(
            uri=uri,
            size=pinned.size,
            sha256=node.sha256,
            content_type=node.fileType or DEFAULT_CONTENT_TYPE,
            filename=node.fileName or node.name,
            modified=modified,
            read_range=read_range,
            close=pinned.close,
        )

    async def presign_download(
        self, space_id: str, graph_id: str | None, uri: str, expires_seconds: int = DEFAULT_PRESIGN_SECONDS
    ) -> PresignedDownload:
        """A presigned GET URL for the file's bytes, when the blob store can make one (S3 can, local cannot)."""
        if not 1 <= expires_seconds <= PRESIGN_MAX_SECONDS:
            raise InvalidInputError(
                f"'expires' must be from 1 to {PRESIGN_MAX_SECONDS} seconds, not {expires_seconds}"
            )
        if not isinstance(self.blobs, PresigningBlobStore):
            raise FeatureDisabledError(
                f"presigned downloads are off on this server: the {type(self.blobs).__name__} cannot "
                f"presign URLs (VITALGRAPH_BLOB_BACKEND=s3 can): "
                "download through /api/files/stream/download instead"
            )
        graph_iri = await self._graph_iri(space_id, graph_id)
        node = await self._get_node(graph_iri, uri)
        if not node.blobKey or node.sha256 is None:
            raise NotFoundError(f"file node {uri} has no content yet: upload it first")
        issued = datetime.now(UTC).replace(microsecond=0)
        url = await self.blobs.presign_download(
            node.blobKey,
            expires_seconds,
            content_disposition=content_disposition(node.fileName or node.name),
            content_type=node.fileType or DEFAULT_CONTENT_TYPE,
        )
        return PresignedDownload(
            uri=uri,
            url=url,
            expires_in=expires_seconds,
            expires_at=issued + timedelta(seconds=expires_seconds),
            size=node.fileLength or 0,
            sha256=node.sha256,
        )

    async def _get_node(self, graph_iri: str, uri: str) -> FileNode:
        found = await self.graph_store.get_objects(graph_iri, [uri])
        if not found or not isinstance(found[0], FileNode):
            raise NotFoundError(f"file node not found: {uri}")
        return found[0]


def _file_nodes(objects: Sequence[GraphObject]) -> list[FileNode]:
    if not objects:
        raise InvalidInputError("no graph objects in the request body")
    check_uri_count([o.URI for o in objects])
    nodes = []
    for obj in objects:
        if not isinstance(obj, FileNode):
            raise InvalidInputError(f"{obj.URI} is a {obj.class_uri}, not a FileNode")
        nodes.append(obj)
    if len({n.URI for n in nodes}) != len(nodes):
        raise InvalidInputError("the same file URI appears twice in the request")
    return nodes


def check_uri_count(uris: Sequence[str]) -> None:
    """At most MAX_URIS_PER_REQUEST URIs per request (files, kgtypes, kgentities)."""
    if len(uris) > MAX_URIS_PER_REQUEST:
        raise InvalidInputError(f"too many URIs in one request ({len(uris)} > {MAX_URIS_PER_REQUEST})")
