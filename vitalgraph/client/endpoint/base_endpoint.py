"""What every older endpoint group shares: the open AsyncVitalGraphClient underneath, and the
response for a failure (for the methods that reported failures in their response, not by raising)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from vitalgraph.client.errors import VitalGraphClientError
from vitalgraph.client.response.client_response import VitalGraphResponse

if TYPE_CHECKING:
    from vitalgraph.client.async_client import AsyncVitalGraphClient
    from vitalgraph.client.vitalgraph_client import VitalGraphClient

R = TypeVar("R", bound=VitalGraphResponse)


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
