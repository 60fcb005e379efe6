"""Quotas: the bytes and the number of files a space, or an organization over all its spaces, may hold.

Usage is counted from the file nodes in the shared graph store, so every replica sees the same
figures and no counter can drift. An upload is held to what is left while it streams (it stops the
moment it would cross a quota), and checked exactly at commit: commits into a space with a quota take
a claim on the space (and on its organization) in the graph store, so commits on any replica take
turns there and two uploads cannot both squeeze into the last free bytes.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from vitalgraph.errors import ConflictError, InvalidInputError, QuotaExceededError
from vitalgraph.graph.base import GraphStore, iri, literal, space_graph_prefix
from vitalgraph.model.vocab import VG, VITAL
from vitalgraph.services.spaces import SYSTEM_GRAPH, Space, SpaceService, check_space_id

ORG_PATTERN_MAX = 128
QUOTA_CLAIM_TTL_SECONDS = 60.0
QUOTA_CLAIM_WAIT_SECONDS = 30.0
FILE_NODE = VITAL + "FileNode"
FILE_LENGTH = VITAL + "hasFileLength"


@dataclass(frozen=True)
class Quota:
    max_bytes: int | None = None
    max_files: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_files"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise InvalidInputError(f"quota {name} must be a whole number >= 0 or null, not {value!r}")

    @property
    def unlimited(self) -> bool:
        return self.max_bytes is None and self.max_files is None


@dataclass(frozen=True)
class Usage:
    bytes: int = 0
    files: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.bytes + other.bytes, self.files + other.files)


@dataclass(frozen=True)
class Limit:
    """One quota that applies to a space: its own, or its organization's."""

    scope: str  # "space 'x'" or "organization 'acme'"
    quota: Quota
    usage: Usage

    def bytes_left(self) -> int | None:
        return None if self.quota.max_bytes is None else max(0, self.quota.max_bytes - self.usage.bytes)

    def files_left(self) -> int | None:
        return None if self.quota.max_files is None else max(0, self.quota.max_files - self.usage.files)


def check_organization(name: str) -> str:
    if not name or len(name) > ORG_PATTERN_MAX or any(ord(c) < 33 or c in '<>"{}|\\^`' for c in name):
        raise InvalidInputError(f"invalid organization name {name[:140]!r}: 1-128 visible characters")
    return name


def _quota_node(kind: str, name: str) -> str:
    return f"urn:vitalgraph:quota:{kind}:{name}"


class QuotaService:
    def __init__(self, graph: GraphStore, spaces: SpaceService) -> None:
        self.graph = graph
        self.spaces = spaces

    # --- settings ---------------------------------------------------------------------------------
    async def set_space_quota(self, space_id: str, quota: Quota) -> None:
        await self.spaces.get(space_id)
        await self._store_quota("space", space_id, quota)

    async def set_organization_quota(self, organization: str, quota: Quota) -> None:
        await self._store_quota("organization", check_organization(organization), quota)

    async def space_quota(self, space_id: str) -> Quota:
        return await self._load_quota("space", check_space_id(space_id))

    async def organization_quota(self, organization: str) -> Quota:
        return await self._load_quota("organization", check_organization(organization))

    async def set_space_organization(self, space_id: str, organization: str | None) -> None:
        await self.spaces.get(space_id)
        node = iri(f"urn:vitalgraph:space-organization:{space_id}")
        update = f"DELETE WHERE {{ GRAPH <{SYSTEM_GRAPH}> {{ {node} ?p ?o }} }}"
        if organization is not None:
            update += (
                f";\nINSERT DATA {{ GRAPH <{SYSTEM_GRAPH}> {{ {node} <{VG}spaceId> {literal(space_id)} ; "
                f"<{VG}organization> {literal(check_organization(organization))} }} }}"
            )
        await self.graph.update(update)

    async def space_organization(self, space_id: str) -> str | None:
        rows = await self.graph.select(
            f"SELECT ?org WHERE {{ GRAPH <{SYSTEM_GRAPH}> {{ "
            f"{iri(f'urn:vitalgraph:space-organization:{space_id}')} <{VG}organization> ?org }} }}",
            point_lookup=True,
        )
        return rows[0]["org"].value if rows else None  # type: ignore[attr-defined]

    async def organization_spaces(self, organization: str) -> list[str]:
        rows = await self.graph.select(
            f"SELECT ?id WHERE {{ GRAPH <{SYSTEM_GRAPH}> {{ ?n <{VG}organization> "
            f"{literal(check_organization(organization))} ; <{VG}spaceId> ?id }} }} ORDER BY ?id"
        )
        return [row["id"].value for row in rows]  # type: ignore[attr-defined]

    async def _store_quota(self, kind: str, name: str, quota: Quota) -> None:
        node = iri(_quota_node(kind, name))
        update = f"DELETE WHERE {{ GRAPH <{SYSTEM_GRAPH}> {{ {node} ?p ?o }} }}"
        fields = [
            f"<{VG}{field}> {int(value)}"
            for field, value in (("maxBytes", quota.max_bytes), ("maxFiles", quota.max_files))
            if value is not None
        ]
        if fields:
            update += f";\nINSERT DATA {{ GRAPH <{SYSTEM_GRAPH}> {{ {node} {' ; '.join(fields)} }} }}"
        await self.graph.update(update)

    async def _load_quota(self, kind: str, name: str) -> Quota:
        rows = await self.graph.select(
            f"SELECT ?p ?v WHERE {{ GRAPH <{SYSTEM_GRAPH}> {{ {iri(_quota_node(kind, name))} ?p ?v }} }}",
            point_lookup=True,
        )
        values = {row["p"].value.removeprefix(VG): int(row["v"].value) for row in rows}  # type: ignore[attr-defined]
        return Quota(values.get("maxBytes"), values.get("maxFiles"))

    # --- usage ------------------------------------------------------------------------------------
    async def usage(self, space: Space) -> Usage:
        """Bytes and file nodes in all of the space's graphs, as committed now."""
        rows = await self.graph.select(
            f"SELECT (COUNT(?n) AS ?files) (SUM(COALESCE(?len, 0)) AS ?bytes) WHERE {{ GRAPH ?g {{ "
            f"?n a <{FILE_NODE}> OPTIONAL {{ ?n <{FILE_LENGTH}> ?len }} }} "
            f'FILTER(STRSTARTS(STR(?g), "{space_graph_prefix(space.uid)}")) }}'
        )
        row = rows[0] if rows else {}
        files = row.get("files")
        total = row.get("bytes")
        return Usage(int(total.value) if total else 0, int(files.value) if files else 0)  # type: ignore[attr-defined]

    async def organization_usage(self, organization: str) -> Usage:
        total = Usage()
        for space_id in await self.organization_spaces(organization):
            with contextlib.suppress(Exception):
                total = total + await self.usage(await self.spaces.get(space_id))
        return total

    async def limits(self, space: Space) -> list[Limit]:
        """The quotas that apply to `space`, each with its usage now; empty when none is set."""
        found = []
        quota = await self.space_quota(space.space_id)
        if not quota.unlimited:
            found.append(Limit(f"space {space.space_id!r}", quota, await self.usage(space)))
        organization = await self.space_organization(space.space_id)
        if organization is not None:
            org_quota = await self.organization_quota(organization)
            if not org_quota.unlimited:
                found.append(
                    Limit(
                        f"organization {organization!r}",
                        org_quota,
                        await self.organization_usage(organization),
                    )
                )
        return found

    async def bytes_allowed(self, space: Space, freed: int = 0) -> tuple[int | None, Limit | None]:
        """How many bytes one upload may bring (`freed`: what it replaces), and the quota that binds."""
        tightest: tuple[int | None, Limit | None] = (None, None)
        for limit in await self.limits(space):
            left = limit.bytes_left()
            if left is not None and (tightest[0] is None or left + freed < tightest[0]):
                tightest = (left + freed, limit)
        return tightest

    # --- enforcement at commit ----------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def commit_turn(self, space: Space) -> AsyncIterator[QuotaCheck | None]:
        """Hold the quota claims of `space` (and its organization) while a commit checks and applies;
        yields None when no quota applies (then nothing is claimed)."""
        organization = await self.space_organization(space.space_id)
        keys = [f"quota:space:{space.uid}"] + ([f"quota:organization:{organization}"] if organization else [])
        if (await self.space_quota(space.space_id)).unlimited and (
            organization is None or (await self.organization_quota(organization)).unlimited
        ):
            yield None
            return
        owner = uuid.uuid4().hex
        held = []
        try:
            for key in keys:
                if not await self.graph.claim(
                    SYSTEM_GRAPH, key, owner, QUOTA_CLAIM_TTL_SECONDS, wait_seconds=QUOTA_CLAIM_WAIT_SECONDS
                ):
                    raise ConflictError(
                        f"the quota of space {space.space_id!r} was busy with other commits for "
                        f"{QUOTA_CLAIM_WAIT_SECONDS:.0f} s: nothing was stored, try again"
                    )
                held.append(key)
            yield QuotaCheck(self, space)
        finally:
            for key in held:
                await self.graph.release(SYSTEM_GRAPH, key, owner)


class QuotaCheck:
    """Inside a commit turn: refuse a change that would take a quota past its limit."""

    def __init__(self, quotas: QuotaService, space: Space) -> None:
        self.quotas = quotas
        self.space = space

    async def allow(self, added_bytes: int, added_files: int) -> None:
        for limit in await self.quotas.limits(self.space):
            bytes_left, files_left = limit.bytes_left(), limit.files_left()
            if bytes_left is not None and added_bytes > bytes_left:
                raise QuotaExceededError(
                    f"quota of {limit.scope} exceeded: {limit.quota.max_bytes} bytes allowed, "
                    f"{bytes_left} left, this change needs {added_bytes}"
                )
            if files_left is not None and added_files > files_left:
                raise QuotaExceededError(
                    f"quota of {limit.scope} exceeded: {limit.quota.max_files} files allowed, "
                    f"{files_left} left, this change adds {added_files}"
                )
