"""`vitalgraph.client.vitalgraph_client.VitalGraphClient`: the older VitalGraph client's async API,
kept for existing code, as a thin layer over our AsyncVitalGraphClient.

    client = VitalGraphClient()                      # settings from LOCAL_CLIENT_* (VITALGRAPH_CLIENT_ENVIRONMENT)
    client = VitalGraphClient(api_key="...")         # a bearer token instead of a login
    await client.open()
    ...
    await client.close()                             # or: async with VitalGraphClient() as client

Groups: spaces, graphs, files, kgtypes, kgentities, objects, triples, sparql, each with the older
method names, positional orders, defaults and response objects. `client=` runs it over any
AsyncVitalGraphClient instead (e.g. `vitalgraph.mock.AsyncMockVitalGraphClient()` in tests).
New code should use `vitalgraph.client.AsyncVitalGraphClient` / `VitalGraphClient` directly.
What differs on purpose: docs/migration.md.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from vitalgraph.client._requests import Call
from vitalgraph.client.async_client import AsyncVitalGraphClient
from vitalgraph.client.config.client_config_loader import ClientConfigurationError, VitalGraphClientConfig
from vitalgraph.client.endpoint.base_endpoint import ClientNotOpenError
from vitalgraph.client.endpoint.client_methods import ClientLevelMethods
from vitalgraph.client.endpoint.files_endpoint import FilesEndpoint
from vitalgraph.client.endpoint.graphs_endpoint import GraphsEndpoint
from vitalgraph.client.endpoint.kgentities_endpoint import KGEntitiesEndpoint
from vitalgraph.client.endpoint.kgtypes_endpoint import KGTypesEndpoint
from vitalgraph.client.endpoint.objects_endpoint import ObjectsEndpoint
from vitalgraph.client.endpoint.spaces_endpoint import SpacesEndpoint
from vitalgraph.client.endpoint.sparql_endpoint import SparqlEndpoint
from vitalgraph.client.endpoint.triples_endpoint import TriplesEndpoint
from vitalgraph.client.errors import VitalGraphClientError
from vitalgraph.client.utils.client_utils import (
    VitalGraphClientConnectionError,
    VitalGraphClientTimeoutError,
    VitalGraphClientUnavailableError,
)
from vitalgraph.client.utils.format_helpers import ClientWireFormat


class VitalGraphClient(ClientLevelMethods):
    """The older client: async, configured from profile-prefixed environment variables."""

    def __init__(
        self,
        *,
        config: VitalGraphClientConfig | None = None,
        token_expiry_seconds: int | None = None,
        disable_proactive_refresh: bool = False,
        wire_format: ClientWireFormat = ClientWireFormat.JSON_QUADS,
        api_key: str | None = None,
        client: AsyncVitalGraphClient | None = None,
    ) -> None:
        """`token_expiry_seconds` and `disable_proactive_refresh` are accepted for compatibility: the
        server sets token lifetimes, and the client renews tokens before they expire and after a 401."""
        try:
            self.config = config if config is not None else VitalGraphClientConfig()
        except ClientConfigurationError as exc:
            raise VitalGraphClientError(f"Configuration error: {exc}") from None
        self.wire_format = wire_format
        self.token_expiry_seconds = token_expiry_seconds
        self.disable_proactive_refresh = disable_proactive_refresh
        self._api_key = api_key
        self._client = client
        self.is_open = False
        self.spaces = SpacesEndpoint(self)
        self.graphs = GraphsEndpoint(self)
        self.files = FilesEndpoint(self)
        self.kgtypes = KGTypesEndpoint(self)
        self.kgentities = KGEntitiesEndpoint(self)
        self.objects = ObjectsEndpoint(self)
        self.triples = TriplesEndpoint(self)
        self.sparql = SparqlEndpoint(self)

    async def open(self) -> None:
        """Connect and log in (or check the API key); VitalGraphClientError if that fails."""
        if self.is_open:
            return
        if self._client is None:
            try:
                settings = self.config.to_client_config(self._api_key)
            except ClientConfigurationError as exc:
                raise VitalGraphClientError(f"Configuration error: {exc}") from None
            self._client = AsyncVitalGraphClient(config=settings)
        try:
            await self._client.open()
        except VitalGraphClientError:
            await self._client.close()
            self._client = None
            raise
        self.is_open = True

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
        self._client = None
        self.is_open = False

    async def __aenter__(self) -> VitalGraphClient:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.close()

    async def health(self) -> dict[str, Any]:
        """The server's /health answer."""
        return await self.require_open()._execute(Call("GET", "/health", lambda response: response.json()))

    def is_connected(self) -> bool:
        return self.is_open

    def get_server_info(self) -> dict[str, Any]:
        return {"server_url": self.config.get_server_url(), "is_connected": self.is_open}

    @property
    def api(self) -> AsyncVitalGraphClient:
        """Our AsyncVitalGraphClient underneath, for the methods the older API lacks."""
        return self.require_open()

    def require_open(self) -> AsyncVitalGraphClient:
        if not self.is_open or self._client is None:
            raise ClientNotOpenError("Client is not connected: call 'await client.open()' first")
        return self._client


__all__ = [
    "ClientWireFormat",
    "VitalGraphClient",
    "VitalGraphClientConnectionError",
    "VitalGraphClientError",
    "VitalGraphClientTimeoutError",
    "VitalGraphClientUnavailableError",
]
