"""Hostile load: normal tenants beside hostile ones, then a count of what was lost.

    .venv/bin/python -m benchmarks.hostile                        # 60 s on the local store, then 60 s on S3
    .venv/bin/python -m benchmarks.hostile --store local --seconds 20

Per store it starts one `vitalgraph serve` (S3: on a SeaweedFS of its own) and for `--seconds` runs
normal tenants (each a writer in a space of its own: uploads with a known SHA-256, downloads verified,
listings, small SPARQL queries, deletions) beside hostile ones from other loopback addresses:
runaway cartesian-product SPARQL queries, slowloris connections (half request lines, trickled bodies),
writers racing on one node (metadata PUT, upload, replace, delete), spaces deleted and created anew
mid-upload, oversize and deeply nested JSON bodies, over-long URIs, and logins with a rotating
X-Forwarded-For. Every loop is bounded by the deadline; all traffic is loopback.

Then, once in-flight work has settled: every upload a normal tenant had acknowledged with 2xx (and
did not delete later) must download with its SHA-256; `GET /api/admin/verify?orphan_min_age_seconds=0`
must find no missing, corrupt or orphaned blob; no response may be a 5xx other than the documented
refusals (504 for a query past SPARQL_QUERY_TIMEOUT, 503 for a connection over the caps). Prints a
table with the normal tenants' p50/p99 per operation and exits non-zero on any loss, orphan or 5xx.
`run_campaign` backs the smoke test in tests/load/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import hashlib
import json
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from benchmarks._common import KiB, MiB
from benchmarks.load import start_server

FILE_NODE = "http://vital.ai/ontology/vital#FileNode"
HAS_NAME = "http://vital.ai/ontology/vital-core#hasName"
PASSWORD = "hostile-campaign-Pa55word!"
NORMAL_ADDRESS = "127.0.0.1"
HOSTILE_ADDRESS = "127.0.0.2"  # hostile tenants' HTTP clients: the per-client connection cap is theirs
SLOWLORIS_ADDRESS = "127.0.0.3"
LOGIN_ADDRESS = "127.0.0.4"  # the X-Forwarded-For rotator: its failed logins are throttled, not ours
# Settings the campaign's servers run with: short budgets so refusals happen within a short campaign.
SERVER_ENV = {
    "VITALGRAPH_SPARQL_QUERY_TIMEOUT": "3",
    "VITALGRAPH_HEADER_TIMEOUT_SECONDS": "3",
    "VITALGRAPH_TRANSFER_IDLE_TIMEOUT_SECONDS": "5",
    "VITALGRAPH_MAX_CONNECTIONS_PER_CLIENT": "40",
    "VITALGRAPH_LOGIN_MAX_FAILURES": "10",
}
# Normal tenants pause 50 ms on average between requests: three of them then send ~40 requests a
# second, ordinary traffic rather than a closed loop that would measure the server's capacity.
THINK_SECONDS = 0.05
# Issue 12's budget: another tenant's list, upload commit and download keep p99 <= 100 ms.
BUDGET_MS = 100.0
BUDGET_OPERATIONS = ("list", "upload", "download")
RUNAWAY_QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n2 ?o }"
SMALL_QUERY = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 10"


@dataclass
class HostileReport:
    store: str = ""
    seconds: float = 0.0
    acknowledged: int = 0  # uploads normal tenants got 2xx for, and still expect
    lost: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)  # unexpected 5xx: "METHOD path -> status"
    refusals: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # expected 4xx/503/504
    normal_errors: list[str] = field(default_factory=list)  # a normal tenant's request that failed
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # op -> ms
    hostile: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # what the attackers did
    findings: list[str] = field(default_factory=list)  # a limit that did not hold (XFF bypass, slowloris)
    # A normal tenant's small query stopped at SPARQL_QUERY_TIMEOUT while runaway queries ran: a fair-share
    # failure (known, see docs/security.md), counted apart from the other normal-tenant errors.
    starved_queries: list[str] = field(default_factory=list)
    # The server's own view, from /metrics: the largest event-loop lag and the share of loop wake-ups
    # later than 50 ms. Tells a slow server apart from a slow load generator.
    loop_lag_max_ms: float = float("nan")
    loop_lag_over_50ms: float = float("nan")

    @property
    def ok(self) -> bool:
        return not (
            self.lost
            or self.orphans
            or self.missing
            or self.corrupt
            or self.server_errors
            or self.normal_errors
            or self.findings
            or self.starved_queries
        )


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


# --- bookkeeping ----------------------------------------------------------------------------------
class Recorder:
    """Counts every response: 5xx other than the documented refusals are server errors."""

    def __init__(self, report: HostileReport) -> None:
        self.report = report

    def response(self, response: httpx.Response, *, expected_5xx: tuple[int, ...] = ()) -> httpx.Response:
        status = response.status_code
        if status >= 500 and status not in expected_5xx:
            path = urlsplit(str(response.request.url)).path
            self.report.server_errors.append(
                f"{response.request.method} {path} -> {status}: {response.text[:200]}"
            )
        elif status >= 400:
            self.report.refusals[str(status)] += 1
        return response


def _client(url: str, token: str | None, address: str, **kwargs: object) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = httpx.AsyncHTTPTransport(local_address=address, retries=0)
    return httpx.AsyncClient(base_url=url, headers=headers, transport=transport, timeout=60, **kwargs)


async def _login(url: str, username: str, password: str) -> str:
    async with _client(url, None, NORMAL_ADDRESS) as client:
        response = await client.post("/api/login", data={"username": username, "password": password})
        response.raise_for_status()
        return response.json()["access_token"]


# --- normal tenants -------------------------------------------------------------------------------
class Tenant:
    """A writer in its own space doing ordinary work, one request at a time, everything checked.
    Between requests it pauses for `think_seconds` on average (exponentially distributed), as an
    application or a person does; 0 sends the next request at once (a closed loop that saturates
    the server by itself)."""

    def __init__(
        self,
        name: str,
        client: httpx.AsyncClient,
        recorder: Recorder,
        rng: random.Random,
        think_seconds: float = 0.0,
    ) -> None:
        self.name, self.client, self.recorder, self.rng = name, client, recorder, rng
        self.think_seconds = think_seconds
        self.space = f"{name}-space"
        self.expected: dict[str, str] = {}  # uri -> SHA-256 acknowledged last
        self.created: list[str] = []
        self.counter = 0

    async def setup(self) -> None:
        response = await self.client.post(
            "/api/spaces", json={"space_id": self.space, "space_name": self.name}
        )
        response.raise_for_status()

    async def run(self, deadline: float) -> None:
        operations: list[tuple[Callable[[], Awaitable[None]], int]] = [
            (self.upload, 4),
            (self.download, 4),
            (self.listing, 2),
            (self.query, 2),
            (self.delete, 1),
            (self.ready, 1),
        ]
        actions = [op for op, weight in operations for _ in range(weight)]
        while time.monotonic() < deadline:
            await self.rng.choice(actions)()
            if self.think_seconds:
                await asyncio.sleep(self.rng.expovariate(1 / self.think_seconds))

    async def _timed(self, op: str, request: Awaitable[httpx.Response]) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = await request
        except httpx.HTTPError as error:
            self.recorder.report.normal_errors.append(f"{self.name} {op}: {error!r}")
            return None
        self.recorder.report.latencies[op].append((time.perf_counter() - started) * 1000)
        if op == "sparql" and response.status_code == 504:
            self.recorder.report.starved_queries.append(f"{self.name}: {response.text[:200]}")
            return None
        self.recorder.response(response)
        if not response.is_success:
            self.recorder.report.normal_errors.append(
                f"{self.name} {op} -> {response.status_code}: {response.text[:200]}"
            )
            return None
        return response

    async def upload(self) -> None:
        if self.created and self.rng.random() < 0.3:
            uri = self.rng.choice(self.created)  # a replace
        else:
            self.counter += 1
            uri = f"http://example.org/{self.name}/f{self.counter}"
            body = [{"@id": uri, "@type": FILE_NODE, HAS_NAME: [{"@value": f"file {self.counter}"}]}]
            if (
                await self._timed(
                    "create", self.client.post("/api/files", params={"space_id": self.space}, json=body)
                )
                is None
            ):
                return
            self.created.append(uri)
        data = os.urandom(self.rng.choice([KiB, 16 * KiB, 256 * KiB, MiB]))
        digest = hashlib.sha256(data).hexdigest()
        response = await self._timed(
            "upload",
            self.client.post(
                "/api/files/stream/upload", params={"space_id": self.space, "uri": uri}, content=data
            ),
        )
        if response is None:
            return
        if response.json().get("sha256") != digest:
            self.recorder.report.lost.append(
                f"{uri}: acknowledged with SHA-256 {response.json().get('sha256')}, sent {digest}"
            )
        self.expected[uri] = digest

    async def download(self) -> None:
        if not self.expected:
            return
        uri = self.rng.choice(list(self.expected))
        response = await self._timed(
            "download",
            self.client.get("/api/files/stream/download", params={"space_id": self.space, "uri": uri}),
        )
        if response is not None and hashlib.sha256(response.content).hexdigest() != self.expected[uri]:
            self.recorder.report.lost.append(f"{uri}: downloaded bytes differ from the acknowledged upload")

    async def ready(self) -> None:
        """`/ready` must stay 200 while the attackers run (a 503 here is a normal-tenant error)."""
        await self._timed("ready", self.client.get("/ready"))

    async def listing(self) -> None:
        await self._timed("list", self.client.get("/api/files", params={"space_id": self.space}))

    async def query(self) -> None:
        await self._timed(
            "sparql",
            self.client.post(
                f"/api/graphs/sparql/{self.space}/query",
                content=SMALL_QUERY,
                headers={"Content-Type": "application/sparql-query"},
            ),
        )

    async def delete(self) -> None:
        if len(self.created) < 3:
            return
        uri = self.created.pop(self.rng.randrange(len(self.created)))
        if (
            await self._timed(
                "delete", self.client.delete("/api/files", params={"space_id": self.space, "uri": uri})
            )
            is None
        ):
            self.created.append(uri)
            return
        self.expected.pop(uri, None)

    async def check(self) -> int:
        """Download every acknowledged upload; returns how many were checked."""
        for uri, digest in self.expected.items():
            response = await self.client.get(
                "/api/files/stream/download", params={"space_id": self.space, "uri": uri}
            )
            self.recorder.response(response)
            if response.status_code != 200:
                self.recorder.report.lost.append(f"{uri}: {response.status_code} {response.text[:200]}")
            elif hashlib.sha256(response.content).hexdigest() != digest:
                self.recorder.report.lost.append(f"{uri}: bytes differ from the acknowledged upload")
        return len(self.expected)


# --- hostile tenants ------------------------------------------------------------------------------
async def _forgiving(
    request: Awaitable[httpx.Response], recorder: Recorder, **kwargs: object
) -> httpx.Response | None:
    """A hostile request: refusals are expected, transport errors (a cut connection) too; 5xx are not."""
    try:
        return recorder.response(await request, **kwargs)  # type: ignore[arg-type]
    except httpx.HTTPError:
        return None


async def runaway_queries(client: httpx.AsyncClient, space: str, recorder: Recorder, deadline: float) -> None:
    """Cartesian products that would run for hours: each must stop at the budget (504) or be refused (429)."""
    while time.monotonic() < deadline:
        response = await _forgiving(
            client.post(
                f"/api/graphs/sparql/{space}/query",
                content=RUNAWAY_QUERY,
                headers={"Content-Type": "application/sparql-query"},
            ),
            recorder,
            expected_5xx=(504,),
        )
        recorder.report.hostile["runaway queries"] += 1
        if response is not None and response.status_code == 429:
            await asyncio.sleep(0.2)


async def racing_writers(
    client: httpx.AsyncClient, space: str, recorder: Recorder, deadline: float, rng: random.Random
) -> None:
    """Metadata PUT, upload, replace and delete at once on one node, round after round."""
    round_number = 0
    while time.monotonic() < deadline:
        round_number += 1
        uri = f"http://example.org/race/n{round_number % 5}"
        node = [{"@id": uri, "@type": FILE_NODE, HAS_NAME: [{"@value": f"race {round_number}"}]}]
        await _forgiving(client.post("/api/files", params={"space_id": space}, json=node), recorder)

        def upload(uri: str = uri) -> Awaitable[httpx.Response]:
            data = os.urandom(rng.choice([KiB, 64 * KiB, 512 * KiB]))
            return client.post(
                "/api/files/stream/upload", params={"space_id": space, "uri": uri}, content=data
            )

        writers = [
            upload(),
            upload(),
            client.put("/api/files", params={"space_id": space}, json=node),
            client.delete("/api/files", params={"space_id": space, "uri": uri})
            if rng.random() < 0.3
            else upload(),
        ]
        await asyncio.gather(*(_forgiving(w, recorder) for w in writers))
        recorder.report.hostile["racing writer rounds"] += 1
        response = await _forgiving(
            client.get("/api/files/stream/download", params={"space_id": space, "uri": uri}), recorder
        )
        if response is not None and response.status_code == 200:
            served = hashlib.sha256(response.content).hexdigest()
            recorded = response.headers.get("etag", "").strip('"')
            if recorded and recorded != served and not recorded.startswith("W/"):
                recorder.report.findings.append(
                    f"racing writers: {uri} serves {served} under ETag {recorded}"
                )


async def deleted_spaces(client: httpx.AsyncClient, space: str, recorder: Recorder, deadline: float) -> None:
    """Upload slowly into a space while it is deleted and created anew; the upload must be refused or
    land before the deletion, and leave no blob behind either way."""
    uri = "http://example.org/churn/file"

    async def trickle() -> object:
        for _ in range(20):
            yield os.urandom(32 * KiB)
            await asyncio.sleep(0.02)

    while time.monotonic() < deadline:
        await _forgiving(
            client.post("/api/spaces", json={"space_id": space, "space_name": "churn"}), recorder
        )
        await _forgiving(
            client.post("/api/files", params={"space_id": space}, json=[{"@id": uri, "@type": FILE_NODE}]),
            recorder,
        )
        upload = asyncio.ensure_future(
            _forgiving(
                client.post(
                    "/api/files/stream/upload", params={"space_id": space, "uri": uri}, content=trickle()
                ),
                recorder,
            )
        )
        await asyncio.sleep(random.uniform(0.05, 0.4))
        await _forgiving(client.delete(f"/api/spaces/{space}"), recorder)
        await upload
        recorder.report.hostile["spaces deleted mid-upload"] += 1
    await _forgiving(client.delete(f"/api/spaces/{space}"), recorder)


async def raw_status(url: str, request: bytes, address: str = HOSTILE_ADDRESS) -> int | None:
    """Send `request` as is on a new connection; the status of the answer, None if it was cut."""
    parts = urlsplit(url)
    try:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port, local_addr=(address, 0))
    except OSError:
        return None
    try:
        writer.write(request)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout=30)
        fields = line.split(b" ", 2)
        return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None
    except (OSError, TimeoutError):
        return None
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def bad_bodies(
    url: str, client: httpx.AsyncClient, space: str, recorder: Recorder, deadline: float
) -> None:
    """Deeply nested and oversize JSON, over-long URIs: each must be refused with a 4xx."""
    nested = "[" * 10_000 + "]" * 10_000
    oversize = b"[" + b" " * (33 * MiB) + b"]"
    long_uri = "http://example.org/" + "u" * 100_000
    json_type = {"Content-Type": "application/json"}
    files = "/api/files"
    long_line = (
        f"GET {files}?space_id={space}&uri={long_uri} HTTP/1.1\r\nHost: {urlsplit(url).netloc}\r\n"
        f"Authorization: {client.headers['Authorization']}\r\n\r\n"
    ).encode()

    async def over_long_request_line() -> int | None:
        return await raw_status(url, long_line)

    attacks: list[tuple[str, Callable[[], Awaitable[httpx.Response]]]] = [
        (
            "nested JSON",
            lambda: client.post(files, params={"space_id": space}, content=nested, headers=json_type),
        ),
        (
            "oversize JSON",
            lambda: client.post(files, params={"space_id": space}, content=oversize, headers=json_type),
        ),
        (
            "long URI in body",
            lambda: client.post(
                files, params={"space_id": space}, json=[{"@id": long_uri, "@type": FILE_NODE}]
            ),
        ),
    ]
    turn = 0
    while time.monotonic() < deadline:
        name, attack = attacks[turn % len(attacks)]
        turn += 1
        response = await _forgiving(attack(), recorder)
        recorder.report.hostile[name] += 1
        if response is not None and response.is_success:
            recorder.report.findings.append(f"{name}: accepted with {response.status_code}")
        status = await over_long_request_line()
        recorder.report.hostile["long URI in request line"] += 1
        if status is not None and status >= 500 and status != 503:
            recorder.report.server_errors.append(f"GET with a 100 kB request line -> {status}")
        elif status is not None and status < 400:
            recorder.report.findings.append(f"a 100 kB request line was answered {status}")
        elif status is not None:
            recorder.report.refusals[str(status)] += 1
        await asyncio.sleep(0.3)


async def rotating_logins(url: str, recorder: Recorder, deadline: float, max_failures: int) -> None:
    """Wrong passwords, each with another X-Forwarded-For: the throttle must still key on the peer."""
    async with _client(url, None, LOGIN_ADDRESS) as client:
        attempt = 0
        while time.monotonic() < deadline:
            attempt += 1
            response = await _forgiving(
                client.post(
                    "/api/login",
                    data={"username": "admin", "password": f"guess-{attempt}"},
                    headers={"X-Forwarded-For": f"198.51.100.{attempt % 250 + 1}"},
                ),
                recorder,
            )
            recorder.report.hostile["rotating-XFF logins"] += 1
            if response is not None and response.status_code == 429:
                if attempt <= max_failures + 1:  # the failures allowed, then this 429
                    return
                recorder.report.findings.append(
                    f"login throttle: first 429 after {attempt} failures (limit {max_failures})"
                )
                return
            if attempt > 5 * max_failures + 1:
                recorder.report.findings.append(f"login throttle: {attempt} failed logins, never a 429")
                return
            await asyncio.sleep(0.05)


async def slowloris(
    url: str, recorder: Recorder, deadline: float, header_timeout: float, connections: int
) -> None:
    """Half request lines and trickled bodies; the server must close each within its timeouts."""
    parts = urlsplit(url)
    lingering = 0

    async def one(kind: str) -> None:
        nonlocal lingering
        try:
            reader, writer = await asyncio.open_connection(
                parts.hostname, parts.port, local_addr=(SLOWLORIS_ADDRESS, 0)
            )
        except OSError:
            return
        opened = time.monotonic()
        try:
            if kind == "half line":
                writer.write(b"GET /api/files?space_id=")
            else:
                writer.write(
                    f"POST /api/files/stream/upload?space_id=x&uri=y HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                    "Content-Length: 1000000\r\n\r\n".encode()
                )
            await writer.drain()
            first = True
            while time.monotonic() < deadline:
                try:
                    data = await asyncio.wait_for(reader.read(4096), timeout=1.0)
                except TimeoutError:
                    if kind == "slow body":
                        writer.write(b"x")
                        await writer.drain()
                    continue
                if not data:  # closed by the server
                    break
                status, first = (data.split(b" ", 2)[1:2] if first else []), False
                if status and status[0].startswith(b"5") and status[0] not in (b"503",):
                    recorder.report.server_errors.append(f"slowloris {kind} -> {status[0].decode()}")
                elif status:
                    recorder.report.refusals[status[0].decode()] += 1
            held = time.monotonic() - opened
            if kind == "half line" and held > header_timeout + 3 and time.monotonic() < deadline:
                lingering += 1
        except OSError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        recorder.report.hostile[f"slowloris ({kind})"] += 1

    while time.monotonic() < deadline - 1:
        await asyncio.gather(*(one("half line" if n % 2 else "slow body") for n in range(connections)))
    if lingering:
        recorder.report.findings.append(
            f"slowloris: {lingering} half request lines held past the header timeout"
        )


# --- the campaign -----------------------------------------------------------------------------------
def _attackers_process(
    url: str, token: str, space: str, until: float, seed: float, slowloris_connections: int, out: object
) -> None:
    """Runs in its own process: every hostile job until `until` (time.time()); puts what it saw."""
    gc.freeze()
    seconds = until - time.time()
    report = HostileReport()
    try:
        asyncio.run(
            _attack(url, token, space, seconds, random.Random(seed), slowloris_connections, Recorder(report))
        )
    except BaseException as error:  # reported, not lost with the process
        report.findings.append(f"the attackers' process failed: {error!r}")
    out.put(  # type: ignore[attr-defined]
        {
            "hostile": dict(report.hostile),
            "refusals": dict(report.refusals),
            "server_errors": report.server_errors,
            "findings": report.findings,
        }
    )


async def _attack(
    url: str,
    token: str,
    space: str,
    seconds: float,
    rng: random.Random,
    slowloris_connections: int,
    recorder: Recorder,
) -> None:
    deadline = time.monotonic() + seconds
    async with _client(url, token, HOSTILE_ADDRESS, limits=httpx.Limits(max_connections=30)) as mallory:
        (
            await mallory.post("/api/spaces", json={"space_id": space, "space_name": "mallory"})
        ).raise_for_status()
        nodes = [
            {"@id": f"http://example.org/m/{n}", "@type": FILE_NODE, HAS_NAME: [{"@value": f"m{n}"}]}
            for n in range(40)
        ]
        (await mallory.post("/api/files", params={"space_id": space}, json=nodes)).raise_for_status()
        jobs = [runaway_queries(mallory, space, recorder, deadline) for _ in range(3)]
        jobs += [
            racing_writers(mallory, space, recorder, deadline, random.Random(rng.random())),
            deleted_spaces(mallory, f"{space}-churn", recorder, deadline),
            bad_bodies(url, mallory, space, recorder, deadline),
            rotating_logins(url, recorder, deadline, int(SERVER_ENV["VITALGRAPH_LOGIN_MAX_FAILURES"])),
            slowloris(
                url,
                recorder,
                deadline,
                float(SERVER_ENV["VITALGRAPH_HEADER_TIMEOUT_SECONDS"]),
                slowloris_connections,
            ),
        ]
        for outcome in await asyncio.gather(*jobs, return_exceptions=True):
            if isinstance(outcome, BaseException):
                recorder.report.findings.append(f"a hostile job failed: {outcome!r}")


def _merge(report: HostileReport, seen: dict) -> None:
    for name, count in seen["hostile"].items():
        report.hostile[name] += count
    for status, count in seen["refusals"].items():
        report.refusals[status] += count
    report.server_errors += seen["server_errors"]
    report.findings += seen["findings"]


async def run_campaign_async(
    url: str,
    admin_token: str,
    *,
    seconds: float,
    tenants: int = 3,
    think_seconds: float = THINK_SECONDS,
    seed: int = 20261203,
    slowloris_connections: int = 60,
    settle_seconds: float = 2.0,
    hostile: bool = True,
) -> HostileReport:
    """The campaign against a running server (started with SERVER_ENV); `hostile=False`: the normal
    tenants alone, the baseline their latencies are read against."""
    rng = random.Random(seed)
    report = HostileReport()
    recorder = Recorder(report)
    run_id = uuid.uuid4().hex[:6]
    async with _client(url, admin_token, NORMAL_ADDRESS) as admin:
        names = [f"tenant{n}-{run_id}" for n in range(tenants)] + [f"mallory-{run_id}"]
        for name in names:
            (
                await admin.post(
                    "/api/users", json={"username": name, "password": PASSWORD, "role": "writer"}
                )
            ).raise_for_status()
        tokens = {name: await _login(url, name, PASSWORD) for name in names}
        async with contextlib.AsyncExitStack() as stack:
            normal = []
            for name in names[:-1]:
                client = await stack.enter_async_context(_client(url, tokens[name], NORMAL_ADDRESS))
                tenant = Tenant(name, client, recorder, random.Random(rng.random()), think_seconds)
                await tenant.setup()
                normal.append(tenant)
            # The measuring client's own full garbage collections (~50 ms over its imports) would
            # count as the server's latency: its start-up objects are left out of them, as the server's are.
            gc.collect()
            gc.freeze()
            started = time.monotonic()
            jobs = [tenant.run(started + seconds) for tenant in normal]
            attackers = None
            if hostile:
                # The attackers run in a process of their own, so their CPU use (hashing, building
                # 33 MiB bodies) does not delay the normal tenants' requests as measured here.
                context = multiprocessing.get_context("spawn")
                out = context.Queue()
                attackers = context.Process(
                    target=_attackers_process,
                    args=(
                        url,
                        tokens[names[-1]],
                        f"mallory-{run_id}",
                        time.time() + seconds,
                        rng.random(),
                        slowloris_connections,
                        out,
                    ),
                )
                attackers.start()
            outcomes = await asyncio.gather(*jobs, return_exceptions=True)
            report.seconds = time.monotonic() - started
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    report.findings.append(f"a campaign task failed: {outcome!r}")
            if attackers is not None:
                _merge(report, await asyncio.to_thread(out.get, True, seconds + 600))
                if not report.hostile:
                    report.findings.append(
                        "the attackers did nothing: their deadline had passed when they started"
                    )
                attackers.join(30)
            await asyncio.sleep(settle_seconds)  # cut connections' uploads finish being refused
            for tenant in normal:
                report.acknowledged += await tenant.check()
        response = recorder.response(
            await admin.get("/api/admin/verify", params={"orphan_min_age_seconds": 0}, timeout=600)
        )
        verify = response.json()
        _read_loop_lag(report, (await admin.get("/metrics")).text)
        report.orphans, report.missing, report.corrupt = (
            verify["orphaned"],
            verify["missing"],
            verify["corrupt"],
        )
    return report


def _read_loop_lag(report: HostileReport, metrics: str) -> None:
    buckets: dict[str, float] = {}
    for line in metrics.splitlines():
        if line.startswith("vitalgraph_event_loop_lag_max_seconds "):
            report.loop_lag_max_ms = float(line.split()[-1]) * 1000
        elif line.startswith("vitalgraph_event_loop_lag_seconds_bucket{"):
            buckets[line.split('le="')[1].split('"')[0]] = float(line.split()[-1])
    if buckets.get("+Inf"):
        report.loop_lag_over_50ms = 1 - buckets.get("0.05", 0.0) / buckets["+Inf"]


def run_campaign(url: str, admin_token: str, *, seconds: float, **kwargs: object) -> HostileReport:
    """Run the campaign for `seconds` against a server started with SERVER_ENV's settings."""
    return asyncio.run(run_campaign_async(url, admin_token, seconds=seconds, **kwargs))  # type: ignore[arg-type]


def print_report(report: HostileReport) -> None:
    print(f"\n## {report.store or 'store'}: {report.seconds:.0f} s\n")
    print(
        "| acknowledged uploads checked | lost | orphan blobs | missing / corrupt | unexpected 5xx "
        "| normal-tenant errors |"
    )
    print("|---|---|---|---|---|---|")
    print(
        f"| {report.acknowledged} | {len(report.lost)} | {len(report.orphans)} | "
        f"{len(report.missing)} / {len(report.corrupt)} | {len(report.server_errors)} | "
        f"{len(report.normal_errors)} (+ {len(report.starved_queries)} small queries stopped at the budget) |"
    )
    print("\n| normal-tenant operation | count | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|")
    for op, values in sorted(report.latencies.items()):
        print(
            f"| {op} | {len(values)} | {percentile(values, 0.5):.1f} | {percentile(values, 0.99):.1f} "
            f"| {max(values):.1f} |"
        )
    over = [
        f"{op} {percentile(report.latencies.get(op, []), 0.99):.0f} ms"
        for op in BUDGET_OPERATIONS
        if not percentile(report.latencies.get(op, []), 0.99) <= BUDGET_MS  # no samples: not held
    ]
    print(
        f"\np99 budget (<= {BUDGET_MS:.0f} ms for {', '.join(BUDGET_OPERATIONS)}): "
        + (f"NOT held ({', '.join(over)})" if over else "held")
    )
    print(
        f"server event loop: largest lag {report.loop_lag_max_ms:.0f} ms, "
        f"{report.loop_lag_over_50ms:.2%} of wake-ups later than 50 ms"
    )
    print("hostile:", ", ".join(f"{name} {count}" for name, count in sorted(report.hostile.items())))
    print("refusals by status:", ", ".join(f"{s}: {n}" for s, n in sorted(report.refusals.items())))
    for title, items in (
        ("lost", report.lost),
        ("orphans", report.orphans),
        ("missing", report.missing),
        ("corrupt", report.corrupt),
        ("5xx", report.server_errors),
        ("normal-tenant errors", report.normal_errors),
        ("findings", report.findings),
        ("normal tenants' small queries stopped at the budget", report.starved_queries),
    ):
        if items:
            print(f"{title}:", *items[:20], sep="\n  ")


def _seaweedfs_env(directory: Path, stack: contextlib.ExitStack) -> dict[str, str]:
    from tests.fixtures.seaweedfs import start_seaweedfs

    seaweed = start_seaweedfs(directory)
    stack.callback(seaweed.stop)
    return seaweed.server_env(prefix="hostile/")


def campaign_on(
    store: str, seconds: float, workdir: Path, *, hostile: bool = True, think_seconds: float = THINK_SECONDS
) -> HostileReport:
    run_dir = Path(tempfile.mkdtemp(prefix=f"hostile-{store}-", dir=workdir))
    password = uuid.uuid4().hex
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITALGRAPH_")}
    env.update({"VITALGRAPH_ADMIN_PASSWORD": password, **SERVER_ENV})
    (run_dir / "data").mkdir()
    try:
        with contextlib.ExitStack() as stack:
            if store == "s3":
                env.update(_seaweedfs_env(run_dir / "seaweedfs", stack))
            process, url = start_server(run_dir / "data", env)
            try:
                token = httpx.post(
                    f"{url}/api/login", data={"username": "admin", "password": password}
                ).json()["access_token"]
                report = run_campaign(
                    url, token, seconds=seconds, hostile=hostile, think_seconds=think_seconds
                )
            finally:
                process.terminate()
                process.wait(60)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    report.store = store if hostile else f"{store}, normal tenants alone"
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="campaign length per store")
    parser.add_argument("--store", choices=["local", "s3", "both"], default="both")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "vg-hostile")
    parser.add_argument("--calm", action="store_true", help="normal tenants alone: the latency baseline")
    parser.add_argument(
        "--think-ms",
        type=float,
        default=THINK_SECONDS * 1000,
        help="normal tenants' mean pause between requests (0: a closed loop)",
    )
    parser.add_argument("--json", action="store_true", help="print the reports as JSON")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    stores = ["local", "s3"] if args.store == "both" else [args.store]
    reports = [
        campaign_on(
            store, args.seconds, args.workdir, hostile=not args.calm, think_seconds=args.think_ms / 1000
        )
        for store in stores
    ]
    for report in reports:
        if args.json:
            summary = {k: v for k, v in report.__dict__.items() if k != "latencies"}
            summary["p50_p99_ms"] = {
                op: [percentile(v, 0.5), percentile(v, 0.99)] for op, v in report.latencies.items()
            }
            print(json.dumps(summary, indent=2, default=dict))
        else:
            print_report(report)
    sys.exit(0 if all(report.ok for report in reports) else 1)


if __name__ == "__main__":
    main()
