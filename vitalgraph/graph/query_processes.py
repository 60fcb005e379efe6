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
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from vitalgraph.errors import InvalidInputError, QueryTimeoutError, StorageUnavailableError
from vitalgraph.graph import query_worker as protocol

logger = logging.getLogger("vitalgraph.graph")

_HEADER = struct.Struct(">cI")
START_TIMEOUT_SECONDS = 30.0
IDLE_WORKERS = 1
PIPE_THREADS = 64
NICE = shutil.which("nice")
T = TypeVar("T")


class _Worker:
    """One worker process, spoken to over its pipes by blocking reads and writes on `pipes` threads.

    Started by `subprocess.Popen` (vfork and exec: ~0.3 ms), not by the event loop's own subprocess
    support: uvloop forks the whole server, which stopped the loop for 16-26 ms at 300 MB resident,
    once per runaway query killed. The pipes stay the Popen's own files (no second owner of their
    descriptors); a kill ends a blocked read with end-of-file."""

    def __init__(self, process: subprocess.Popen[bytes], pipes: ThreadPoolExecutor) -> None:
        self.process = process
        self.pipes = pipes

    @classmethod
    async def start(cls, nice: int, pipes: ThreadPoolExecutor) -> _Worker:
        # `nice` in front: even the worker's start-up (Python, pyoxigraph) yields to the server.
        niced = [NICE, "-n", str(nice)] if nice and NICE else []
        process = subprocess.Popen(
            # The file itself, not `-m vitalgraph.graph.query_worker`: that would import the package
            # (settings, models: seconds of start-up) and start threads before the worker leaves the network.
            [*niced, sys.executable, "-I", protocol.__file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "VITALGRAPH_QUERY_WORKER_NICE": "0" if niced else str(nice)},
        )
        worker = cls(process, pipes)
        try:
            async with asyncio.timeout(START_TIMEOUT_SECONDS):
                kind, body = await worker._on_pipe_thread(worker._read)
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
        return await self._on_pipe_thread(lambda: self._write(_HEADER.pack(b"Q", len(body)) + body))

    def _write(self, frame: bytes) -> tuple[bytes, bytes]:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(frame)
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError):  # the worker died, or was killed (its pipe closed)
            raise StorageUnavailableError("a SPARQL query worker ended before it got the query") from None
        return self._read()

    def _read(self) -> tuple[bytes, bytes]:
        assert self.process.stdout is not None
        header = self.process.stdout.read(_HEADER.size)
        if len(header) == _HEADER.size:
            kind, length = _HEADER.unpack(header)
            body = self.process.stdout.read(length)
            if len(body) == length:
                return kind, body
        raise StorageUnavailableError("a SPARQL query worker ended without answering")

    def _on_pipe_thread(self, blocking: Callable[[], T]) -> asyncio.Future[T]:
        return asyncio.get_running_loop().run_in_executor(self.pipes, blocking)

    def kill(self) -> None:
        """Kill the process (a read blocked on its pipe then ends) and reap it off the loop."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        try:
            self.pipes.submit(self._reap)
        except RuntimeError:  # the store has closed: reap here, the process is dead or dying
            self._reap()

    def _reap(self) -> None:
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()

    async def wait(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self.pipes, self.process.wait)


class QueryProcesses:
    """Runs queries in killable worker processes, each on the store (a snapshot) it is given."""

    def __init__(self, *, timeout_seconds: float, nice: int) -> None:
        self.timeout_seconds = timeout_seconds
        self.nice = nice
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._starting: set[asyncio.Task[None]] = set()
        self._closed = False
        # Threads that wait on the workers' pipes: one per query running, a few more while they start.
        self._pipes = ThreadPoolExecutor(max_workers=PIPE_THREADS, thread_name_prefix="query-pipe")

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
            text = body.decode(errors="replace")
            if "is not supported" in text:  # "The custom function <...> is not supported": the query's fault
                raise InvalidInputError(f"SPARQL error: {text}")
            raise StorageUnavailableError(f"the SPARQL query failed: {text}")
        return kind, body

    async def _take(self) -> _Worker:
        if self._closed:
            raise StorageUnavailableError("the graph store is closed")
        worker = self._idle.pop() if self._idle else await _Worker.start(self.nice, self._pipes)
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
                worker = await _Worker.start(self.nice, self._pipes)
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
                await asyncio.wait_for(worker.wait(), 5)
        self._idle.clear()
        self._pipes.shutdown(wait=False)
