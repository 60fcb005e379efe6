"""The store format version, and the migrations that bring older data up to it on start.

Data outlives code: whatever a server stores (graph layout, blob keys, resumable-upload records)
has a format version, recorded in the graph (`<urn:vitalgraph:store>` in the system graph) and
beside the blobs (an object `vitalgraph-store/format-N`). On start, `migrate` runs every step above
the recorded version, in order, then records the new version. Each step is idempotent (a crash
half-way is repaired by running it again), and replicas starting together take turns through a
graph-store claim, so one of them migrates and the others find the work done.

A store written by a newer server (a higher version than this code knows) is refused, not guessed at.

To change what is stored: add a step to MIGRATIONS (to_version = the last one + 1) with a test on a
data folder written by the previous version (tests/fixtures/store_v1/ is format 1).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import anyio

from vitalgraph.blobs.base import BlobStore
from vitalgraph.errors import StorageUnavailableError
from vitalgraph.graph.base import CREATION_CLAIM, GraphStore
from vitalgraph.services.spaces import SYSTEM_GRAPH, VG

logger = logging.getLogger("vitalgraph.migrations")

STORE_NODE = "urn:vitalgraph:store"
FORMAT_VERSION = "urn:vitalgraph:formatVersion"
BLOB_FORMAT_PREFIX = "vitalgraph-store/"
MIGRATION_CLAIM = "store-migration"
MIGRATION_CLAIM_TTL_SECONDS = 3600.0
MIGRATION_WAIT_SECONDS = 600.0


@dataclass(frozen=True)
class MigrationContext:
    graph: GraphStore
    blobs: BlobStore
    data_dir: Path


@dataclass(frozen=True)
class Migration:
    to_version: int
    description: str
    apply: Callable[[MigrationContext], Awaitable[None]]


# --- the steps ------------------------------------------------------------------------------------
async def _spaces_get_an_identity(context: MigrationContext) -> None:
    """Format 1 named a space's graphs and blobs by its space_id, so a space deleted and created anew
    under the same id was the same space. Each space gets an immutable identity (`spaceUid`); an
    existing space gets its space_id as identity, so its graphs and blobs keep their names."""
    graph = context.graph
    await graph.update(
        f"INSERT {{ GRAPH <{SYSTEM_GRAPH}> {{ ?s <{VG}spaceUid> ?id }} }} WHERE {{ GRAPH <{SYSTEM_GRAPH}> "
        f"{{ ?s a <{VG}Space> ; <{VG}spaceId> ?id FILTER NOT EXISTS {{ ?s <{VG}spaceUid> ?any }} }} }}"
    )
    # the creation claims of format 1 (claims now live on nodes of their own); any left were a crash's
    await graph.update(f"DELETE WHERE {{ GRAPH ?g {{ ?s <{CREATION_CLAIM}> ?claim }} }}")
    rows = await graph.select(
        f"SELECT ?id ?uid WHERE {{ GRAPH <{SYSTEM_GRAPH}> {{ ?s a <{VG}Space> ; <{VG}spaceId> ?id ; "
        f"<{VG}spaceUid> ?uid }} }}"
    )
    uids = {row["id"].value: row["uid"].value for row in rows}  # type: ignore[attr-defined]
    # resumable uploads under way remember the space they began in
    await anyio.to_thread.run_sync(_pin_upload_records, context.data_dir / "tus", uids)


def _pin_upload_records(directory: Path, uids: dict[str, str]) -> None:
    if not directory.exists():
        return
    for path in directory.glob("*.json"):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # the tus service reports unreadable records
        if record.get("space_uid") is None and record.get("space_id") in uids:
            record["space_uid"] = uids[record["space_id"]]
            temp = path.with_suffix(".migrating")
            temp.write_text(json.dumps(record))
            temp.replace(path)


async def _resumable_state_into_the_bucket(context: MigrationContext) -> None:
    """Format 3: on S3, a resumable upload's state (record, multipart upload id and parts, the tail
    smaller than a part) lives in the bucket, so any replica continues any upload; format 2 kept it on
    the disk of the server that began it (DATA_DIR/s3-staging, DATA_DIR/tus). The S3 store moves what
    its server still holds on disk whenever it opens (every replica has a disk of its own); this step
    does the same for the migrating server, idempotently. The local store's layout is unchanged."""
    # A capability of the S3 store only; asked for by name, so that a server on the local store never
    # imports the S3 client (a second of CPU at every start of a fresh data directory).
    adopt_local_state = getattr(context.blobs, "adopt_local_state", None)
    if adopt_local_state is not None:
        await adopt_local_state(context.data_dir / "s3-staging", context.data_dir / "tus")


async def _blobs_may_be_shared(context: MigrationContext) -> None:
    """Format 4 lets nodes of one space share a blob (deduplication): a server of an older format would
    delete a shared blob with the first node that lets go of it, so it must refuse this data. The
    data of format 2 needs no change: each of its blobs has one node, which is a reference count of 1."""
    del context


async def _files_keep_versions(context: MigrationContext) -> None:
    """Format 5 keeps a file's previous contents as version records beside its node (file_versions.py),
    each one more reference to a blob, and records who uploaded a content: a server of an older format
    would delete a node and leave its versions holding their bytes for ever, so it must refuse this
    data. Format 4 data needs no change: its files have no versions yet, its contents no uploader."""
    del context


MIGRATIONS: list[Migration] = [
    Migration(2, "spaces get an immutable identity (graphs and blobs named by it)", _spaces_get_an_identity),
    Migration(3, "S3 resumable-upload state lives in the bucket", _resumable_state_into_the_bucket),
    Migration(4, "identical bytes within a space may be shared by several nodes", _blobs_may_be_shared),
    Migration(5, "files keep their previous contents as versions", _files_keep_versions),
]
CURRENT_FORMAT = MIGRATIONS[-1].to_version


# --- running them ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class UpgradePlan:
    found: int  # the format the stores hold (1 when they record none: the first release recorded none)
    steps: list[Migration]

    @property
    def too_new(self) -> bool:
        return self.found > CURRENT_FORMAT

    def describe(self) -> list[str]:
        if self.too_new:
            return [
                f"the store has format {self.found}, written by a newer VitalGraph; this version knows "
                f"formats up to {CURRENT_FORMAT}: upgrade the server"
            ]
        if not self.steps:
            return [f"the store is at format {self.found}, this version's: nothing to do"]
        return [f"format {step.to_version}: {step.description}" for step in self.steps]


async def plan(graph: GraphStore, blobs: BlobStore) -> UpgradePlan:
    """What `migrate` would do, without doing it."""
    found = max(await graph_format(graph) or 1, await blob_format(blobs) or 1)
    return UpgradePlan(found, [step for step in MIGRATIONS if step.to_version > found])


async def migrate(graph: GraphStore, blobs: BlobStore, data_dir: Path) -> list[str]:
    """Bring the stores up to CURRENT_FORMAT; the steps applied (empty when there was nothing to do)."""
    owner = uuid.uuid4().hex
    if not await graph.claim(
        SYSTEM_GRAPH, MIGRATION_CLAIM, owner, MIGRATION_CLAIM_TTL_SECONDS, wait_seconds=MIGRATION_WAIT_SECONDS
    ):
        raise StorageUnavailableError(
            f"another server has been migrating the store for over {MIGRATION_WAIT_SECONDS:.0f} s; start again later"
        )
    try:
        found = max(await graph_format(graph) or 1, await blob_format(blobs) or 1)
        if found > CURRENT_FORMAT:
            raise StorageUnavailableError(
                f"the store has format {found}, written by a newer VitalGraph; this version knows formats "
                f"up to {CURRENT_FORMAT}: upgrade the server"
            )
        context = MigrationContext(graph, blobs, data_dir)
        applied = []
        for step in MIGRATIONS:
            if step.to_version > found:
                logger.info("migrating the store to format %d: %s", step.to_version, step.description)
                await step.apply(context)
                await _record_graph_format(graph, step.to_version)
                applied.append(f"format {step.to_version}: {step.description}")
        await _record_graph_format(graph, CURRENT_FORMAT)
        await _record_blob_format(blobs, CURRENT_FORMAT)
        return applied
    finally:
        with anyio.CancelScope(shield=True):
            await graph.release(SYSTEM_GRAPH, MIGRATION_CLAIM, owner)


async def graph_format(graph: GraphStore) -> int | None:
    rows = await graph.select(
        f"SELECT ?v WHERE {{ GRAPH <{SYSTEM_GRAPH}> {{ <{STORE_NODE}> <{FORMAT_VERSION}> ?v }} }}"
    )
    versions = [int(row["v"].value) for row in rows]  # type: ignore[attr-defined]
    return max(versions) if versions else None


async def blob_format(blobs: BlobStore) -> int | None:
    versions = []
    async for stat in blobs.list_keys(BLOB_FORMAT_PREFIX):
        name = stat.key.removeprefix(BLOB_FORMAT_PREFIX)
        if name.startswith("format-") and name[7:].isdigit():
            versions.append(int(name[7:]))
    return max(versions) if versions else None


async def _record_graph_format(graph: GraphStore, version: int) -> None:
    await graph.update(
        f"DELETE WHERE {{ GRAPH <{SYSTEM_GRAPH}> {{ <{STORE_NODE}> <{FORMAT_VERSION}> ?old }} }};\n"
        f"INSERT DATA {{ GRAPH <{SYSTEM_GRAPH}> {{ <{STORE_NODE}> <{FORMAT_VERSION}> {int(version)} }} }}"
    )


async def _record_blob_format(blobs: BlobStore, version: int) -> None:
    """One object per format (blob keys are written once): `vitalgraph-store/format-N`."""
    if await blob_format(blobs) == version:
        return

    async def body():  # type: ignore[no-untyped-def]
        yield json.dumps({"format": version, "written_by": "vitalgraph"}).encode()

    await blobs.write(f"{BLOB_FORMAT_PREFIX}format-{version}", body())
