"""What every older endpoint group shares: the open AsyncVitalGraphClient underneath, and the
response for a failure (for the methods that reported failures in their response, not by raising)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from vitalgraph.client.errors import VitalGraphClientError
from vitalgraph.client.response.client_response import VitalGraphResponse

if TYPE_CHECKING:
    from vitalgraph.client.async_client import AsyncVitalGraphClient
    from vitalgraph.client.vitalgraph_client import VitalGraphClient

R = TypeVar("R", bound=VitalGraphResponse)
T = TypeVar("T")


class BaseEndpoint:
    def __init__(self, client: VitalGraphClient) -> None:
        self.client = client

    @property
    def api(self) -> AsyncVitalGraphClient:
        """Our async client; VitalGraphClientError if `open()` was not called."""
        return self.client.require_open()

    @property
    def wire_format(self) -> Any:
        return self.client.wire_format

    def _check_connection(self) -> None:
        self.client.require_open()


class ClientNotOpenError(VitalGraphClientError):
    """A method was called before `await client.open()` (raised, as the older client did)."""


def failed(cls: type[R], error: VitalGraphClientError, **fields: Any) -> R:
    """The response of a failed call: error_code 1, the HTTP status (0 if none arrived), the reason.
    Calling before `open()` is a programming error and is raised, not reported."""
    if isinstance(error, ClientNotOpenError):
        raise error
    return cls(
        error_code=1,
        error_message=error.detail or str(error),
        status_code=error.status_code or 0,
        message=error.detail or str(error),
        **fields,
    )


async def reported(cls: type[R], pending: Awaitable[T], answer: Callable[[T], R], **context: Any) -> R:
    """`answer(await pending)`, or the failure as a `cls` response (see `failed`) carrying `context`."""
    try:
        value = await pending
    except VitalGraphClientError as error:
        return failed(cls, error, **context)
    return answer(value)


def paging(page: Any, received: int) -> dict[str, Any]:
    """The older list responses' paging fields for our page `page` of which `received` items came."""
    return {
        "total_count": page.total_count,
        "page_size": page.page_size,
        "offset": page.offset,
        "has_more": page.offset + received < page.total_count,
    }


def outcome(cls: type[R], verb: str, reply: Any, *, flag: bool = True, **fields: Any) -> R:
    """The older response of our create / update / delete reply (`verb`: created, updated, deleted):
    its `<verb>_count` and `<verb>_uris`, and `<verb>=True` where the older response has that flag."""
    values = {
        f"{verb}_count": getattr(reply, f"{verb}_count"),
        f"{verb}_uris": getattr(reply, f"{verb}_uris"),
    }
    return cls(**values, **({verb: True} if flag else {}), **fields)


async def answered(cls: type[R], verb: str, pending: Awaitable[Any], **fields: Any) -> R:
    """The older response of a create / update / delete (`outcome`, with `fields`), or of its failure."""
    return await reported(cls, pending, lambda reply: outcome(cls, verb, reply, **fields))
