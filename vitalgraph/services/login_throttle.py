"""Login throttling: a client that keeps sending wrong passwords is refused (429) for a while.

Failures are counted in a sliding window per (username, client address) and per client address over
all usernames, so guessing one account's password and trying one password on many accounts are both
slowed, while nobody else is locked out of an account someone is attacking.

The failures are records in the graph store (a graph of their own), so every server sharing that store
counts the same failures: N replicas do not give an attacker N times the attempts. Each failure is one
small subject with its key and time; a check counts a key's failures inside the window, and every new
failure also removes those that have left it. Times are wall-clock seconds, the one clock replicas share.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Callable

from vitalgraph.errors import TooManyRequestsError
from vitalgraph.graph.base import GraphStore, literal

# One client may fail this many times more over all usernames than on one username.
PER_CLIENT_FACTOR = 5
FAILURES_GRAPH = "urn:vitalgraph:login-failures"
FAILURE_KEY = "urn:vitalgraph:failureKey"
FAILED_AT = "urn:vitalgraph:failedAt"
FAILURE_PREFIX = "urn:vitalgraph:loginFailure:"


class LoginThrottle:
    def __init__(
        self,
        graph_store: GraphStore,
        max_failures: int,
        window_seconds: float,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.graph_store = graph_store
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self._clock = clock

    async def check(self, username: str, client: str) -> None:
        """TooManyRequestsError if this client may not try to log in (as `username`) right now."""
        if self.max_failures == 0:
            return
        now = self._clock()
        keys = self._keys(username, client)
        counted = await self._count(list(keys), since=now - self.window_seconds)
        for key, (limit, whom) in keys.items():
            count, first = counted.get(key, (0, now))
            if count >= limit:
                wait = max(1, math.ceil(first + self.window_seconds - now))
                raise TooManyRequestsError(
                    f"too many failed logins {whom} from {client}: try again in {wait} s", retry_after=wait
                )

    async def failed(self, username: str, client: str) -> None:
        if self.max_failures == 0:
            return  # throttling off: nothing to count
        now = self._clock()
        records = " ".join(
            f"<{FAILURE_PREFIX}{uuid.uuid4().hex}> <{FAILURE_KEY}> {literal(key)} ; <{FAILED_AT}> {now:.3f} ."
            for key in self._keys(username, client)
        )
        cutoff = now - self.window_seconds
        await self.graph_store.update(
            f"INSERT DATA {{ GRAPH <{FAILURES_GRAPH}> {{ {records} }} }};\n"
            f"DELETE {{ GRAPH <{FAILURES_GRAPH}> {{ ?f ?p ?o }} }} WHERE {{ GRAPH <{FAILURES_GRAPH}> "
            f"{{ ?f <{FAILED_AT}> ?at FILTER(?at <= {cutoff:.3f}) ?f ?p ?o }} }}"
        )

    async def succeeded(self, username: str, client: str) -> None:
        """A right password clears that username's count for the client (not the client's total)."""
        if self.max_failures == 0:
            return
        key = literal(_user_key(username, client))
        await self.graph_store.update(
            f"DELETE {{ GRAPH <{FAILURES_GRAPH}> {{ ?f ?p ?o }} }} WHERE {{ GRAPH <{FAILURES_GRAPH}> "
            f"{{ ?f <{FAILURE_KEY}> {key} ; ?p ?o }} }}"
        )

    async def _count(self, keys: list[str], since: float) -> dict[str, tuple[int, float]]:
        """Per key: the failures after `since`, and when the oldest of them happened."""
        rows = await self.graph_store.select(
            f"SELECT ?key (COUNT(?f) AS ?n) (MIN(?at) AS ?first) WHERE {{ GRAPH <{FAILURES_GRAPH}> {{ "
            f"VALUES ?key {{ {' '.join(literal(k) for k in keys)} }} "
            f"?f <{FAILURE_KEY}> ?key ; <{FAILED_AT}> ?at FILTER(?at > {since:.3f}) }} }} GROUP BY ?key",
            point_lookup=True,
        )
        return {
            row["key"].value: (int(row["n"].value), float(row["first"].value))  # type: ignore[attr-defined]
            for row in rows
            if "key" in row
        }

    def _keys(self, username: str, client: str) -> dict[str, tuple[int, str]]:
        """Each counted key, with its limit and how a refusal names it."""
        return {
            _user_key(username, client): (self.max_failures, f"as {username!r}"),
            json.dumps(["client", client]): (self.max_failures * PER_CLIENT_FACTOR, "for any user"),
        }


def _user_key(username: str, client: str) -> str:
    return json.dumps(["user", username, client])
