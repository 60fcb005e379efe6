"""The sans-I/O core of the clients' multi-step operations (transfers), and its two drivers.

An operation that takes more than one request (an upload retried after a dropped connection, a tus
upload, a download resumed where it broke off) is written once, as a generator: a *flow*. It yields
what it needs done, an effect (send this call, sleep, run this blocking file work, open this streamed
response, read its next raw chunk, hand this piece to the caller), and is sent back the outcome, or has
the error thrown in where it yielded. Every decision stays in the flow and the plans it drives
(`_transfer.py`, `_tus.py`, `_direct.py`); `SyncDriver` and `AsyncDriver` are the only code that does I/O:
`client._execute(call)` or `await client._execute(call)`, `time.sleep` or `anyio.sleep`, file work inline
or on a worker thread, iterate or async-iterate a response. Neither runs the other: the sync driver
has no event loop and no thread of its own.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.to_thread
import httpx

from vitalgraph.client._direct import DIRECT_PARTS_IN_FLIGHT
from vitalgraph.client._requests import Call, network_errors
from vitalgraph.client.binary.adapters import (
    as_async_binary_consumer,
    as_async_binary_generator,
    as_binary_consumer,
    as_binary_generator,
)
from vitalgraph.client.binary.async_streaming import AsyncStreamGenerator, pump_data_async
from vitalgraph.client.binary.streaming import IteratorGenerator, pump_data

if TYPE_CHECKING:
    from vitalgraph.client.async_client import AsyncVitalGraphClient
    from vitalgraph.client.sync_client import VitalGraphClient

T = TypeVar("T")


# --- effects: what a flow asks its driver for, and what it is sent back -----------------------------
@dataclass(frozen=True)
class Send:
    """Send `call` and read its whole reply: the parsed reply, or its typed error thrown in."""

    call: Call[Any]


@dataclass(frozen=True)
class Sleep:
    """Wait `seconds` (before a retry)."""

    seconds: float


@dataclass(frozen=True)
class Blocking:
    """Blocking file work, `function(*args)`: inline for the sync client, on a worker thread for the
    async one. Sent back: what the function returned."""

    function: Callable[..., Any]
    args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Open:
    """Send `call` and keep its reply's body unread: the response (a 4xx/5xx is thrown in as its typed
    error). It stays open while the flow reads it (Read), emits or does file work (Blocking) and is
    closed at its end, by any other effect, by an error, or when the flow ends."""

    call: Call[Any]


@dataclass(frozen=True)
class Read:
    """The next raw chunk of the open response's body; None at its end (the response is then closed)."""


@dataclass(frozen=True)
class Emit:
    """Hand `piece` to whoever iterates the flow (`iter_file`); sent back: None."""

    piece: bytes


@dataclass(frozen=True)
class Source:
    """The upload source as a generator of the driver's kind (sync, or async with its file work on
    worker threads): `as_binary_generator` or `as_async_binary_generator`."""

    source: Any
    chunk_size: int


@dataclass(frozen=True)
class Pump:
    """Pass every piece `flow` emits into `destination` (a path, file object or consumer of the driver's
    kind), then finalize it, or abort it if the flow fails. Sent back: what the flow returned."""

    flow: Flow[Any]
    destination: Any


@dataclass(frozen=True)
class PutParts:
    """PUT `parts` (a direct upload's presigned part URLs) to S3, up to DIRECT_PARTS_IN_FLIGHT at a
    time, each part's own steps being `put_part(s3_client, part)` (a flow); the first failure is thrown."""

    parts: list[dict[str, Any]]
    put_part: Callable[[Any, dict[str, Any]], Flow[None]]
    timeout: httpx.Timeout
    verify: Any


@dataclass(frozen=True)
class Put:
    """One plain PUT with `client` (an S3 part to its presigned URL): the raw httpx response."""

    client: Any
    url: str
    content: bytes
    headers: dict[str, str]


READ = Read()
Effect = Send | Sleep | Blocking | Open | Read | Emit | Source | Pump | PutParts | Put
Flow = Generator[Effect, Any, T]


class _Steps:
    """Walks a flow: the last effect's outcome (or error) in, the next effect out; None when it ends."""

    def __init__(self, flow: Flow[Any]) -> None:
        self.flow = flow
        self.outcome: Any = None
        self.failure: BaseException | None = None
        self.result: Any = None
        self.raw: Any = None  # the open response's raw chunks (an iterator, or an async one)

    def next(self) -> Effect | None:
        try:
            if self.failure is not None:
                failure, self.failure = self.failure, None
                return self.flow.throw(failure)
            outcome, self.outcome = self.outcome, None
            return self.flow.send(outcome)
        except StopIteration as done:
            self.result = done.value
            return None


# --- the two drivers -----------------------------------------------------------------------------------
class SyncDriver:
    """Runs flows for VitalGraphClient with plain blocking I/O."""

    def __init__(self, client: VitalGraphClient) -> None:
        self.client = client

    def run(self, flow: Flow[T]) -> T:
        steps = _Steps(flow)
        for piece in self._drive(steps):
            raise AssertionError(f"a flow run to its end emitted {len(piece)} bytes")
        return steps.result  # type: ignore[no-any-return]

    def iterate(self, flow: Flow[Any]) -> Iterator[bytes]:
        """The pieces the flow emits, as it runs."""
        return self._drive(_Steps(flow))

    def _drive(self, steps: _Steps) -> Iterator[bytes]:
        with contextlib.ExitStack() as response:
            while (effect := steps.next()) is not None:
                try:
                    if isinstance(effect, Emit):
                        yield effect.piece
                    else:
                        steps.outcome = self._do(effect, response, steps)
                except BaseException as error:
                    response.close()
                    steps.failure = error

    def _do(self, effect: Effect, response: contextlib.ExitStack, steps: _Steps) -> Any:
        if isinstance(effect, Read):
            with network_errors():
                chunk = next(steps.raw, None)
            if chunk is None:
                response.close()
            return chunk
        if not isinstance(effect, (Read, Blocking)):  # a response stays open only while read
            response.close()
        match effect:
            case Send(call):
                return self.client._execute(call)
            case Open(call):
                opened = response.enter_context(self.client._stream(call))
                steps.raw = opened.iter_raw()
                return opened
            case Sleep(seconds):
                return time.sleep(seconds)
            case Blocking(function, args):
                return function(*args)
            case Source(source, chunk_size):
                return as_binary_generator(source, chunk_size)
            case Pump(flow, destination):
                pumped = _Steps(flow)
                pump_data(IteratorGenerator(self._drive(pumped)), as_binary_consumer(destination))
                return pumped.result
            case PutParts():
                return self._put_parts(effect)
            case Put(s3, url, content, headers):
                return s3.put(url, content=content, headers=headers)
        raise TypeError(f"not an effect: {effect!r}")

    def _put_parts(self, effect: PutParts) -> None:
        with httpx.Client(timeout=effect.timeout, verify=effect.verify) as s3:
            with ThreadPoolExecutor(DIRECT_PARTS_IN_FLIGHT) as pool:
                sending = [pool.submit(self.run, effect.put_part(s3, part)) for part in effect.parts]
                try:
                    for future in sending:
                        future.result()
                finally:
                    for future in sending:
                        future.cancel()


class AsyncDriver:
    """Runs flows for AsyncVitalGraphClient: awaited I/O, file work on worker threads."""

    def __init__(self, client: AsyncVitalGraphClient) -> None:
        self.client = client

    async def run(self, flow: Flow[T]) -> T:
        steps = _Steps(flow)
        async for piece in self._drive(steps):
            raise AssertionError(f"a flow run to its end emitted {len(piece)} bytes")
        return steps.result  # type: ignore[no-any-return]

    def iterate(self, flow: Flow[Any]) -> AsyncIterator[bytes]:
        """The pieces the flow emits, as it runs."""
        return self._drive(_Steps(flow))

    async def _drive(self, steps: _Steps) -> AsyncIterator[bytes]:
        async with contextlib.AsyncExitStack() as response:
            while (effect := steps.next()) is not None:
                try:
                    if isinstance(effect, Emit):
                        yield effect.piece
                    else:
                        steps.outcome = await self._do(effect, response, steps)
                except BaseException as error:
                    await response.aclose()
                    steps.failure = error

    async def _do(self, effect: Effect, response: contextlib.AsyncExitStack, steps: _Steps) -> Any:
        if isinstance(effect, Read):
            with network_errors():
                chunk = await anext(steps.raw, None)
            if chunk is None:
                await response.aclose()
            return chunk
        if not isinstance(effect, (Read, Blocking)):  # a response stays open only while read
            await response.aclose()
        match effect:
            case Send(call):
                return await self.client._execute(call)
            case Open(call):
                opened = await response.enter_async_context(self.client._stream(call))
                steps.raw = opened.aiter_raw()
                return opened
            case Sleep(seconds):
                return await anyio.sleep(seconds)
            case Blocking(function, args):
                return await anyio.to_thread.run_sync(function, *args)
            case Source(source, chunk_size):
                return as_async_binary_generator(source, chunk_size)
            case Pump(flow, destination):
                pumped = _Steps(flow)
                pieces = AsyncStreamGenerator(self._drive(pumped))
                await pump_data_async(pieces, as_async_binary_consumer(destination))
                return pumped.result
            case PutParts():
                return await self._put_parts(effect)
            case Put(s3, url, content, headers):
                return await s3.put(url, content=content, headers=headers)
        raise TypeError(f"not an effect: {effect!r}")

    async def _put_parts(self, effect: PutParts) -> None:
        async with httpx.AsyncClient(timeout=effect.timeout, verify=effect.verify) as s3:
            slots = anyio.Semaphore(DIRECT_PARTS_IN_FLIGHT)

            async def send(part: dict[str, Any]) -> None:
                async with slots:  # each reads its part once it holds a slot
                    await self.run(effect.put_part(s3, part))

            try:
                async with anyio.create_task_group() as parts:
                    for part in effect.parts:
                        parts.start_soon(send, part)
            except BaseExceptionGroup as failed:  # the first part's failure, as the sync client raises it
                raise failed.exceptions[0] from None
