"""AsyncVitalGraphClient: the VitalGraph API over httpx.AsyncClient (aiohttp underneath by default)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, TypeVar

import httpx

from vitalgraph.client._flow import AsyncDriver
from vitalgraph.client._requests import Call, network_errors, raise_for_error
from vitalgraph.client._setup import ClientBase
from vitalgraph.client._transports import default_async_transport
from vitalgraph.client.endpoints.accounts import AsyncApiTokensEndpoint, AsyncUsersEndpoint
from vitalgraph.client.endpoints.admin import AsyncAdminEndpoint
from vitalgraph.client.endpoints.audit import AsyncAuditEndpoint
from vitalgraph.client.endpoints.files import AsyncFilesEndpoint
from vitalgraph.client.endpoints.graphs import AsyncGraphsEndpoint
from vitalgraph.client.endpoints.kgentities import AsyncKGEntitiesEndpoint
from vitalgraph.client.endpoints.kgtypes import AsyncKGTypesEndpoint
from vitalgraph.client.endpoints.objects import AsyncObjectsEndpoint
from vitalgraph.client.endpoints.quotas import AsyncQuotasEndpoint
from vitalgraph.client.endpoints.spaces import AsyncSpacesEndpoint
from vitalgraph.client.endpoints.sparql import AsyncSparqlEndpoint
from vitalgraph.client.endpoints.triples import AsyncTriplesEndpoint

T = TypeVar("T")
_HEALTH = Call("GET", "/health", lambda _: None)


class AsyncVitalGraphClient(ClientBase):
    """`AsyncVitalGraphClient(server_url, username=..., password=...)` or `(server_url, api_key=...)`.

    Unset arguments come from VITALGRAPH_CLIENT_* variables or `config_file`; `settings` are any other
    ClientConfig fields (timeout, chunk_size, max_retries, ...). `transport` replaces the network layer
    (the in-process mock plugs in here). Use `async with`, or `await open()` / `await close()`.
    """

    http: httpx.AsyncClient
    spaces: AsyncSpacesEndpoint
    files: AsyncFilesEndpoint
    kgtypes: AsyncKGTypesEndpoint
    kgentities: AsyncKGEntitiesEndpoint
    sparql: AsyncSparqlEndpoint
    graphs: AsyncGraphsEndpoint
    objects: AsyncObjectsEndpoint
    triples: AsyncTriplesEndpoint
    users: AsyncUsersEndpoint
    api_tokens: AsyncApiTokensEndpoint
    audit: AsyncAuditEndpoint
    admin: AsyncAdminEndpoint
    quotas: AsyncQuotasEndpoint
    _driver_class = AsyncDriver
    _http_class = httpx.AsyncClient
    _default_transport = staticmethod(default_async_transport)

    async def open(self) -> AsyncVitalGraphClient:
        """Reach the server and log in now, so bad settings fail here rather than at the first call."""
        await self._execute(_HEALTH)
        return self

    async def close(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncVitalGraphClient:
        return await self.open()

    async def __aexit__(self, *exc_info: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.close()

    async def _execute(self, call: Call[T]) -> T:
        async with self._stream(call) as response:
            await response.aread()
            return call.parse(response)

    @contextlib.asynccontextmanager
    async def _stream(self, call: Call[Any]) -> AsyncIterator[httpx.Response]:
        """The response to `call` with its body still unread; a 4xx/5xx raises its typed error."""
        with network_errors():
            response = await self.http.send(call.build(self.http), stream=True)
            try:
                if response.is_error:
                    await response.aread()
                    raise_for_error(response)
                yield response
            finally:
                await response.aclose()
