"""The audit trail: who did what, when, from where, and how it ended.

Entries go to a named graph of their own in the shared graph store, so every replica writes to one
trail and a backup carries it. No route writes that graph, and the SPARQL endpoint only reads a
space's graphs, so users cannot alter it through the API; admins read it through `/api/audit`.

Recording must not slow requests down: `record()` only appends to an in-memory queue, and a
background task writes the queue in batches (one SPARQL update per batch). `stop()` writes what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from vitalgraph.errors import InvalidInputError
from vitalgraph.graph.base import GraphStore, iri, literal

logger = logging.getLogger("vitalgraph.audit")

AUDIT_GRAPH = "urn:vitalgraph:audit"
ENTRY_PREFIX = "urn:vitalgraph:audit:"
NS = "urn:vitalgraph:audit#"
FIELDS = (
    "time",
    "actor",
    "action",
    "outcome",
    "status",
    "client",
    "space_id",
    "target",
    "detail",
    "request_id",
)
MAX_QUEUED = 100_000  # past this (graph store down for long) the oldest entries are dropped, and logged
BATCH = 500
MAX_DETAIL = 2000
MAX_QUERY_LIMIT = 10_000
XSD_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"
XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"


@dataclass(frozen=True)
class AuditEntry:
    time: datetime
    actor: str
    action: str
    outcome: str  # "success" or "failure"
    status: int
    client: str
    space_id: str | None = None
    target: str | None = None
    detail: str | None = None
    request_id: str | None = None

    def to_json(self) -> dict:
        data = asdict(self)
        data["time"] = self.time.isoformat()
        return data


@dataclass(frozen=True)
class AuditQuery:
    user: str | None = None
    space_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 1000

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_QUERY_LIMIT:
            raise InvalidInputError(f"audit 'limit' must be from 1 to {MAX_QUERY_LIMIT}, not {self.limit}")
        if self.since and self.until and self.since > self.until:
            raise InvalidInputError("audit 'since' is after 'until'")


class AuditLog:
    def __init__(self, graph: GraphStore, flush_interval_seconds: float = 0.5) -> None:
        self.graph = graph
        self.flush_interval = flush_interval_seconds
        self._queue: deque[AuditEntry] = deque()
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._dropped = 0

    # --- writing ------------------------------------------------------------------------------------
    def record(self, entry: AuditEntry) -> None:
        """Queue an entry; never blocks and never raises into the request that caused it."""
        if len(self._queue) >= MAX_QUEUED:
            self._queue.popleft()
            self._dropped += 1
            if self._dropped in (1, 10, 100) or self._dropped % 1000 == 0:
                logger.error("audit queue full (graph store unreachable?): %d entries dropped", self._dropped)
        self._queue.append(entry)
        if len(self._queue) >= BATCH and self._wakeup is not None:
            self._wakeup.set()

    async def start(self) -> None:
        self._wakeup = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self.flush()

    async def flush(self) -> None:
        """Write every queued entry now. On failure the entries stay queued for the next try."""
        while self._queue:
            batch = [self._queue[i] for i in range(min(BATCH, len(self._queue)))]
            await self.graph.update(_insert(batch))
            for _ in batch:
                self._queue.popleft()

    async def _run(self) -> None:
        assert self._wakeup is not None
        backoff = self.flush_interval
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=backoff)
            self._wakeup.clear()
            try:
                await self.flush()
                backoff = self.flush_interval
            except Exception as exc:  # keep the entries, try again later, never die
                backoff = min(backoff * 2, 30.0)
                logger.warning("audit entries not written yet (%d queued): %s", len(self._queue), exc)

    # --- reading ------------------------------------------------------------------------------------
    async def query(self, query: AuditQuery) -> list[AuditEntry]:
        """Entries matching every given filter, oldest first. Entries still queued are written first,
        so an admin always sees what has happened up to the moment of asking."""
        with contextlib.suppress(Exception):
            await self.flush()
        rows = await self.graph.select(_select(query))
        return [_entry(row) for row in rows]


def _insert(entries: list[AuditEntry]) -> str:
    triples = "\n".join(_triples(entry) for entry in entries)
    return f"INSERT DATA {{ GRAPH {iri(AUDIT_GRAPH)} {{\n{triples}\n}} }}"


def _triples(entry: AuditEntry) -> str:
    subject = iri(ENTRY_PREFIX + uuid.uuid4().hex)
    parts = []
    for name in FIELDS:
        value = getattr(entry, name)
        if value is None:
            continue
        if name == "time":
            term = f'"{value.astimezone(UTC).isoformat()}"^^<{XSD_DATETIME}>'
        elif name == "status":
            term = f'"{int(value)}"^^<{XSD_INTEGER}>'
        else:
            term = literal(str(value)[:MAX_DETAIL])
        parts.append(f"<{NS}{name}> {term}")
    return f"{subject} " + " ; ".join(parts) + " ."


def _select(query: AuditQuery) -> str:
    variables = " ".join(f"?{name}" for name in FIELDS)
    patterns = [
        f"?e <{NS}{name}> ?{name} ." for name in ("time", "actor", "action", "outcome", "status", "client")
    ]
    patterns += [
        f"OPTIONAL {{ ?e <{NS}{name}> ?{name} }}" for name in ("space_id", "target", "detail", "request_id")
    ]
    filters = []
    if query.user is not None:
        filters.append(f"?actor = {literal(query.user)}")
    if query.space_id is not None:
        filters.append(f"?space_id = {literal(query.space_id)}")
    if query.action is not None:
        filters.append(f"STRSTARTS(?action, {literal(query.action)})")
    if query.since is not None:
        filters.append(f'?time >= "{query.since.astimezone(UTC).isoformat()}"^^<{XSD_DATETIME}>')
    if query.until is not None:
        filters.append(f'?time <= "{query.until.astimezone(UTC).isoformat()}"^^<{XSD_DATETIME}>')
    where = "\n".join(patterns + [f"FILTER({f})" for f in filters])
    return (
        f"SELECT {variables} WHERE {{ GRAPH {iri(AUDIT_GRAPH)} {{\n{where}\n}} }} "
        f"ORDER BY ?time LIMIT {query.limit}"
    )


def _entry(row: dict) -> AuditEntry:
    values = {name: getattr(row.get(name), "value", None) for name in FIELDS}
    return AuditEntry(
        time=datetime.fromisoformat(values["time"]),
        actor=values["actor"],
        action=values["action"],
        outcome=values["outcome"],
        status=int(values["status"]),
        client=values["client"],
        space_id=values["space_id"],
        target=values["target"],
        detail=values["detail"],
        request_id=values["request_id"],
    )


def json_lines(entries: list[AuditEntry]) -> Iterator[bytes]:
    for entry in entries:
        yield json.dumps(entry.to_json(), separators=(",", ":")).encode() + b"\n"
