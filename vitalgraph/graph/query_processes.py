"""The server's side of the query workers (`query_worker.py`): run one query in a process, kill it
when it runs past its time limit or its caller gives up.

A worker serves one query at a time and is reused while its queries end normally; one is killed
on a timeout, a cancellation (the client went away, the server is stopping) or a broken pipe, and
a fresh one takes its place. One idle worker is kept started, so a query does not wait for Python
and pyoxigraph to load (a few hundred ms).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import struct
import sys
from collections.abc import Sequence
from pathlib import Path

from vitalgraph.errors import InvalidInputError, QueryTimeoutError, StorageUnavailableError
from vitalgraph.graph import query_worker as protocol

logger = logging.getLogger("vitalgraph.graph")

_HEADER = struct.Struct(">cI")
START_TIMEOUT_SECONDS = 30.0
IDLE_WORKERS = 1
NICE = shutil.which("nice")


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, nice: int) -> _Worker:
        # `nice` in front: even the worker's start-up (Python, pyoxigraph) yields to the server.
        niced = [NICE, "-n", str(nice)] if nice and NICE else []
        process = await asyncio.create_subprocess_exec(
            # The file itself, not `-m vitalgraph.graph.query_worker`: that would import the package
            # (settings, models: seconds of start-up) and start threads before the worker leaves the network.
            *niced,
            sys.executable,
            "-I",
            protocol.__file__,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "VITALGRAPH_QUERY_WORKER_NICE": "0" if niced else str(nice)},
        )
        worker = cls(process)
        try:
            async with asyncio.timeout(START_TIMEOUT_SECONDS):
                kind, body = await worker._read()
        except BaseException:
            worker.kill()
            raise
        if kind != protocol.READY:
            worker.kill()
            raise StorageUnavailableError("a SPARQL query worker did not start")
        confinement = json.loads(body)
        if not confinement.get("network_isolated"):
            logger.warning(
                "SPARQL query workers run without a network namespace of their own (the kernel refused "
                "one): only the query check keeps SERVICE from reaching the network"
            )
        return worker

    async def ask(self, request: dict[str, object]) -> tuple[bytes, bytes]:
        body = json.dumps(request).encode()
        assert self.process.stdin is not None
        self.process.stdin.write(_HEADER.pack(b"Q", len(body)) + body)
        await self.process.stdin.drain()
        return await self._read()

    async def _read(self) -> tuple[bytes, bytes]:
        assert self.process.stdout is not None
        try:
            kind, length = _HEADER.unpack(await self.process.stdout.readexactly(_HEADER.size))
            return kind, await self.process.stdout.readexactly(length)
        except asyncio.IncompleteReadError:
            raise StorageUnavailableError("a SPARQL query worker ended without answering") from None

    def kill(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()


class QueryProcesses:
    """Runs queries in killable worker processes, each on the store (a snapshot) it is given."""

    def __init__(self, *, timeout_seconds: float, nice: int) -> None:
        self.timeout_seconds = timeout_seconds
        self.nice = nice
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._starting: set[asyncio.Task[None]] = set()
        self._closed = False

    async def run(self, store: Path, query: str, graphs: Sequence[str]) -> tuple[bytes, bytes]:
        """(kind, body) as `query_worker` answers; QueryTimeoutError past the time limit."""
        request = {
            "path": str(store),
            "query": query,
            "graphs": list(graphs),
            "timeout": self.timeout_seconds,
        }
        worker = await self._take()
        try:
            async with asyncio.timeout(self.timeout_seconds):
                kind, body = await worker.ask(request)
        except TimeoutError:
            worker.kill()
            raise QueryTimeoutError(
                f"the query ran longer than SPARQL_QUERY_TIMEOUT ({self.timeout_seconds:g} s) and was stopped"
            ) from None
        except BaseException:
            worker.kill()  # cancelled (client gone, server stopping) or broken: the work stops here
            raise
        finally:
            self._busy.discard(worker)
        self._give_back(worker)
        if kind == protocol.SYNTAX_ERROR:
            raise InvalidInputError(f"SPARQL syntax error: {body.decode(errors='replace')}")
        if kind == protocol.FAILED:
            raise StorageUnavailableError(f"the SPARQL query failed: {body.decode(errors='replace')}")
        return kind, body

    async def _take(self) -> _Worker:
        if self._closed:
            raise StorageUnavailableError("the graph store is closed")
        worker = self._idle.pop() if self._idle else await _Worker.start(self.nice)
        self._busy.add(worker)
        self._keep_one_ready()
        return worker

    def _give_back(self, worker: _Worker) -> None:
        if self._closed or len(self._idle) >= IDLE_WORKERS:
            worker.kill()
        else:
            self._idle.append(worker)

    def _keep_one_ready(self) -> None:
        if self._closed or self._idle or self._starting:
            return

        async def start() -> None:
            try:
                worker = await _Worker.start(self.nice)
            except Exception as exc:  # the next query starts its own and reports the failure
                logger.warning("could not start a spare SPARQL query worker: %s", exc)
                return
            self._give_back(worker)

        task = asyncio.get_running_loop().create_task(start())
        self._starting.add(task)
        task.add_done_callback(self._starting.discard)

    async def close(self) -> None:
        """Kill every worker, busy ones included: their queries answer 503."""
        self._closed = True
        for task in list(self._starting):
            task.cancel()
        for worker in [*self._idle, *self._busy]:
            worker.kill()
        for worker in [*self._idle, *self._busy]:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(worker.process.wait(), 5)
        self._idle.clear()
