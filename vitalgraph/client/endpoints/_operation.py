"""Endpoint groups (`client.spaces`, `client.files`) and the descriptors that give both twins each
simple operation from one sans-IO builder: the builder says what to send and how to parse the reply,
the descriptor runs it with the client's own I/O (awaited for the async client, direct for the sync)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Generic, ParamSpec, TypeVar

from vitalgraph.client._requests import Call

if TYPE_CHECKING:
    from vitalgraph.client.async_client import AsyncVitalGraphClient
    from vitalgraph.client.sync_client import VitalGraphClient

P = ParamSpec("P")
T = TypeVar("T")


class AsyncEndpointGroup:
    def __init__(self, client: AsyncVitalGraphClient) -> None:
        self._client = client


class SyncEndpointGroup:
    def __init__(self, client: VitalGraphClient) -> None:
        self._client = client


def _signature(build: Callable[..., Call[T]]) -> inspect.Signature:
    """The builder's signature, returning what the call yields (`Space`) rather than `Call[Space]`."""
    signature = inspect.signature(build)
    returns = signature.return_annotation
    if isinstance(returns, str) and returns.startswith("Call[") and returns.endswith("]"):
        signature = signature.replace(return_annotation=returns[len("Call[") : -1])
    return signature


class _Operation(Generic[P, T]):
    def __init__(self, build: Callable[P, Call[T]]) -> None:
        self.build = build
        self.signature = _signature(build)
        functools.update_wrapper(self, build)

    def _as_method(self, run: Callable[..., object]) -> Callable[..., object]:
        functools.update_wrapper(run, self.build)
        run.__signature__ = self.signature  # type: ignore[attr-defined]
        return run


class AsyncOperation(_Operation[P, T]):
    """`name = AsyncOperation(builder)` in an AsyncEndpointGroup: `await group.name(...)` runs the call."""

    def __get__(
        self, group: AsyncEndpointGroup | None, owner: type | None = None
    ) -> Callable[P, Awaitable[T]]:
        if group is None:
            return self  # type: ignore[return-value]
        build, client = self.build, group._client

        async def run(*args: P.args, **kwargs: P.kwargs) -> T:
            return await client._execute(build(*args, **kwargs))

        return self._as_method(run)  # type: ignore[return-value]


class SyncOperation(_Operation[P, T]):
    """`name = SyncOperation(builder)` in a SyncEndpointGroup: `group.name(...)` runs the call."""

    def __get__(self, group: SyncEndpointGroup | None, owner: type | None = None) -> Callable[P, T]:
        if group is None:
            return self  # type: ignore[return-value]
        build, client = self.build, group._client

        def run(*args: P.args, **kwargs: P.kwargs) -> T:
            return client._execute(build(*args, **kwargs))

        return self._as_method(run)  # type: ignore[return-value]
