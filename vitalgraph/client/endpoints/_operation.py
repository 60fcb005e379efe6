"""Endpoint groups (`client.spaces`, `client.files`): every method of both twins comes from one
sans-IO definition. A group names its calls class (builders that say what to send and how to read
the reply, `_requests.Call`) and its flows class (multi-step operations, `_flow.py`); each public
builder or flow becomes a method that runs it with the client's own I/O, awaited for the async
client, direct for the sync one. The method keeps the builder's name, docstring and signature."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:
    from vitalgraph.client.async_client import AsyncVitalGraphClient
    from vitalgraph.client.sync_client import VitalGraphClient

Kind = Literal["call", "flow", "pieces"]
_REPLY = {"call": "Call[", "flow": "Flow["}


class EndpointGroup:
    """What both kinds of group share: the descriptors made from `calls=` and `flows=`."""

    _iterator_type: ClassVar[str]

    def __init__(self, client: VitalGraphClient | AsyncVitalGraphClient) -> None:
        self._client = client

    def __init_subclass__(cls, calls: type | None = None, flows: type | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for source, kind in ((calls, "call"), (flows, "flow")):
            for name, member in vars(source or object).items():
                if not name.startswith("_") and isinstance(member, staticmethod):
                    setattr(cls, name, Operation(member.__func__, kind))  # type: ignore[arg-type]

    def _method(self, start: Callable[..., Any], kind: Kind) -> Callable[..., Any]:
        client: Any = self._client
        if kind == "call":
            return self._as_method(lambda *args, **kwargs: client._execute(start(*args, **kwargs)))
        with_config = functools.partial(start, client.config)
        if kind == "flow":
            return self._as_method(lambda *args, **kwargs: client._driver.run(with_config(*args, **kwargs)))
        return lambda *args, **kwargs: client._driver.iterate(with_config(*args, **kwargs))

    @staticmethod
    def _as_method(act: Callable[..., Any]) -> Callable[..., Any]:
        """The group's method doing `act`: awaited by an async group, as it is for a sync one."""
        raise NotImplementedError


class AsyncEndpointGroup(EndpointGroup):
    _client: AsyncVitalGraphClient
    _iterator_type = "AsyncIterator[bytes]"

    @staticmethod
    def _as_method(act: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def method(*args: Any, **kwargs: Any) -> Any:
            return await act(*args, **kwargs)

        return method


class SyncEndpointGroup(EndpointGroup):
    _client: VitalGraphClient
    _iterator_type = "Iterator[bytes]"

    @staticmethod
    def _as_method(act: Callable[..., Any]) -> Callable[..., Any]:
        return act


class Operation:
    """One method of a group: `start` builds a Call (kind "call") or, given the client's config first,
    a flow that is run to its end ("flow") or iterated for the pieces it emits ("pieces": a flow whose
    return annotation is `Pieces`)."""

    def __init__(self, start: Callable[..., Any], kind: Kind = "call") -> None:
        signature = inspect.signature(start)
        returns = signature.return_annotation
        if kind == "flow" and returns == "Pieces":
            kind = "pieces"
        elif isinstance(returns, str) and returns.startswith(_REPLY[kind]) and returns.endswith("]"):
            signature = signature.replace(return_annotation=returns[len(_REPLY[kind]) : -1])
        if kind != "call":  # the client's config is passed by the group, not the caller
            signature = signature.replace(parameters=list(signature.parameters.values())[1:])
        self.start, self.kind, self.signature = start, kind, signature
        functools.update_wrapper(self, start)  # type: ignore[arg-type]

    def __get__(self, group: EndpointGroup | None, owner: type | None = None) -> Any:
        if group is None:
            return self
        method = group._method(self.start, self.kind)
        functools.update_wrapper(method, self.start)
        signature = self.signature
        if self.kind == "pieces":
            signature = signature.replace(return_annotation=group._iterator_type)
        method.__signature__ = signature  # type: ignore[attr-defined]
        return method


AsyncOperation = SyncOperation = Operation  # `name = Operation(builder)` in either kind of group
