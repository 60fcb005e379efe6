"""The graph store interface: graph objects kept as triples in named graphs.

Every operation is written once here as SPARQL 1.1; a backend only executes SPARQL (`select`,
`construct`, `update`). The embedded pyoxigraph store and a remote SPARQL server therefore
behave the same by construction.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import itertools
import random
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

import anyio
from pyoxigraph import Literal, NamedNode, Triple

from vitalgraph.errors import ConflictError, InvalidInputError, StorageUnavailableError
from vitalgraph.model import GraphObject
from vitalgraph.model.vocab import RDF_TYPE, VG_NODE_VERSION, VITAL_CORE

Row = dict[str, object]
GRAPH_PREFIX = "urn:vitalgraph:graph:"
HAS_NAME = VITAL_CORE + "hasName"
CREATION_CLAIM = "urn:vitalgraph:creationClaim"  # the previous store format's creation claims
CREATION_CLAIM_TTL_SECONDS = 60  # a claim left by a crashed creator stops blocking after this long
CLAIM_NODE_PREFIX = "urn:vitalgraph:claim:"
CLAIM_PENDING = "urn:vitalgraph:claimPending"
CLAIM_HELD = "urn:vitalgraph:claimHeld"
CLAIM_ATTEMPTS = 8  # rounds of "others claim at the same moment" before giving up
CAS_CLAIM_TTL_SECONDS = 30.0  # a node's write claim: held for one read and one update
CAS_WAIT_SECONDS = 10.0  # how long a writer waits for another writer of the same node
NODE_VERSION = VG_NODE_VERSION
POINT_LOOKUP_MAX_SUBJECTS = 16  # objects fetched by URI up to this many count as a point lookup
QUAD_BLOCK_TRIPLES = 1000  # triples per GRAPH block of an INSERT DATA (see _quad_data)


def graph_uri(space_uid: str, graph_id: str) -> str:
    """One named graph per (space, graph), named by the space's identity (`Space.uid`, not its
    reusable space_id): percent-encoding keeps distinct pairs distinct."""
    return f"{GRAPH_PREFIX}{quote(space_uid, safe='')}/{quote(graph_id, safe='')}"


def space_graph_prefix(space_uid: str) -> str:
    return f"{GRAPH_PREFIX}{quote(space_uid, safe='')}/"


def iri(value: str) -> str:
    """The SPARQL form of an IRI, refusing anything that is not one (no injection through URIs)."""
    try:
        return str(NamedNode(value))
    except ValueError:
        raise InvalidInputError(f"not a valid IRI: {value!r}") from None


def literal(value: str) -> str:
    return str(Literal(value))


class _Claim(enum.Enum):
    WON = "won"
    HELD = "held by another owner"
    CONTENDED = "other claimers at the same moment"


@dataclass(frozen=True)
class _ClaimText:
    expires: float
    owner: str


def _claim_node(key: str) -> str:
    return iri(CLAIM_NODE_PREFIX + quote(key, safe=""))


def _format_claim(nonce: str, expires: float, owner: str) -> str:
    return f"{nonce} {expires:.3f} {owner}"


def _parse_claim(text: str) -> _ClaimText:
    parts = text.split(" ", 2)
    try:
        return _ClaimText(float(parts[1]), parts[2])
    except (IndexError, ValueError):
        return _ClaimText(0.0, "")  # not one of ours: treated as expired


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _versioned_write(
    g: str,
    node: str,
    expected: int | None,
    replacement: GraphObject | None,
    companions: Companions | None = None,
) -> str:
    """One update that swaps the subject's triples only if its version is still `expected`; the
    `companions` change with it, under the same condition, or not at all."""
    old = f"GRAPH {g} {{ {node} ?p ?o }}"
    if expected is None:
        condition = f"FILTER NOT EXISTS {{ {old} }}"
    elif expected == 0:
        condition = f"{old} FILTER NOT EXISTS {{ GRAPH {g} {{ {node} <{NODE_VERSION}> ?v }} }}"
    else:
        condition = f"GRAPH {g} {{ {node} <{NODE_VERSION}> {expected} . {node} ?p ?o }}"
    delete = f"DELETE {{ {old} }} " if expected is not None else ""
    insert = ""
    if replacement is not None:
        triples = "\n".join(
            f"{t.subject} {t.predicate} {t.object} ."
            for t in replacement.to_triples()
            if t.predicate.value != NODE_VERSION
        )
        version = f"{node} <{NODE_VERSION}> {(expected or 0) + 1} ."
        insert = f"INSERT {{ GRAPH {g} {{ {triples}\n{version} }} }} "
    swap = f"{delete}{insert}WHERE {{ {condition} }}"
    return ";\n".join([*_companion_writes(g, node, expected, companions), swap])


@dataclass(frozen=True)
class Companions:
    """Other subjects of the node's graph that change in the same atomic update as the node (a file's
    versions): `drop` loses all its triples, `insert` (N-Triples lines) is added."""

    insert: str = ""
    drop: tuple[str, ...] = ()


def _companion_writes(g: str, node: str, expected: int | None, companions: Companions | None) -> list[str]:
    """The companions' writes, each guarded by the swap's own condition (checked before the swap runs,
    in the same request), so they land exactly when the swap does."""
    if companions is None or not (companions.insert or companions.drop):
        return []
    if expected is None:
        guard = f"FILTER NOT EXISTS {{ GRAPH {g} {{ {node} ?gp ?go }} }}"
    elif expected == 0:
        guard = (
            f"FILTER(EXISTS {{ GRAPH {g} {{ {node} ?gp ?go }} }} "
            f"&& NOT EXISTS {{ GRAPH {g} {{ {node} <{NODE_VERSION}> ?gv }} }})"
        )
    else:
        guard = f"FILTER EXISTS {{ GRAPH {g} {{ {node} <{NODE_VERSION}> {expected} }} }}"
    writes = []
    if companions.drop:
        writes.append(
            f"DELETE {{ GRAPH {g} {{ ?cs ?cp ?co }} }} WHERE {{ VALUES ?cs {{ {_values(companions.drop)} }} "
            f"GRAPH {g} {{ ?cs ?cp ?co }} {guard} }}"
        )
    if companions.insert:
        writes.append(f"INSERT {{ GRAPH {g} {{ {companions.insert} }} }} WHERE {{ {guard} }}")
    return writes


def _values(uris: Iterable[str]) -> str:
    return " ".join(iri(u) for u in uris)


def _quad_data(g: str, objects: Iterable[GraphObject]) -> str:
    """The objects' triples as `GRAPH g { ... }` blocks of at most QUAD_BLOCK_TRIPLES triples each, for
    one INSERT DATA: Virtuoso's parser runs out of memory on one block of about 5000 triples."""
    triples = [f"{t.subject} {t.predicate} {t.object} ." for o in objects for t in o.to_triples()]
    return " ".join(
        f"GRAPH {g} {{ {' '.join(triples[i : i + QUAD_BLOCK_TRIPLES])} }}"
        for i in range(0, len(triples), QUAD_BLOCK_TRIPLES)
    )


class GraphStore(ABC):
    """Async access to named graphs of graph objects."""

    # Claims are triples in the store, seen by every server sharing it; False for a store one process
    # alone can open, which keeps them in memory (OxigraphGraphStore).
    claims_in_store = True

    async def open(self) -> None:
        """Check the store is reachable."""

    async def close(self) -> None:
        """Flush and release."""

    async def check(self) -> None:
        """A cheap readiness probe (for /ready): a trivial query; StorageUnavailableError if it fails."""
        try:
            await self.select("SELECT * WHERE { } LIMIT 1")
        except StorageUnavailableError:
            raise
        except Exception as exc:
            raise StorageUnavailableError(f"graph store query failed: {type(exc).__name__}: {exc}") from exc

    # --- what a backend implements -------------------------------------------------------
    # `point_lookup=True` marks a query bound by keys (a session, a user, one space, a few subjects):
    # an index answers it in tens of microseconds, so the embedded store runs it on the calling thread.
    # Under load a hop to a worker thread and back costs a whole event-loop iteration (tens of ms with
    # 50 transfers in flight), a thousand times the query; a remote store ignores the flag.
    @abstractmethod
    async def select(self, query: str, *, point_lookup: bool = False) -> list[Row]:
        """Run a SELECT; each row maps variable name to a pyoxigraph term."""

    @abstractmethod
    async def construct(self, query: str, *, point_lookup: bool = False) -> list[Triple]:
        """Run a CONSTRUCT."""

    @abstractmethod
    async def update(self, update: str) -> None:
        """Run a SPARQL update request atomically."""

    @abstractmethod
    async def query_json(self, query: str, default_graphs: Sequence[str]) -> bytes:
        """Run a SELECT or ASK over exactly `default_graphs`; SPARQL JSON results.

        The graphs form the default graph (as a union) and are the only named graphs, whatever
        FROM / FROM NAMED / GRAPH the query says; an empty list is an empty dataset.
        """

    @abstractmethod
    async def query_triples(self, query: str, default_graphs: Sequence[str]) -> list[Triple]:
        """Run a CONSTRUCT or DESCRIBE over exactly `default_graphs` (the same dataset as `query_json`)."""

    # --- graph objects --------------------------------------------------------------------
    async def get_objects(self, graph: str, uris: Sequence[str]) -> list[GraphObject]:
        if not uris:
            return []
        objects = await self.construct_objects(
            f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {iri(graph)} {{ VALUES ?s {{ {_values(uris)} }} ?s ?p ?o }} }}",
            point_lookup=len(uris) <= POINT_LOOKUP_MAX_SUBJECTS,
        )
        by_uri = {o.URI: o for o in objects}
        return [by_uri[u] for u in dict.fromkeys(uris) if u in by_uri]

    async def construct_objects(self, query: str, *, point_lookup: bool = False) -> list[GraphObject]:
        """The objects a CONSTRUCT describes. A store may build them off the event loop: a page of a
        hundred objects costs ~10 ms of CPU, which would hold up every other request."""
        return GraphObject.from_triples(await self.construct(query, point_lookup=point_lookup))

    async def existing(self, graph: str, uris: Sequence[str]) -> set[str]:
        if not uris:
            return set()
        rows = await self.select(
            f"SELECT DISTINCT ?s WHERE {{ GRAPH {iri(graph)} {{ VALUES ?s {{ {_values(uris)} }} ?s ?p ?o }} }}"
        )
        return {row["s"].value for row in rows}

    async def insert_objects(self, graph: str, objects: Sequence[GraphObject]) -> None:
        if objects:
            await self.update(f"INSERT DATA {{ {_quad_data(iri(graph), objects)} }}")

    async def replace_objects(
        self, graph: str, objects: Sequence[GraphObject], *, removing: Sequence[str] = ()
    ) -> None:
        """Swap each object's triples for its new ones, and delete the objects `removing` names, in
        one atomic update."""
        if not objects:
            return
        g = iri(graph)
        subjects = dict.fromkeys([*(o.URI for o in objects), *removing])
        await self.update(
            f"DELETE {{ GRAPH {g} {{ ?s ?p ?o }} }} "
            f"WHERE {{ GRAPH {g} {{ VALUES ?s {{ {_values(subjects)} }} ?s ?p ?o }} }};\n"
            f"INSERT DATA {{ {_quad_data(g, objects)} }}"
        )

    async def delete_objects(self, graph: str, uris: Sequence[str]) -> None:
        if uris:
            g = iri(graph)
            await self.update(
                f"DELETE {{ GRAPH {g} {{ ?s ?p ?o }} }} "
                f"WHERE {{ GRAPH {g} {{ VALUES ?s {{ {_values(uris)} }} ?s ?p ?o }} }}"
            )

    async def list_objects(
        self,
        graph: str,
        class_uris: Sequence[str],
        *,
        limit: int,
        offset: int,
        search: str | None = None,
        contains: Sequence[tuple[Sequence[str], str]] = (),
        patterns: Sequence[str] = (),
        order_by: str | None = None,
        descending: bool = False,
        order_as_text: bool = False,
        sort_keys: Sequence[tuple[str, bool]] = (),
    ) -> tuple[list[GraphObject], int]:
        """A page of objects of the given classes, and the total that match.

        `search`: some literal of the object contains the text; `contains`: for each (properties, text),
        one of those properties holds a literal containing the text (both case-insensitive);
        `patterns`: more graph patterns (FILTERs) on `?s` that must hold, built with `iri` / `literal`.
        `order_by`: a property IRI to sort by (its smallest value; objects without one come first),
        then by URI; without it, by URI. `order_as_text` compares the values as lower-case text (names),
        else as their type does (numbers as numbers). `descending` reverses the order.
        """
        where = self._list_where(graph, class_uris, search, contains, patterns)
        count_rows = await self.select(f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ {where} }}")
        total = int(count_rows[0]["n"].value) if count_rows else 0
        if offset >= total:  # past the end: also keeps offsets no SPARQL engine can parse out of the query
            return [], total
        direction = "DESC" if descending else "ASC"
        page = f"LIMIT {int(limit)} OFFSET {int(offset)}"
        if sort_keys:
            g = iri(graph)
            keys = " ".join(f"OPTIONAL {{ GRAPH {g} {{ {pattern} }} }}" for pattern, _ in sort_keys)
            values = " ".join(f"(MIN(?sortValue{n}) AS ?key{n})" for n in range(len(sort_keys)))
            order = " ".join(f"{'DESC' if down else 'ASC'}(?key{n})" for n, (_, down) in enumerate(sort_keys))
            query = (
                f"SELECT ?s {values} WHERE {{ {where} {keys} }} GROUP BY ?s ORDER BY {order} ASC(?s) {page}"
            )
        elif order_by is None:
            query = f"SELECT DISTINCT ?s WHERE {{ {where} }} ORDER BY {direction}(?s) {page}"
        else:
            key = f"OPTIONAL {{ GRAPH {iri(graph)} {{ ?s {iri(order_by)} ?sortValue }} }}"
            value = "LCASE(STR(?sortValue))" if order_as_text else "?sortValue"
            query = (
                f"SELECT ?s (MIN({value}) AS ?key) WHERE {{ {where} {key} }} GROUP BY ?s "
                f"ORDER BY {direction}(?key) {direction}(?s) {page}"
            )
        rows = await self.select(query)
        return await self.get_objects(graph, [row["s"].value for row in rows]), total

    def _list_where(
        self,
        graph: str,
        class_uris: Sequence[str],
        search: str | None,
        contains: Sequence[tuple[Sequence[str], str]] = (),
        patterns: Sequence[str] = (),
    ) -> str:
        """Subjects typed with one of `class_uris` (no classes: with any type)."""
        pattern = f"?s <{RDF_TYPE}> ?type ."
        if class_uris:
            pattern = f"VALUES ?type {{ {_values(class_uris)} }} " + pattern
        if search:
            pattern += (
                f" ?s ?textProp ?text . FILTER(isLiteral(?text) && "
                f"CONTAINS(LCASE(STR(?text)), LCASE({literal(search)})))"
            )
        for number, (properties, text) in enumerate(contains):
            value = f"?contains{number}"
            path = "|".join(iri(p) for p in properties)
            pattern += (
                f" FILTER EXISTS {{ ?s {path} {value} . FILTER(isLiteral({value}) && "
                f"CONTAINS(LCASE(STR({value})), LCASE({literal(text)}))) }}"
            )
        for extra in patterns:
            pattern += f" {extra}"
        return f"GRAPH {iri(graph)} {{ {pattern} }}"

    # --- claims: one holder at a time, across replicas ------------------------------------------
    async def claim(
        self, graph: str, key: str, owner: str, ttl_seconds: float, *, wait_seconds: float = 0.0
    ) -> bool:
        """Take the claim `key` in `graph` for `owner` for `ttl_seconds`; False if another owner holds it.

        A SPARQL update does not report whether its condition matched, and a conditional INSERT ...
        WHERE NOT EXISTS is not enough: two updates that each check and then insert run on snapshots
        that do not see each other, and both insert (in a test, 27 of 300 races). So a claimer first
        stores a *pending* claim, then reads every claim on the key: it wins only if no other owner's
        unexpired claim is there, and then turns its pending claim into a *held* one (the held claim
        is stored before the pending one goes, so one of them is always visible). Two claimers cannot
        both see only their own claim: each reads after its own is stored. When they see each other's
        pending claims, both step back and try again after a random pause, as on a shared Ethernet.

        Claiming again as the same owner renews the claim. An expired claim (its holder crashed, or
        overran its TTL) counts as absent and is removed. With `wait_seconds`, a claim held by another
        owner is waited for, up to that long. Owners must be unique per actor: two requests claiming
        as the same owner at the same moment would both win.
        """
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be > 0, got {ttl_seconds}")
        deadline = time.monotonic() + wait_seconds
        node = _claim_node(key)
        g = iri(graph)
        for attempt in itertools.count():
            outcome = await self._try_claim(g, node, owner, ttl_seconds)
            if outcome is _Claim.WON:
                return True
            if outcome is _Claim.HELD:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                # a holder here hands off at once; one on another replica is polled for
                pause = min(random.uniform(0.02, 0.06) * 2 ** min(attempt, 2), remaining)
            else:
                pause = random.uniform(0.005, 0.03) * 2 ** min(attempt, 5)
                if attempt + 1 >= CLAIM_ATTEMPTS and time.monotonic() > deadline:
                    return False
            await self._pause_or_handoff(graph, key, pause)
        raise AssertionError("unreachable")

    async def _pause_or_handoff(self, graph: str, key: str, pause: float) -> None:
        """Sleep `pause`, or less when a holder in this process releases `key` first: each release
        wakes the longest waiter here (one, so that waiters do not all collide on the next try).
        Waiters in other processes only have the pause: they poll."""
        waiters = self._claim_waiters().setdefault((graph, key), collections.deque())
        waiter = asyncio.get_running_loop().create_future()
        waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), pause)
        except TimeoutError:
            pass
        finally:
            if waiter in waiters:
                waiters.remove(waiter)
            if not waiters:
                self._claim_waiters().pop((graph, key), None)

    def _hand_off(self, graph: str, key: str) -> None:
        waiters = self._claim_waiters().get((graph, key))
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.get_loop().call_soon_threadsafe(_wake, waiter)
                return

    def _claim_waiters(self) -> dict[tuple[str, str], collections.deque[asyncio.Future[None]]]:
        return self.__dict__.setdefault("_claim_waiter_queues", {})

    async def release(self, graph: str, key: str, owner: str) -> None:
        """Drop `owner`'s claim on `key` (nothing happens when it holds none)."""
        g, node = iri(graph), _claim_node(key)
        # a claim reads "<nonce> <expires> <owner>": what follows the second space is the owner, exactly
        await self.update(
            f"DELETE {{ GRAPH {g} {{ {node} <{CLAIM_HELD}> ?c }} }} WHERE {{ GRAPH {g} {{ {node} <{CLAIM_HELD}> ?c "
            f'FILTER(STRAFTER(STRAFTER(STR(?c), " "), " ") = {literal(owner)}) }} }}'
        )
        self._hand_off(graph, key)

    @contextlib.asynccontextmanager
    async def turn(
        self, graph: str, key: str, *, ttl_seconds: float, wait_seconds: float, busy: str
    ) -> AsyncIterator[None]:
        """Work on `key` alone, across every server sharing this store: the block runs under a claim
        of a new owner, waited for up to `wait_seconds` (ConflictError with the text `busy` after),
        and released when the block ends, cancelled or not. The claim of a server that dies inside
        the block frees itself after `ttl_seconds`."""
        owner = uuid.uuid4().hex
        if not await self.claim(graph, key, owner, ttl_seconds, wait_seconds=wait_seconds):
            raise ConflictError(busy)
        try:
            yield
        finally:
            with anyio.CancelScope(shield=True):
                await self.release(graph, key, owner)

    async def claim_holder(self, graph: str, key: str) -> str | None:
        """The owner holding `key` now, if any (for tests and diagnostics; a claim can change at once)."""
        g, node = iri(graph), _claim_node(key)
        rows = await self.select(
            f"SELECT ?c WHERE {{ GRAPH {g} {{ {node} <{CLAIM_HELD}> ?c }} }}", point_lookup=True
        )
        now = time.time()
        live = [_parse_claim(r["c"].value) for r in rows]  # type: ignore[attr-defined]
        holders = [c.owner for c in live if c.expires > now]
        return holders[0] if holders else None

    async def _try_claim(self, g: str, node: str, owner: str, ttl_seconds: float) -> _Claim:
        mine = literal(_format_claim(uuid.uuid4().hex, time.time() + ttl_seconds, owner))
        await self.update(f"INSERT DATA {{ GRAPH {g} {{ {node} <{CLAIM_PENDING}> {mine} }} }}")
        rows = await self.select(
            f"SELECT ?p ?c WHERE {{ GRAPH {g} {{ VALUES ?p {{ <{CLAIM_PENDING}> <{CLAIM_HELD}> }} "
            f"{node} ?p ?c }} }}",
            point_lookup=True,
        )
        now = time.time()
        stale: list[str] = []  # (predicate, literal) pairs to remove as SPARQL triples
        held_by_other = pending_by_other = False
        for row in rows:
            text, predicate = str(row["c"]), str(row["p"])
            if text == mine and predicate == f"<{CLAIM_PENDING}>":
                continue
            claim = _parse_claim(row["c"].value)  # type: ignore[attr-defined]
            if claim.expires <= now or (claim.owner == owner and predicate == f"<{CLAIM_HELD}>"):
                stale.append(f"{node} {predicate} {text} .")  # expired, or our own earlier hold (renewed)
            elif predicate == f"<{CLAIM_HELD}>":
                held_by_other = True
            else:
                pending_by_other = True
        won = not held_by_other and not pending_by_other
        remove = " ".join([f"{node} <{CLAIM_PENDING}> {mine} .", *stale])
        hold = f"INSERT DATA {{ GRAPH {g} {{ {node} <{CLAIM_HELD}> {mine} }} }};\n" if won else ""
        await self.update(f"{hold}DELETE DATA {{ GRAPH {g} {{ {remove} }} }}")
        if won:
            return _Claim.WON
        return _Claim.HELD if held_by_other else _Claim.CONTENDED

    # --- one writer per node: a version compare-and-set ---------------------------------------------
    async def node_version(self, graph: str, subject: str) -> int | None:
        """The version the store keeps for `subject`: None if it has no triples, 0 if it has no version."""
        rows = await self.select(
            f"SELECT (COUNT(?p) AS ?n) (MAX(?v) AS ?version) WHERE {{ GRAPH {iri(graph)} {{ "
            f"{iri(subject)} ?p ?o OPTIONAL {{ {iri(subject)} <{NODE_VERSION}> ?v }} }} }}",
            point_lookup=True,
        )
        if not rows or int(rows[0]["n"].value) == 0:  # type: ignore[attr-defined]
            return None
        version = rows[0].get("version")
        return int(version.value) if version is not None else 0  # type: ignore[attr-defined]

    async def compare_and_set(
        self,
        graph: str,
        subject: str,
        expected_version: int | None,
        replacement: GraphObject | None,
        *,
        wait_seconds: float = CAS_WAIT_SECONDS,
        companions: Companions | None = None,
    ) -> bool:
        """Replace every triple of `subject` by `replacement` (None deletes it) if its version is still
        `expected_version` (None: the subject must not exist yet; 0: it exists without a version).
        `companions` (other subjects of the graph) are written in the same atomic update, or not at all.

        On success the subject's version is `expected_version + 1` (1 when created) and True is
        returned; False when the version moved (or the subject appeared or went), or when the node's
        write claim could not be had within `wait_seconds`. The check and the write run under a
        claim on the node, so two writers cannot both pass the check; the write's own WHERE clause
        checks the version again, so an overrun claim can still not make a write land twice.
        """
        if replacement is not None and replacement.URI != subject:
            raise ValueError(f"replacement {replacement.URI} is not the subject {subject}")
        owner = uuid.uuid4().hex
        key = f"node:{subject}"
        if not await self.claim(graph, key, owner, CAS_CLAIM_TTL_SECONDS, wait_seconds=wait_seconds):
            return False
        try:
            if await self.node_version(graph, subject) != expected_version:
                return False
            await self.update(
                _versioned_write(iri(graph), iri(subject), expected_version, replacement, companions)
            )
            return await self.node_version(graph, subject) == (
                None if replacement is None else (expected_version or 0) + 1
            )
        finally:
            with anyio.CancelScope(shield=True):
                await self.release(graph, key, owner)

    # --- creating a subject exactly once, across replicas --------------------------------------
    async def create_once(self, graph: str, subject: str, triples: str) -> bool:
        """Insert `triples` (which describe `subject`) unless `subject` already has a type; False if it
        has one, or if other requests, on this or other replicas, keep creating it at the same moment.

        The creator holds the claim "create:<subject>" (see `claim`) while it checks and inserts.
        """
        owner = uuid.uuid4().hex
        key = f"create:{subject}"
        if not await self.claim(graph, key, owner, CREATION_CLAIM_TTL_SECONDS, wait_seconds=CAS_WAIT_SECONDS):
            return False
        try:
            g, node = iri(graph), iri(subject)
            rows = await self.select(
                f"SELECT ?type WHERE {{ GRAPH {g} {{ {node} <{RDF_TYPE}> ?type }} }} LIMIT 1",
                point_lookup=True,
            )
            if rows:
                return False
            # a creation claim of the previous store format, left by a crashed creator, goes too
            await self.update(
                f"DELETE WHERE {{ GRAPH {g} {{ {node} <{CREATION_CLAIM}> ?old }} }};\n"
                f"INSERT DATA {{ GRAPH {g} {{ {triples} }} }}"
            )
            return True
        finally:
            with anyio.CancelScope(shield=True):
                await self.release(graph, key, owner)

    # --- whole graphs -----------------------------------------------------------------------
    async def graphs_with_prefix(self, prefix: str) -> list[str]:
        # `GRAPH ?g {}` reads the store's list of graphs; `GRAPH ?g { ?s ?p ?o }` would scan every triple.
        rows = await self.select(
            f"SELECT ?g WHERE {{ GRAPH ?g {{ }} FILTER(STRSTARTS(STR(?g), {literal(prefix)})) }}"
        )
        return sorted({row["g"].value for row in rows})

    async def drop_graphs(self, graphs: Iterable[str]) -> None:
        statements = [f"DROP SILENT GRAPH {iri(g)}" for g in graphs]
        if statements:
            await self.update(";\n".join(statements))
