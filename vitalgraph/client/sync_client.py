"""VitalGraphClient: the VitalGraph API over httpx.Client. Plain blocking I/O, no event loop of its
own, so it works in any thread, including one where an event loop is running."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import TracebackType
from typing import Any, TypeVar

import httpx

from vitalgraph.client._flow import SyncDriver
from vitalgraph.client._requests import Call, network_errors, raise_for_error
from vitalgraph.client._setup import ClientBase
from vitalgraph.client._transports import default_sync_transport
from vitalgraph.client.endpoints.accounts import ApiTokensEndpoint, UsersEndpoint
from vitalgraph.client.endpoints.admin import AdminEndpoint
from vitalgraph.client.endpoints.audit import AuditEndpoint
from vitalgraph.client.endpoints.files import FilesEndpoint
from vitalgraph.client.endpoints.graphs import GraphsEndpoint
from vitalgraph.client.endpoints.kgentities import KGEntitiesEndpoint
from vitalgraph.client.endpoints.kgtypes import KGTypesEndpoint
from vitalgraph.client.endpoints.objects import ObjectsEndpoint
from vitalgraph.client.endpoints.quotas import QuotasEndpoint
from vitalgraph.client.endpoints.spaces import SpacesEndpoint
from vitalgraph.client.endpoints.sparql import SparqlEndpoint
from vitalgraph.client.endpoints.triples import TriplesEndpoint

T = TypeVar("T")
_HEALTH = Call("GET", "/health", lambda _: None)


class VitalGraphClient(ClientBase):
    """`VitalGraphClient(server_url, username=..., password=...)` or `(server_url, api_key=...)`.

    The same arguments as AsyncVitalGraphClient; use `with`, or `open()` / `close()`.
    """

    http: httpx.Client
    spaces: SpacesEndpoint
    files: FilesEndpoint
    kgtypes: KGTypesEndpoint
    kgentities: KGEntitiesEndpoint
    sparql: SparqlEndpoint
    graphs: GraphsEndpoint
    objects: ObjectsEndpoint
    triples: TriplesEndpoint
    users: UsersEndpoint
    api_tokens: ApiTokensEndpoint
    audit: AuditEndpoint
    admin: AdminEndpoint
    quotas: QuotasEndpoint
    _driver_class = SyncDriver
    _http_class = httpx.Client
    _default_transport = staticmethod(default_sync_transport)

    def open(self) -> VitalGraphClient:
        """Reach the server and log in now, so bad settings fail here rather than at the first call."""
        self._execute(_HEALTH)
        return self

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> VitalGraphClient:
        return self.open()

    def __exit__(self, *exc_info: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def _execute(self, call: Call[T]) -> T:
        with self._stream(call) as response:
            response.read()
            return call.parse(response)

    @contextlib.contextmanager
    def _stream(self, call: Call[Any]) -> Iterator[httpx.Response]:
        """The response to `call` with its body still unread; a 4xx/5xx raises its typed error."""
        with network_errors():
            response = self.http.send(call.build(self.http), stream=True)
            try:
                if response.is_error:
                    response.read()
                    raise_for_error(response)
                yield response
            finally:
                response.close()
