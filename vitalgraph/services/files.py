"""Files: FileNode graph objects whose bytes live in the blob store.

The graph holds the metadata; the server alone sets what it measured (length, SHA-256, blob key),
so a client can never make a node claim bytes it does not have.
"""

from __future__ import annotations

import base64
import copy
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import anyio

from vitalgraph import tracing
from vitalgraph.blobs.base import PRESIGN_MAX_SECONDS, BlobStore, PresigningBlobStore, WrittenBlob
from vitalgraph.errors import (
    ConflictError,
    FeatureDisabledError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    PreconditionFailedError,
    QuotaExceededError,
    StorageIntegrityError,
)
from vitalgraph.graph.base import GraphStore, graph_uri
from vitalgraph.model import FileNode, GraphObject
from vitalgraph.services.blob_keys import new_content_key, space_blob_prefix
from vitalgraph.services.blob_release import BlobReleaser
from vitalgraph.services.disposition import content_disposition
from vitalgraph.services.file_versions import FileVersion, FileVersions
from vitalgraph.services.quotas import Limit, QuotaService
from vitalgraph.services.spaces import Space, SpaceService
from vitalgraph.services.transfer_log import logged_transfer

DEFAULT_GRAPH_ID = "default"
DEFAULT_CONTENT_TYPE = "application/octet-stream"
_CONTENT_TYPE = re.compile(r"^[A-Za-z0-9!#$&^_.+-]{1,127}/[A-Za-z0-9!#$&^_.+-]{1,127}(\s*;.{0,256})?$")
SERVER_OWNED = (
    "fileLength",
    "sha256",
    "blobKey",
    "contentUpdateTime",
    "contentUploader",
    "nodeVersion",
    "fileURL",
)
DOWNLOAD_PATH = "/api/files/stream/download"
MAX_URIS_PER_REQUEST = 1000
DEFAULT_PRESIGN_SECONDS = 3600
NAME_PROPERTIES = (FileNode.property_specs["name"].uri, FileNode.property_specs["fileName"].uri)
# What a file list may be sorted by: the key a client sends -> the property (None: the node's URI).
SORT_KEYS: dict[str, str | None] = {
    "uri": None,
    "name": FileNode.property_specs["name"].uri,
    "filename": FileNode.property_specs["fileName"].uri,
    "size": FileNode.property_specs["fileLength"].uri,
    "type": FileNode.property_specs["fileType"].uri,
    "modified": FileNode.property_specs["contentUpdateTime"].uri,
}
TEXT_SORT_KEYS = ("name", "filename", "type")  # compared as lower-case text: "alpha" before "Bravo"


def parse_sort(value: str | None) -> tuple[str | None, bool]:
    """`sort=KEY` or `sort=-KEY` (descending) -> (property IRI or None for the URI, descending)."""
    if not value:
        return None, False
    descending = value.startswith("-")
    key = value[1:] if descending else value
    if key not in SORT_KEYS:
        raise InvalidInputError(
            f"query parameter 'sort' must be one of {', '.join(SORT_KEYS)} (with '-' first for descending), "
            f"not {value[:40]!r}"
        )
    return SORT_KEYS[key], descending


OPEN_ATTEMPTS = 5  # a download re-reads the node when its blob was replaced just before it opened
CHANGE_ATTEMPTS = 20  # writers of one node that may get in between before a request gives up (409)
# What refuses an upload at commit; its bytes are released at once.
COMMIT_REFUSALS = (
    NotFoundError,
    ConflictError,
    PermissionDeniedError,
    QuotaExceededError,
    PreconditionFailedError,
)
CommitCheck = Callable[[], Awaitable[None]]


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
class UploadTarget:
    """Where an upload goes, looked up once when it starts (FileService.upload_target); the commit
    checks again that the space is still this one."""

    space_id: str
    graph_id: str | None
    uri: str
    space: Space
    graph: str  # the named graph's IRI
    current: FileNode  # the node as it was when the upload started


@dataclass(frozen=True)
class NodeChange:
    before: FileNode
    after: FileNode | None
    version: int | None  # after the change; None once deleted
    released: tuple[str, ...] = ()  # blob keys of the versions the change dropped: the caller releases them


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
        graph: GraphStore,
        blobs: BlobStore,
        spaces: SpaceService,
        *,
        max_upload_size: int | None,
        log_every_mib: int = 256,
        public_base_url: str | None = None,
        quotas: QuotaService | None = None,
        versions_kept: int = 0,
        releaser: BlobReleaser,
    ) -> None:
        self.public_base_url = (public_base_url or "").rstrip("/")
        self.graph = graph
        self.blobs = blobs
        self.spaces = spaces
        self.quotas = quotas or QuotaService(graph, spaces)
        self.max_upload_size = max_upload_size
        self.log_every_mib = log_every_mib
        self.releaser = releaser
        self.versions = FileVersions(graph, versions_kept)
        # streamed uploads receiving bytes on this server, by (space uid, graph, node): cancelled at
        # once when their space or node is deleted (on other replicas, their commit refuses them)
        self._in_flight: dict[tuple[str, str, str], set[anyio.CancelScope]] = {}
        # what else goes with a deleted node (its in-flight resumable uploads): set by the container
        self.on_node_deleted: list[Callable[[str, str, str], Awaitable[None]]] = []

    async def _graph(self, space_id: str, graph_id: str | None) -> str:
        space = await self.spaces.require(space_id)
        return graph_uri(space.uid, graph_id or DEFAULT_GRAPH_ID)

    # --- metadata ------------------------------------------------------------------------
    async def create_files(
        self, space_id: str, graph_id: str | None, objects: Sequence[GraphObject]
    ) -> list[str]:
        space = await self.spaces.require(space_id)
        graph = graph_uri(space.uid, graph_id or DEFAULT_GRAPH_ID)
        nodes = _file_nodes(objects)
        taken = await self.graph.existing(graph, [n.URI for n in nodes])
        if taken:
            raise ConflictError(f"file node already exists: {sorted(taken)[0]}")
        for node in nodes:
            for name in SERVER_OWNED:
                setattr(node, name, None)
        async with self.quotas.commit_turn(space) as quota:
            if quota is not None:
                await quota.allow(0, len(nodes))
            for node in nodes:  # each node is created by a compare-and-set: two creators never merge
                if not await self.graph.compare_and_set(graph, node.URI, None, node):
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
        graph = await self._graph(space_id, graph_id)
        nodes = _file_nodes(objects)
        if if_match is not None and len(nodes) != 1:
            raise InvalidInputError("If-Match applies to one file node; send one node per request")
        existing = await self.graph.existing(graph, [n.URI for n in nodes])
        missing = [n.URI for n in nodes if n.URI not in existing]
        if missing:
            raise NotFoundError(f"file node not found: {missing[0]}")
        updated = []
        for node in nodes:

            def keep_content(current: FileNode, new: FileNode = node) -> FileNode:
                for name in SERVER_OWNED:  # metadata updates never touch the content facts
                    setattr(new, name, getattr(current, name, None))
                return new

            change = await self._change_node(graph, node.URI, keep_content, if_match=if_match)
            updated.append(NodeVersion(node.URI, change.version))
        return updated

    async def get_file(self, space_id: str, graph_id: str | None, uri: str) -> FileNode:
        graph = await self._graph(space_id, graph_id)
        return await self._get_node(graph, uri)

    async def get_files(self, space_id: str, graph_id: str | None, uris: Sequence[str]) -> list[FileNode]:
        check_uri_count(uris)
        graph = await self._graph(space_id, graph_id)
        return [o for o in await self.graph.get_objects(graph, uris) if isinstance(o, FileNode)]

    async def list_files(
        self,
        space_id: str,
        graph_id: str | None,
        *,
        page_size: int,
        offset: int,
        file_filter: str | None,
        name: str | None = None,
        sort: str | None = None,
    ) -> tuple[list[FileNode], int]:
        """A page of file nodes. `file_filter`: any text of the node contains it; `name`: its name or
        file name contains it; `sort`: one of SORT_KEYS, `-` first for descending (default: by URI)."""
        order_by, descending = parse_sort(sort)
        graph = await self._graph(space_id, graph_id)
        objects, total = await self.graph.list_objects(
            graph,
            [FileNode.class_uri],
            limit=page_size,
            offset=offset,
            search=file_filter,
            contains=[(NAME_PROPERTIES, name)] if name else (),
            order_by=order_by,
            descending=descending,
            order_as_text=(sort or "").lstrip("-") in TEXT_SORT_KEYS,
        )
        return [o for o in objects if isinstance(o, FileNode)], total

    async def delete_files(
        self, space_id: str, graph_id: str | None, uris: Sequence[str], *, if_match: IfMatch = None
    ) -> list[str]:
        """Delete nodes and release their bytes; every URI must exist, else nothing is deleted."""
        check_uri_count(uris)
        if if_match is not None and len(uris) != 1:
            raise InvalidInputError("If-Match applies to one file node; delete one node per request")
        graph = await self._graph(space_id, graph_id)
        nodes = [o for o in await self.graph.get_objects(graph, uris) if isinstance(o, FileNode)]
        found = {n.URI for n in nodes}
        missing = [u for u in uris if u not in found]
        if missing:
            raise NotFoundError(f"file node not found: {missing[0]}")
        for uri in found:
            change = await self._change_node(graph, uri, lambda _current: None, if_match=if_match)
            await self.releaser.release(
                [change.before.blobKey, *change.released], reason=f"file {uri} deleted"
            )
            self.cancel_uploads(lambda target, g=graph, u=uri: target[1:] == (g, u))
            for hook in self.on_node_deleted:
                await hook(space_id, graph, uri)
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
        graph: str,
        uri: str,
        change: Callable[[FileNode], FileNode | None],
        *,
        if_match: IfMatch = None,
    ) -> NodeChange:
        """Read the node, apply `change` (None deletes it), and store the result by a compare-and-set
        on the version read; when another writer got in between, read again and apply again. With
        `if_match`, the version read must be one of those, and a writer in between is a 412.

        Every change of a node passes here, so here its versions follow its content: the same
        compare-and-set keeps a replaced content as a version and drops those beyond the limit (or all
        of them with the node); the caller releases `released`, the dropped versions' blob keys."""
        for _ in range(CHANGE_ATTEMPTS):
            current = await self._get_node(graph, uri)
            version = current.nodeVersion or 0
            if if_match is not None and not if_match.matches(version):
                raise PreconditionFailedError(
                    f"file node {uri} is at version {node_etag(version)}, not {if_match}: it changed since "
                    "you read it (read it again, then retry with its new ETag)"
                )
            before = copy.deepcopy(current)
            after = change(current)
            versions = await self.versions.change(graph, before, after)
            if await self.graph.compare_and_set(graph, uri, version, after, companions=versions.companions):
                new_version = version + 1 if after is not None else None
                return NodeChange(before, after, new_version, versions.released)
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
        counted by the blob store against the same limit, or a smaller one a quota sets)."""
        check_file_size(size, self.max_upload_size)

    async def upload_target(self, space_id: str, graph_id: str | None, uri: str) -> UploadTarget:
        """The space and node an upload goes to, looked up once, before any body byte is read
        (NotFoundError for a missing space or node)."""
        space = await self.spaces.require(space_id)
        graph = graph_uri(space.uid, graph_id or DEFAULT_GRAPH_ID)
        return UploadTarget(space_id, graph_id, uri, space, graph, await self._get_node(graph, uri))

    async def upload_content(
        self,
        target: UploadTarget,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str | None,
        filename: str | None,
        expected_size: int | None = None,
        authorize: CommitCheck | None = None,
        expected_sha256: str | None = None,
        uploader: str | None = None,
    ) -> UploadResult:
        """Stream `chunks` into a new blob, then point the node at it; the old bytes go last.

        With `expected_sha256` (a digest the client sent), bytes that hash otherwise are refused
        (InvalidInputError naming both digests) and released before the node changes.

        The space is pinned when the upload starts: if it is deleted (or deleted and created anew)
        before the commit, or `authorize` (the caller's write grant, checked again) fails then, the
        upload is refused and its bytes released at once.
        """
        content_type = check_content_type(content_type)
        filename = check_filename(filename)
        space_id, graph_id, uri, space = target.space_id, target.graph_id, target.uri, target.space
        key = new_content_key(space.uid, graph_id or DEFAULT_GRAPH_ID, uri)
        max_size, quota_limit = await self._upload_allowance(space, target.current.fileLength or 0)
        attributes = {"vitalgraph.space_id": space_id, "vitalgraph.uri": uri}
        in_flight = (space.uid, target.graph, uri)
        with tracing.span("files.upload", **attributes) as span, tracing.transfer_stages(span) as stages:
            source = logged_transfer(chunks, label=f"upload {uri}", every_mib=self.log_every_mib)
            with anyio.CancelScope() as scope:
                self._in_flight.setdefault(in_flight, set()).add(scope)
                try:
                    written = await self.blobs.write(
                        key, tracing.timed_receive(source), max_size=max_size, expected_size=expected_size
                    )
                except PayloadTooLargeError:
                    if quota_limit is None:
                        raise
                    raise QuotaExceededError(
                        f"quota of {quota_limit.scope} exceeded: {quota_limit.quota.max_bytes} bytes allowed, "
                        f"{max_size} left for this file; the upload was stopped and nothing was kept"
                    ) from None
                finally:
                    self._in_flight[in_flight].discard(scope)
                    if not self._in_flight[in_flight]:
                        del self._in_flight[in_flight]
            if scope.cancelled_caught:  # its space or node was deleted while the bytes came in
                # the cancel may land after the store finished the blob: release the key either way
                await self.releaser.release([key], reason=f"upload to {uri} stopped: its target was deleted")
                raise NotFoundError(
                    f"file node {uri} in space {space_id!r} was deleted during the upload; the upload is refused"
                )
            span.set_attribute("vitalgraph.size", written.size)
            if expected_sha256 is not None and written.sha256 != expected_sha256:
                await self.releaser.release([written.key], reason=f"upload to {uri} failed its digest")
                raise InvalidInputError(
                    f"digest mismatch: the request says sha-256=:{_b64(expected_sha256)}: but the bytes "
                    f"received have sha-256=:{_b64(written.sha256)}:; nothing was stored"
                )
            with stages.timed("commit"):
                return await self.attach_content(
                    space_id,
                    graph_id,
                    uri,
                    written,
                    content_type=content_type,
                    filename=filename,
                    space_uid=space.uid,
                    authorize=authorize,
                    uploader=uploader,
                )

    async def attach_stored(
        self,
        space_id: str,
        graph_id: str | None,
        uri: str,
        *,
        sha256: str,
        size: int,
        content_type: str | None,
        filename: str | None,
        authorize: CommitCheck | None = None,
        uploader: str | None = None,
    ) -> UploadResult:
        """Give the node content the space already holds (same SHA-256 and size), without its bytes
        being sent again; NotFoundError when the space holds no such content (then send the bytes).
        Only the caller's own space is looked in: no tenant can learn what another one stores."""
        sha256 = sha256.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{64}", sha256) or size < 0:
            raise InvalidInputError("'sha256' must be 64 hex digits and 'size' a byte count of 0 or more")
        space = await self.spaces.require(space_id)
        await self._get_node(graph_uri(space.uid, graph_id or DEFAULT_GRAPH_ID), uri)
        key = await self.releaser.find_shared(space_blob_prefix(space.uid), sha256, size)
        if key is None:
            raise NotFoundError(
                f"space {space_id!r} holds no content with SHA-256 {sha256} and size {size}: upload the bytes"
            )
        return await self.attach_content(
            space_id,
            graph_id,
            uri,
            WrittenBlob(key, size, sha256),
            content_type=content_type,
            filename=filename,
            space_uid=space.uid,
            authorize=authorize,
            held=True,
            uploader=uploader,
        )

    async def attach_content(
        self,
        space_id: str,
        graph_id: str | None,
        uri: str,
        written: WrittenBlob,
        *,
        content_type: str | None,
        filename: str | None,
        space_uid: str | None = None,
        authorize: CommitCheck | None = None,
        held: bool = False,
        uploader: str | None = None,
        if_match: IfMatch = None,
    ) -> UploadResult:
        """Commit a blob just written (streamed, or a finished resumable upload): point the node at it
        by a compare-and-set; the old bytes go.

        Authorized again at commit: the space must still be the one the upload started in
        (`space_uid`), `authorize` must pass, and the node must still exist. If not, the upload is
        refused (NotFoundError, ConflictError, PermissionDeniedError naming why) and its blob is
        released at once. A store failure (StorageUnavailableError) keeps the blob, so a resumable
        upload can commit it on a later try.

        When the space already references identical bytes, the node shares that blob and the one
        just written is released. `held`: `written` is such a shared blob (nothing was written), so
        the commit is refused (NotFoundError) if the blob stops being referenced before it lands.
        `uploader` (a user name) is recorded with the content; `if_match` as for metadata updates.
        """
        content_type = check_content_type(content_type)
        filename = check_filename(filename)
        stored = written.key  # the key the node ends up with: this blob, or an identical one it shares

        def point_at_blob(node: FileNode) -> FileNode:
            node.blobKey = stored
            node.sha256 = written.sha256
            node.fileLength = written.size
            node.fileType = content_type
            node.contentUpdateTime = int(time.time() * 1000)
            node.contentUploader = uploader
            if filename:
                node.fileName = filename
            node.fileURL = self.download_url(space_id, graph_id, uri)
            return node

        # Every byte is stored: finish even if cancelled (shutdown), or the blob would be orphaned, or
        # the node's update left running on a thread after the client was told it failed.
        with anyio.CancelScope(shield=True):
            try:
                space = await self._commit_target(space_id, uri, space_uid, authorize)
                graph = graph_uri(space.uid, graph_id or DEFAULT_GRAPH_ID)
                async with self.quotas.commit_turn(space) as quota:
                    if quota is not None:
                        replaced = (await self._get_node(graph, uri)).fileLength or 0
                        await quota.allow(written.size - replaced, 0)
                    shared = (
                        written.key
                        if held
                        else await self.releaser.find_shared(
                            space_blob_prefix(space.uid), written.sha256, written.size
                        )
                    )
                    if shared is None or (shared == written.key and not held):
                        change = await self._change_node(graph, uri, point_at_blob, if_match=if_match)
                    else:
                        async with self.releaser.adopt(shared) as adopted:
                            if held and not adopted:
                                raise NotFoundError(
                                    f"the content of SHA-256 {written.sha256} went from space {space_id!r} "
                                    "before it could be shared: upload the bytes"
                                )
                            stored = shared if adopted else written.key
                            change = await self._change_node(graph, uri, point_at_blob, if_match=if_match)
            except COMMIT_REFUSALS:
                await self.releaser.release([written.key], reason=f"upload to {uri} refused at commit")
                raise
            # the bytes just written, when an identical blob was adopted, the content replaced (kept if a
            # version holds it) and the versions dropped
            unused = [k for k in (written.key, change.before.blobKey, *change.released) if k != stored]
            await self.releaser.release(unused, reason=f"file {uri} replaced")
        node = change.after
        assert node is not None
        return UploadResult(
            node.URI, written.size, written.sha256, content_type, node.fileName, change.version
        )

    async def copy_content(
        self,
        source: tuple[str, str | None, str],
        target: tuple[str, str | None, str],
        *,
        uploader: str | None = None,
    ) -> UploadResult:
        """Copy one node's content to another (same or other space/graph) inside the blob store; the
        copy's SHA-256 must equal the source's. It commits through `attach_content`, like an upload.
        `source` and `target` are (space_id, graph_id, uri); access is the caller's to check."""
        space_id, graph_id, uri = target
        space = await self.spaces.require(space_id)
        node = await self._get_node(graph_uri(space.uid, graph_id or DEFAULT_GRAPH_ID), uri)  # 404 first
        origin = await self.get_file(*source)
        if not origin.blobKey or origin.sha256 is None:
            raise NotFoundError(f"file node {origin.URI} has no content yet: upload it first")
        key = new_content_key(space.uid, graph_id or DEFAULT_GRAPH_ID, node.URI)
        written = await self.blobs.copy(origin.blobKey, key)
        if written.sha256 != origin.sha256:
            await self.releaser.release([written.key], reason=f"copy of {origin.URI} failed its checksum")
            raise StorageIntegrityError(
                f"the copy of {origin.URI} has SHA-256 {written.sha256}, not the source's {origin.sha256}: "
                "the stored bytes are damaged; nothing was changed"
            )
        return await self.attach_content(
            space_id,
            graph_id,
            uri,
            written,
            content_type=origin.fileType,
            filename=origin.fileName or origin.name,
            space_uid=space.uid,
            uploader=uploader,
        )

    def download_url(self, space_id: str, graph_id: str | None, uri: str) -> str:
        """The person-facing download URL of a file's content (it needs a login, it is not presigned):
        absolute when PUBLIC_BASE_URL is set, else a path on this server."""
        params = {"space_id": space_id, **({"graph_id": graph_id} if graph_id else {}), "uri": uri}
        return f"{self.public_base_url}{DOWNLOAD_PATH}?{urlencode(params)}"

    async def _commit_target(
        self, space_id: str, uri: str, space_uid: str | None, authorize: CommitCheck | None
    ) -> Space:
        """The space an upload commits into, after checking again that it may."""
        try:
            space = await self.spaces.require(space_id)
        except NotFoundError:
            raise NotFoundError(
                f"space {space_id!r} was deleted during the upload to {uri}; the upload is refused"
            ) from None
        if space_uid is not None and space.uid != space_uid:
            raise ConflictError(
                f"space {space_id!r} was deleted and created anew during the upload to {uri}: it is "
                "another space now, so the upload is refused"
            )
        if authorize is not None:
            await authorize()
        return space

    async def _upload_allowance(self, space: Space, replaced: int) -> tuple[int | None, Limit | None]:
        """The size limit for one upload: MAX_STREAMING_FILE_SIZE, or what a quota leaves if that is less
        (the bytes of the content it replaces count as free); and the quota that binds, if one does."""
        allowed, limit = await self.quotas.bytes_allowed(space, freed=replaced)
        if allowed is None or (self.max_upload_size is not None and self.max_upload_size <= allowed):
            return self.max_upload_size, None
        return allowed, limit

    async def open_content(
        self, space_id: str, graph_id: str | None, uri: str, version: int | None = None
    ) -> FileContent:
        """The node's content (or its kept `version`), pinned to the blob version the node points at
        now: every range of the download reads that version (call `close` when done). A replace
        meanwhile either leaves the download the old bytes (local store) or makes its later ranges
        fail (S3); never a mix."""
        graph = await self._graph(space_id, graph_id)
        for _ in range(OPEN_ATTEMPTS):
            node = await self._get_node(graph, uri)
            if version is not None:
                node = _as_node(uri, await self.versions.get(graph, uri, version))
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

    # --- versions --------------------------------------------------------------------------------
    async def list_versions(self, space_id: str, graph_id: str | None, uri: str) -> list[FileVersion]:
        """The previous contents the file keeps (FILE_VERSIONS_KEPT), newest first; [] when off."""
        graph = await self._graph(space_id, graph_id)
        await self._get_node(graph, uri)
        return await self.versions.list(graph, uri)

    async def restore_version(
        self,
        space_id: str,
        graph_id: str | None,
        uri: str,
        number: int,
        *,
        if_match: IfMatch = None,
        uploader: str | None = None,
        authorize: CommitCheck | None = None,
    ) -> UploadResult:
        """Make a kept version the file's content again: a new write like an upload (a compare-and-set,
        `if_match` honoured), so the content it replaces becomes a version in turn. No byte is copied."""
        space = await self.spaces.require(space_id)
        graph = graph_uri(space.uid, graph_id or DEFAULT_GRAPH_ID)
        await self._get_node(graph, uri)
        kept = await self.versions.get(graph, uri, number)
        return await self.attach_content(
            space_id,
            graph_id,
            uri,
            WrittenBlob(kept.blob_key, kept.size, kept.sha256),
            content_type=kept.content_type,
            filename=kept.filename,
            space_uid=space.uid,
            authorize=authorize,
            held=True,
            uploader=uploader,
            if_match=if_match,
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
        graph = await self._graph(space_id, graph_id)
        node = await self._get_node(graph, uri)
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

    async def _get_node(self, graph: str, uri: str) -> FileNode:
        found = await self.graph.get_objects(graph, [uri])
        if not found or not isinstance(found[0], FileNode):
            raise NotFoundError(f"file node not found: {uri}")
        return found[0]


def _as_node(uri: str, version: FileVersion) -> FileNode:
    """A kept version as the node it was, for the download path."""
    millis = int(version.modified.timestamp() * 1000) if version.modified else None
    return FileNode(
        URI=uri,
        blobKey=version.blob_key,
        sha256=version.sha256,
        fileLength=version.size,
        fileType=version.content_type,
        fileName=version.filename,
        contentUpdateTime=millis,
    )


def _file_nodes(objects: Sequence[GraphObject]) -> list[FileNode]:
    if not objects:
        raise InvalidInputError("no graph objects in the request body")
    check_uri_count([o.URI for o in objects])
    nodes = []
    for obj in objects:
        obj.check_uri_lengths()
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


def _b64(sha256_hex: str) -> str:
    return base64.b64encode(bytes.fromhex(sha256_hex)).decode()
