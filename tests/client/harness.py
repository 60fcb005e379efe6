"""One synchronous face for the four client implementations, and faults to inject into downloads.

Sync clients are called directly; async clients run on a private event loop (an anyio blocking portal)
that lives for the whole session, as they would inside an application's loop.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import psutil
from anyio.from_thread import BlockingPortal

from vitalgraph.client import AsyncVitalGraphClient, VitalGraphClient
from vitalgraph.mock import AsyncMockVitalGraphClient, MockVitalGraphClient

IMPLEMENTATIONS = ["async", "sync", "async-mock", "sync-mock"]


class Facade:
    """`facade.files.upload_file_stream(...)`, `facade.kgentities.attach_file(...)` etc. behave the
    same whichever client is underneath."""

    def __init__(self, kind: str, client: Any, portal: BlockingPortal) -> None:
        self.kind = kind
        self.client = client
        self.portal = portal
        self.is_async = kind.startswith("async")
        self.is_mock = kind.endswith("mock")
        self.spaces = _Group(self, client.spaces)
        self.files = _Group(self, client.files)
        self.kgtypes = _Group(self, client.kgtypes)
        self.kgentities = _Group(self, client.kgentities)
        self.sparql = _Group(self, client.sparql)

    def run(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        call = functools.partial(function, *args, **kwargs)
        return self.portal.call(call) if self.is_async else call()

    def iterate(self, chunks: Any) -> Iterator[bytes]:
        if not self.is_async:
            yield from chunks
            return
        while (chunk := self.portal.call(_next_or_none, chunks)) is not None:
            yield chunk

    def open(self) -> Facade:
        self.run(self.client.open)
        return self

    def close(self) -> None:
        self.run(self.client.close)

    @property
    def tokens(self) -> Any:
        return self.client.http.auth.tokens

    @contextlib.contextmanager
    def hooks(
        self,
        *,
        request: Callable[[httpx.Request], None] | None = None,
        response: Callable[[httpx.Response], None] | None = None,
    ) -> Iterator[None]:
        """Plain functions called on every request/response for the duration of the block."""
        installed = []
        for kind, hook in (("request", request), ("response", response)):
            if hook is None:
                continue
            wrapped = _async_hook(hook) if self.is_async else hook
            self.client.http.event_hooks[kind].append(wrapped)
            installed.append((kind, wrapped))
        try:
            yield
        finally:
            for kind, wrapped in installed:
                self.client.http.event_hooks[kind].remove(wrapped)


class _Group:
    def __init__(self, facade: Facade, group: Any) -> None:
        self._facade = facade
        self._group = group

    def iter_file(self, *args: Any, **kwargs: Any) -> Iterator[bytes]:
        return self._facade.iterate(self._group.iter_file(*args, **kwargs))

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._group, name)
        return lambda *args, **kwargs: self._facade.run(method, *args, **kwargs)


class ThisProcess:
    """This test process, for PeakRss (which samples anything with `.rss()`)."""

    def rss(self) -> int:
        return psutil.Process().memory_info().rss


def make_client(
    kind: str,
    portal: BlockingPortal,
    *,
    server_url: str | None = None,
    server_settings: dict | None = None,
    **options: Any,
) -> Facade:
    """A client of `kind`; real ones talk to `server_url`, mocks start their own in-process server."""
    if kind == "async":
        client: Any = AsyncVitalGraphClient(server_url, **options)
    elif kind == "sync":
        client = VitalGraphClient(server_url, **options)
    elif kind == "async-mock":
        client = AsyncMockVitalGraphClient(server_settings=server_settings, **options)
    else:
        client = MockVitalGraphClient(server_settings=server_settings, **options)
    return Facade(kind, client, portal)


def _async_hook(hook: Callable[[Any], None]) -> Callable[[Any], Any]:
    async def run(message: Any) -> None:
        hook(message)

    return run


async def _next_or_none(chunks: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await anext(chunks)
    except StopAsyncIteration:
        return None


# --- faults -------------------------------------------------------------------------------------
def is_download(response: httpx.Response) -> bool:
    return response.request.url.path.endswith("/stream/download") and response.status_code in (200, 206)


class DownloadFault:
    """A response hook that breaks the first `times` download bodies after `after` bytes: the
    connection drops (httpx.ReadError), or with `flip=True` one byte arrives changed."""

    def __init__(self, after: int, *, times: int = 1, flip: bool = False) -> None:
        self.after = after
        self.times = times
        self.flip = flip
        self.applied = 0

    def __call__(self, response: httpx.Response) -> None:
        if not is_download(response) or self.applied >= self.times:
            return
        self.applied += 1
        wrapper = (
            _FaultyAsyncStream if isinstance(response.stream, httpx.AsyncByteStream) else _FaultySyncStream
        )
        response.stream = wrapper(response.stream, self.after, self.flip)


def _fault(chunk: bytes, start: int, after: int, flip: bool) -> tuple[bytes, bool]:
    """`chunk` holds stream bytes from `start`: the part to pass on, and whether to drop after it."""
    if not start <= after < start + len(chunk):
        return chunk, False
    cut = after - start
    if flip:
        return chunk[:cut] + bytes([chunk[cut] ^ 0x01]) + chunk[cut + 1 :], False
    return chunk[:cut], True


class _FaultySyncStream(httpx.SyncByteStream):
    def __init__(self, inner: Any, after: int, flip: bool) -> None:
        self.inner, self.after, self.flip = inner, after, flip

    def __iter__(self) -> Iterator[bytes]:
        seen = 0
        for chunk in self.inner:
            passed, drop = _fault(chunk, seen, self.after, self.flip)
            seen += len(chunk)
            yield passed
            if drop:
                raise httpx.ReadError("injected: connection dropped")

    def close(self) -> None:
        self.inner.close()


class _FaultyAsyncStream(httpx.AsyncByteStream):
    def __init__(self, inner: Any, after: int, flip: bool) -> None:
        self.inner, self.after, self.flip = inner, after, flip

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in self.inner:
            passed, drop = _fault(chunk, seen, self.after, self.flip)
            seen += len(chunk)
            yield passed
            if drop:
                raise httpx.ReadError("injected: connection dropped")

    async def aclose(self) -> None:
        await self.inner.aclose()
