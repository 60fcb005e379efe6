"""The graph store interface: graph objects kept as triples in named graphs.

Every operation is written once here as SPARQL 1.1; a backend only executes SPARQL (`select`,
`construct`, `update`). The embedded pyoxigraph store and a remote SPARQL server therefore
behave the same by construction.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from urllib.parse import quote

from pyoxigraph import Literal, NamedNode, Triple

from vitalgraph.errors import InvalidInputError, StorageUnavailableError
from vitalgraph.model import GraphObject
from vitalgraph.model.vocab import RDF_TYPE, VITAL_CORE

Row = dict[str, object]
GRAPH_PREFIX = "urn:vitalgraph:graph:"
HAS_NAME = VITAL_CORE + "hasName"
CREATION_CLAIM = "urn:vitalgraph:creationClaim"
CREATION_CLAIM_TTL_SECONDS = 60  # a claim left by a crashed creator stops blocking after this long
CREATION_ATTEMPTS = 5
POINT_LOOKUP_MAX_SUBJECTS = 16  # objects fetched by URI up to this many count as a point lookup


def graph_uri(space_id: str, graph_id: str) -> str:
    """One named graph per (space, graph): percent-encoding keeps distinct pairs distinct."""
    return f"{GRAPH_PREFIX}{quote(space_id, safe='')}/{quote(graph_id, safe='')}"


def space_graph_prefix(space_id: str) -> str:
    return f"{GRAPH_PREFIX}{quote(space_id, safe='')}/"


def iri(value: str) -> str:
    """The SPARQL form of an IRI, refusing anything that is not one (no injection through URIs)."""
    try:
        return str(NamedNode(value))
    except ValueError:
        raise InvalidInputError(f"not a valid IRI: {value!r}") from None


def literal(value: str) -> str:
    return str(Literal(value))


def _claimed_at(claim: str) -> float:
    try:
        return float(claim.rsplit("@", 1)[1])
    except (IndexError, ValueError):
        return 0.0  # not one of ours: treat as stale


def _values(uris: Iterable[str]) -> str:
    return " ".join(iri(u) for u in uris)


def _triples_text(objects: Iterable[GraphObject]) -> str:
    return "\n".join(f"{t.subject} {t.predicate} {t.object} ." for o in objects for t in o.to_triples())


class GraphStore(ABC):
    """Async access to named graphs of graph objects."""

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
        triples = await self.construct(
            f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {iri(graph)} {{ VALUES ?s {{ {_values(uris)} }} ?s ?p ?o }} }}",
            point_lookup=len(uris) <= POINT_LOOKUP_MAX_SUBJECTS,
        )
        by_uri = {o.URI: o for o in GraphObject.from_triples(triples)}
        return [by_uri[u] for u in dict.fromkeys(uris) if u in by_uri]

    async def existing(self, graph: str, uris: Sequence[str]) -> set[str]:
        if not uris:
            return set()
        rows = await self.select(
            f"SELECT DISTINCT ?s WHERE {{ GRAPH {iri(graph)} {{ VALUES ?s {{ {_values(uris)} }} ?s ?p ?o }} }}"
        )
        return {row["s"].value for row in rows}

    async def insert_objects(self, graph: str, objects: Sequence[GraphObject]) -> None:
        if objects:
            await self.update(f"INSERT DATA {{ GRAPH {iri(graph)} {{ {_triples_text(objects)} }} }}")

    async def replace_objects(self, graph: str, objects: Sequence[GraphObject]) -> None:
        """Swap each object's triples for its new ones in one atomic update."""
        if not objects:
            return
        g = iri(graph)
        await self.update(
            f"DELETE {{ GRAPH {g} {{ ?s ?p ?o }} }} "
            f"WHERE {{ GRAPH {g} {{ VALUES ?s {{ {_values(o.URI for o in objects)} }} ?s ?p ?o }} }};\n"
            f"INSERT DATA {{ GRAPH {g} {{ {_triples_text(objects)} }} }}"
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
    ) -> tuple[list[GraphObject], int]:
        """A page of objects of the given classes (by name), and the total that match."""
        where = self._list_where(graph, class_uris, search)
        count_rows = await self.select(f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ {where} }}")
        total = int(count_rows[0]["n"].value) if count_rows else 0
        if offset >= total:  # past the end: also keeps offsets no SPARQL engine can parse out of the query
            return [], total
        rows = await self.select(
            f"SELECT DISTINCT ?s WHERE {{ {where} }} ORDER BY ?s LIMIT {int(limit)} OFFSET {int(offset)}"
        )
        return await self.get_objects(graph, [row["s"].value for row in rows]), total

    def _list_where(self, graph: str, class_uris: Sequence[str], search: str | None) -> str:
        """Subjects typed with one of `class_uris` (no classes: with any type)."""
        pattern = f"?s <{RDF_TYPE}> ?type ."
        if class_uris:
            pattern = f"VALUES ?type {{ {_values(class_uris)} }} " + pattern
        if search:
            pattern += (
                f" ?s ?textProp ?text . FILTER(isLiteral(?text) && "
                f"CONTAINS(LCASE(STR(?text)), LCASE({literal(search)})))"
            )
        return f"GRAPH {iri(graph)} {{ {pattern} }}"

    # --- creating a subject exactly once, across replicas --------------------------------------
    async def create_once(self, graph: str, subject: str, triples: str) -> bool:
        """Insert `triples` (which describe `subject`) unless `subject` already has a type; False if it
        has one, or if other requests, on this or other replicas, keep creating it at the same moment.

        A conditional INSERT ... WHERE NOT EXISTS is not enough: two updates that each check and then
        insert run on snapshots that do not see each other, and both insert (in a test, 27 of 300
        races). So each creator first adds a claim, then reads every claim: it goes ahead only if its
        own is the only fresh one. Two creators cannot both see only their own claim (each reads after
        its claim is stored); when they see each other's, both step back and try again after a random
        pause, as on a shared Ethernet.
        """
        for attempt in range(CREATION_ATTEMPTS):
            outcome = await self._try_create(iri(graph), iri(subject), triples)
            if outcome is not None:
                return outcome
            await asyncio.sleep(random.uniform(0.01, 0.05) * 2**attempt)
        return False

    async def _try_create(self, g: str, node: str, triples: str) -> bool | None:
        """True: created. False: the subject exists. None: another creator's claim was seen."""
        mine = literal(f"{uuid.uuid4().hex}@{int(time.time())}")
        await self.update(f"INSERT DATA {{ GRAPH {g} {{ {node} <{CREATION_CLAIM}> {mine} }} }}")
        rows = await self.select(
            f"SELECT ?claim ?type WHERE {{ GRAPH {g} {{ {{ {node} <{CREATION_CLAIM}> ?claim }} "
            f"UNION {{ {node} <{RDF_TYPE}> ?type }} }} }}"
        )
        exists = any("type" in row for row in rows)
        others = [row["claim"] for row in rows if "claim" in row and str(row["claim"]) != mine]
        cutoff = time.time() - CREATION_CLAIM_TTL_SECONDS
        stale = [str(claim) for claim in others if _claimed_at(claim.value) < cutoff]  # type: ignore[attr-defined]
        won = not exists and len(others) == len(stale)
        release = " ".join(f"{node} <{CREATION_CLAIM}> {claim} ." for claim in [mine, *stale])
        insert = f";\nINSERT DATA {{ GRAPH {g} {{ {triples} }} }}" if won else ""
        await self.update(f"DELETE DATA {{ GRAPH {g} {{ {release} }} }}{insert}")
        if won or exists:
            return won
        return None

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
