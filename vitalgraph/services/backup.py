"""Backup, restore and verify: the graph store and the blobs its file nodes reference, kept together.

A backup is a snapshot of every VitalGraph graph (one SPARQL query, so one consistent state of the
store) plus the blobs that snapshot references. The blobs are copied after the snapshot; a blob that
vanishes in between (its file was replaced or deleted meanwhile) makes the backup take a fresh
snapshot and copy what that one adds, so an upload that commits during the backup is either wholly in
it (node and bytes) or wholly absent. No hook into the write path is needed for that.

A destination is itself a blob store (a local directory, or an S3 bucket and prefix), laid out as:

    blobs/<blob key>                  each blob once, shared by every snapshot: backups are incremental
    snapshots/<id>/graph.nq           the graphs as N-Quads
    snapshots/<id>/manifest.json      format, time, counts, and each referenced blob's size and SHA-256
    latest.json                       the id of the newest complete snapshot (written last)
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pyoxigraph import RdfFormat, parse

from vitalgraph.blobs.base import BlobStore
from vitalgraph.errors import ConflictError, InvalidInputError, NotFoundError
from vitalgraph.graph.base import CLAIM_HELD, CLAIM_PENDING, GraphStore, space_graph_prefix
from vitalgraph.model.vocab import VG, VITAL
from vitalgraph.services import migrations
from vitalgraph.services.blob_keys import ALL_SPACES_PREFIX
from vitalgraph.services.spaces import SYSTEM_GRAPH

logger = logging.getLogger("vitalgraph.backup")

BACKUP_FORMAT = 1
OUR_GRAPHS = "urn:vitalgraph:"
BLOB_KEY = VG + "hasBlobKey"
SHA256 = VG + "hasFileSHA256"
LENGTH = VITAL + "hasFileLength"
SNAPSHOT_ATTEMPTS = 5
INSERT_BATCH = 2000
TEXT_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class BlobFacts:
    key: str
    size: int | None
    sha256: str | None


@dataclass
class BackupReport:
    snapshot_id: str
    quads: int = 0
    blobs: int = 0
    blobs_copied: int = 0
    bytes_copied: int = 0
    blobs_already_there: int = 0
    snapshots_taken: int = 0
    missing: list[str] = field(default_factory=list)  # referenced by a node, but not in the store
    corrupt: list[str] = field(default_factory=list)  # in the store, but not the bytes the node claims


@dataclass
class RestoreReport:
    snapshot_id: str
    quads: int = 0
    blobs_restored: int = 0
    spaces: list[str] = field(default_factory=list)
    migrated: list[str] = field(default_factory=list)  # steps run on data from an older store format


@dataclass
class VerifyReport:
    nodes: int = 0
    blobs_checked: int = 0
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    orphaned: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.corrupt or self.orphaned)


# --- backup ---------------------------------------------------------------------------------------
async def backup(graph: GraphStore, blobs: BlobStore, target: BlobStore) -> BackupReport:
    """Write a consistent snapshot and the blobs it references into `target`."""
    report = BackupReport(snapshot_id=datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f"))  # keys are lowercase
    store_format = await migrations.graph_format(graph) or 1
    copied: set[str] = set()
    for _ in range(SNAPSHOT_ATTEMPTS):
        quads = await dump_quads(graph)
        report.snapshots_taken += 1
        facts = referenced_blobs(quads)
        vanished = []
        for blob in facts.values():
            if blob.key in copied:
                continue
            outcome = await _copy_blob(blobs, target, blob, report)
            if outcome == "vanished":
                vanished.append(blob.key)
            else:
                copied.add(blob.key)
        if not vanished:
            break
        logger.info("backup: %d blob(s) changed during the snapshot; taking another", len(vanished))
    else:
        report.missing = sorted(vanished)  # still referenced after every fresh snapshot: really missing
    report.quads, report.blobs = len(quads), len(facts)
    folder = f"snapshots/{report.snapshot_id}"
    await _write_text(target, f"{folder}/graph.nq", (line + "\n" for line in quads))
    manifest = {
        "format": BACKUP_FORMAT,
        "store_format": store_format,
        "snapshot_id": report.snapshot_id,
        "created": datetime.now(UTC).isoformat(),
        "quads": report.quads,
        "blobs": {key: {"size": b.size, "sha256": b.sha256} for key, b in sorted(facts.items())},
        "missing": report.missing,
        "corrupt": report.corrupt,
    }
    await _write_text(target, f"{folder}/manifest.json", [json.dumps(manifest, indent=1)])
    await _replace_text(target, "latest.json", json.dumps({"snapshot_id": report.snapshot_id}))
    return report


async def dump_quads(graph: GraphStore) -> list[str]:
    """Every quad of every VitalGraph graph, as N-Quads lines, from one query (one consistent state).
    Left out: claims (held for a moment by a request, meaningless later) and the store's format
    record (the manifest carries it; the restoring server keeps its own)."""
    rows = await graph.select(
        f'SELECT ?g ?s ?p ?o WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), "{OUR_GRAPHS}")) '
        f"FILTER(?p NOT IN (<{CLAIM_HELD}>, <{CLAIM_PENDING}>, <{migrations.FORMAT_VERSION}>)) }}"
    )
    return [f"{row['s']} {row['p']} {row['o']} {row['g']} ." for row in rows]


def referenced_blobs(quads: Iterable[str]) -> dict[str, BlobFacts]:
    """Blob key -> what the node that references it says about its bytes."""
    by_subject: dict[tuple[str, str], dict[str, str]] = {}
    for quad in _parse(quads):
        predicate = quad.predicate.value
        if predicate in (BLOB_KEY, SHA256, LENGTH):
            subject = (quad.graph_name.value, quad.subject.value)
            by_subject.setdefault(subject, {})[predicate] = quad.object.value
    found = {}
    for values in by_subject.values():
        key = values.get(BLOB_KEY)
        if key:
            size = values.get(LENGTH)
            found[key] = BlobFacts(key, int(size) if size is not None else None, values.get(SHA256))
    return found


async def _copy_blob(blobs: BlobStore, target: BlobStore, blob: BlobFacts, report: BackupReport) -> str:
    destination = f"blobs/{blob.key}"
    try:
        there = await target.stat(destination)
        if blob.size is None or there.size == blob.size:
            report.blobs_already_there += 1
            return "there"
        await target.delete(destination)  # a partial or wrong copy from an older run
    except NotFoundError:
        pass
    try:
        await blobs.stat(blob.key)
    except NotFoundError:
        return "vanished"
    try:
        written = await target.write(destination, blobs.read(blob.key))
    except NotFoundError:
        return "vanished"
    report.blobs_copied += 1
    report.bytes_copied += written.size
    if (blob.sha256 and written.sha256 != blob.sha256) or (
        blob.size is not None and written.size != blob.size
    ):
        report.corrupt.append(blob.key)
    return "copied"


# --- restore --------------------------------------------------------------------------------------
async def restore(
    graph: GraphStore,
    blobs: BlobStore,
    source: BlobStore,
    *,
    spaces: list[str] | None = None,
    snapshot_id: str | None = None,
    data_dir: Path,
) -> RestoreReport:
    """Load a snapshot's graphs and copy back its blobs. Without `spaces` the target must hold no
    spaces yet; with `spaces`, only those spaces (graphs, space record, grants, bytes) are restored,
    and each must not exist in the target."""
    snapshot_id = snapshot_id or await latest_snapshot(source)
    manifest = json.loads(await _read_text(source, f"snapshots/{snapshot_id}/manifest.json"))
    store_format = int(manifest.get("store_format", 1))
    if store_format > migrations.CURRENT_FORMAT:
        raise ConflictError(
            f"the backup holds store format {store_format}, written by a newer VitalGraph; this server "
            f"knows formats up to {migrations.CURRENT_FORMAT}: restore it with a newer server"
        )
    lines = (await _read_text(source, f"snapshots/{snapshot_id}/graph.nq")).splitlines()
    existing = await _existing_spaces(graph)
    if spaces is None:
        if existing:
            raise ConflictError(
                f"restore into a server that already has spaces ({', '.join(sorted(existing)[:5])}): "
                "restore into an empty one, or pick spaces with --space"
            )
    else:
        clash = sorted(set(spaces) & existing)
        if clash:
            raise ConflictError(
                f"space(s) {', '.join(clash)} exist already: delete them first to restore them"
            )
        lines = _lines_of_spaces(lines, spaces)
        if not lines:
            raise NotFoundError(f"snapshot {snapshot_id} holds none of the spaces {', '.join(spaces)}")
    report = RestoreReport(snapshot_id=snapshot_id, spaces=sorted(spaces or _spaces_in(lines)))
    for blob in referenced_blobs(lines).values():
        try:
            await blobs.stat(blob.key)
            continue  # already there (keys are written once)
        except NotFoundError:
            pass
        written = await blobs.write(blob.key, source.read(f"blobs/{blob.key}"))
        if blob.sha256 and written.sha256 != blob.sha256:
            await blobs.delete(blob.key)
            raise InvalidInputError(f"backup copy of blob {blob.key} is corrupt: SHA-256 {written.sha256}")
        report.blobs_restored += 1
    for batch in _batches(lines, INSERT_BATCH):  # bytes first: a node never points at a missing blob
        await graph.update(_insert_quads(batch))
    report.quads = len(lines)
    # Data from an older format is brought up to this server's, as a start-up would (steps are idempotent).
    context = migrations.MigrationContext(graph, blobs, data_dir)
    for step in migrations.MIGRATIONS:
        if step.to_version > store_format:
            await step.apply(context)
            report.migrated.append(f"format {step.to_version}: {step.description}")
    return report


async def latest_snapshot(source: BlobStore) -> str:
    try:
        return json.loads(await _read_text(source, "latest.json"))["snapshot_id"]
    except NotFoundError:
        raise NotFoundError("no backup found there (no latest.json)") from None


def _lines_of_spaces(lines: list[str], spaces: list[str]) -> list[str]:
    """The space records, grants and graphs of `spaces`. Graphs are named by a space's identity
    (`spaceUid`); in format 1, before identities, by its space_id."""
    wanted_system_subjects = set()
    system_quads = []
    for quad, line in zip(_parse(lines), lines, strict=True):
        if quad.graph_name.value != SYSTEM_GRAPH:
            continue
        system_quads.append((quad, line))
        if quad.predicate.value in (VG + "spaceId", VG + "grantSpace") and quad.object.value in spaces:
            wanted_system_subjects.add(quad.subject.value)
    records: dict[str, dict[str, str]] = {}
    for quad, _ in system_quads:
        if quad.subject.value in wanted_system_subjects:
            records.setdefault(quad.subject.value, {})[quad.predicate.value] = quad.object.value
    uids = {r.get(VG + "spaceUid", r[VG + "spaceId"]) for r in records.values() if VG + "spaceId" in r}
    prefixes = tuple(f"<{space_graph_prefix(uid)}" for uid in uids)
    kept = [
        line
        for quad, line in zip(_parse(lines), lines, strict=True)
        if str(quad.graph_name).startswith(prefixes)
    ]
    kept += [line for quad, line in system_quads if quad.subject.value in wanted_system_subjects]
    return kept


def _spaces_in(lines: list[str]) -> list[str]:
    return sorted(
        {
            q.object.value
            for q in _parse(lines)
            if q.predicate.value == VG + "spaceId" and q.graph_name.value == SYSTEM_GRAPH
        }
    )


async def _existing_spaces(graph: GraphStore) -> set[str]:
    rows = await graph.select(
        f"SELECT ?id WHERE {{ GRAPH <{SYSTEM_GRAPH}> {{ ?s a <{VG}Space> ; <{VG}spaceId> ?id }} }}"
    )
    return {row["id"].value for row in rows}


def _insert_quads(lines: list[str]) -> str:
    by_graph: dict[str, list[str]] = {}
    for quad in _parse(lines):
        triple = f"{quad.subject} {quad.predicate} {quad.object} ."
        by_graph.setdefault(str(quad.graph_name), []).append(triple)
    body = " ".join(f"GRAPH {g} {{ {' '.join(triples)} }}" for g, triples in by_graph.items())
    return f"INSERT DATA {{ {body} }}"


# --- verify ---------------------------------------------------------------------------------------
async def verify(graph: GraphStore, blobs: BlobStore, *, orphan_min_age_seconds: float = 0) -> VerifyReport:
    """Check every file node's blob (present, size, SHA-256) and list blobs no node references.
    Reads everything, changes nothing. Blobs younger than `orphan_min_age_seconds` may belong to an
    upload still committing, so they are not called orphans."""
    quads = await dump_quads(graph)
    facts = referenced_blobs(quads)
    report = VerifyReport(nodes=len(facts))
    for blob in facts.values():
        try:
            stat = await blobs.stat(blob.key)
        except NotFoundError:
            report.missing.append(blob.key)
            continue
        report.blobs_checked += 1
        digest = hashlib.sha256()
        size = 0
        async for chunk in blobs.read(blob.key):
            digest.update(chunk)
            size += len(chunk)
        if (blob.size is not None and size != blob.size) or (
            blob.sha256 and digest.hexdigest() != blob.sha256
        ):
            report.corrupt.append(blob.key)
        del stat
    now = datetime.now(UTC)
    async for stat in blobs.list_keys(ALL_SPACES_PREFIX):  # file content; not the store's own records
        if stat.key not in facts and (now - stat.modified).total_seconds() >= orphan_min_age_seconds:
            report.orphaned.append(stat.key)
    report.missing.sort()
    report.corrupt.sort()
    report.orphaned.sort()
    return report


# --- helpers --------------------------------------------------------------------------------------
def _parse(lines: Iterable[str]) -> Iterator:
    text = "\n".join(lines).encode()
    return iter(parse(text, RdfFormat.N_QUADS)) if text else iter(())


def _batches(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _pieces(lines: Iterable[str]) -> AsyncIterator[bytes]:
    buffer: list[bytes] = []
    pending = 0
    for line in lines:
        data = line.encode()
        buffer.append(data)
        pending += len(data)
        if pending >= TEXT_CHUNK:
            yield b"".join(buffer)
            buffer, pending = [], 0
    if buffer:
        yield b"".join(buffer)


async def _write_text(target: BlobStore, key: str, lines: Iterable[str]) -> None:
    await target.write(key, _pieces(lines))


async def _replace_text(target: BlobStore, key: str, text: str) -> None:
    """Keys are written once in a blob store: replacing means delete, then write."""
    await target.delete(key)
    await target.write(key, _pieces([text]))


async def _read_text(source: BlobStore, key: str) -> str:
    await source.stat(key)
    return b"".join([chunk async for chunk in source.read(key)]).decode()
