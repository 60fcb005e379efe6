"""File versions: the last FILE_VERSIONS_KEPT contents of each file, kept when a replace changes them.

A version is a record in the file node's own named graph, one subject per version
(`urn:vitalgraph:file-version:<node digest>/<n>`), naming the content the node had until the change
that took it from node version n (its ETag "n") to n+1: blob key, SHA-256, size, type, file name,
time and uploader. It is written by the very compare-and-set that replaces the content (as that
update's companion, see GraphStore.compare_and_set), and dropped the same way when a later replace
trims the list or the node is deleted: a version is never lost nor kept twice, whatever crashes.

The record names its blob with the node's own predicates (hasBlobKey, hasFileSHA256, hasFileLength),
so it is one more reference to the content-addressed blob: deduplication finds it, a release keeps a
blob a version holds, gc counts it and backups copy it, none of them knowing about versions. The
keys of dropped records are released by the caller through the one release path (BlobReleaser).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from vitalgraph.errors import NotFoundError
from vitalgraph.graph.base import Companions, GraphStore, iri, literal
from vitalgraph.model import FileNode
from vitalgraph.model.vocab import RDF_TYPE, VG

FILE_VERSION_CLASS = VG + "FileVersion"
VERSION_OF = VG + "isVersionOf"
VERSION_NUMBER = VG + "hasVersionNumber"
VERSION_PREFIX = "urn:vitalgraph:file-version:"
# what a record copies from the node: the content facts, by the names FileNode gives them
CONTENT_FACTS = (
    "blobKey",
    "sha256",
    "fileLength",
    "fileType",
    "fileName",
    "contentUpdateTime",
    "contentUploader",
)
VERSION_PREDICATES = frozenset({VERSION_OF, VERSION_NUMBER})


@dataclass(frozen=True)
class FileVersion:
    """One previous content of a file: `number` is the node version (ETag) it was the content of last."""

    number: int
    blob_key: str
    sha256: str
    size: int
    content_type: str | None
    filename: str | None
    modified: datetime | None  # when this content was uploaded
    uploader: str | None


@dataclass(frozen=True)
class VersionChange:
    """What a node change does to its versions: the companions of its compare-and-set, and the blob
    keys of the records it drops (to release once the change landed)."""

    companions: Companions | None = None
    released: tuple[str, ...] = ()


def version_subject(node_uri: str, number: int) -> str:
    digest = hashlib.sha256(node_uri.encode()).hexdigest()[:40]
    return f"{VERSION_PREFIX}{digest}/{int(number)}"


class FileVersions:
    def __init__(self, graph: GraphStore, kept: int = 0) -> None:
        self.graph = graph
        self.kept = kept  # FILE_VERSIONS_KEPT: 0 keeps none

    async def list(self, graph: str, uri: str) -> list[FileVersion]:
        """The node's versions, newest first."""
        specs = FileNode.property_specs
        columns = {name: specs[name].uri for name in CONTENT_FACTS}
        optional = " ".join(f"OPTIONAL {{ ?v <{p}> ?{name} }}" for name, p in columns.items())
        rows = await self.graph.select(
            f"SELECT ?n {' '.join('?' + n for n in columns)} WHERE {{ GRAPH {iri(graph)} {{ "
            f"?v <{VERSION_OF}> {iri(uri)} ; <{VERSION_NUMBER}> ?n . {optional} }} }} ORDER BY DESC(?n)",
            point_lookup=True,
        )
        return [_version(row) for row in rows if row.get("blobKey") is not None]

    async def get(self, graph: str, uri: str, number: int) -> FileVersion:
        for version in await self.list(graph, uri):
            if version.number == number:
                return version
        raise NotFoundError(f"file {uri} has no version {number}: list its versions to see which it keeps")

    async def change(self, graph: str, before: FileNode, after: FileNode | None) -> VersionChange:
        """The versions' part of a change from `before` to `after` (None: the node is deleted): a replaced
        content becomes a version, the oldest beyond `kept` go, and all go with the node."""
        if after is not None and after.blobKey == before.blobKey:
            return VersionChange()  # the content stays: metadata only
        existing = await self.list(graph, before.URI)
        insert, room = "", self.kept if after is not None else 0
        if room and before.blobKey and before.sha256 is not None:
            insert, room = _record(before), room - 1
        dropped = existing[room:]
        if not insert and not dropped:
            return VersionChange()
        return VersionChange(
            Companions(insert, tuple(version_subject(before.URI, v.number) for v in dropped)),
            tuple(v.blob_key for v in dropped),
        )


def _record(node: FileNode) -> str:
    """The triples of a version record keeping the node's current content."""
    number = node.nodeVersion or 0
    subject = iri(version_subject(node.URI, number))
    specs = FileNode.property_specs
    facts = [
        f"{subject} <{specs[name].uri}> {_term(value)} ."
        for name in CONTENT_FACTS
        if (value := getattr(node, name, None)) is not None
    ]
    return "\n".join(
        [
            f"{subject} <{RDF_TYPE}> <{FILE_VERSION_CLASS}> .",
            f"{subject} <{VERSION_OF}> {iri(node.URI)} .",
            f"{subject} <{VERSION_NUMBER}> {int(number)} .",
            *facts,
        ]
    )


def _term(value: object) -> str:
    return str(int(value)) if isinstance(value, int) else literal(str(value))


def _version(row: dict[str, object]) -> FileVersion:
    def text(name: str) -> str | None:
        term = row.get(name)
        return None if term is None else term.value  # type: ignore[attr-defined]

    millis = text("contentUpdateTime")
    return FileVersion(
        number=int(text("n") or 0),
        blob_key=text("blobKey") or "",
        sha256=text("sha256") or "",
        size=int(text("fileLength") or 0),
        content_type=text("fileType"),
        filename=text("fileName"),
        modified=datetime.fromtimestamp(int(millis) / 1000, tz=UTC) if millis else None,
        uploader=text("contentUploader"),
    )
