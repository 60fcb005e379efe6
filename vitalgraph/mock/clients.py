"""MockVitalGraphClient and AsyncMockVitalGraphClient: the real clients, wired to the real server code
running in-process on a temporary embedded store. No socket, no server to start; streaming included."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vitalgraph.client.async_client import AsyncVitalGraphClient
from vitalgraph.client.config import ClientConfig
from vitalgraph.client.sync_client import VitalGraphClient
from vitalgraph.mock.asgi_transport import StreamingASGITransport
from vitalgraph.mock.portal_transport import PortalTransport
from vitalgraph.mock.server import MOCK_PASSWORD, MOCK_USERNAME, InProcessServer

MOCK_SERVER_URL = "http://vitalgraph.mock"


class _ConfigFromArgumentsOnly(ClientConfig):
    """Client settings that ignore VITALGRAPH_CLIENT_* variables (e.g. a real server's URL or API key)."""

    @classmethod
    def settings_customise_sources(cls, settings_cls: Any, init_settings: Any, **others: Any) -> tuple:
        return (init_settings,)


class _InProcessSetup:
    """The constructor both mocks share: the in-process server, and credentials for its admin account."""

    def __init__(
        self,
        *,
        username: str = MOCK_USERNAME,
        password: str = MOCK_PASSWORD,
        api_key: str | None = None,
        server_settings: Mapping[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        self.server = InProcessServer(server_settings)
        credentials = {"api_key": api_key} if api_key else {"username": username, "password": password}
        config = _ConfigFromArgumentsOnly(server_url=MOCK_SERVER_URL, **credentials, **settings)
        super().__init__(config=config, transport=self._transport_to(self.server))  # type: ignore[call-arg]

    @staticmethod
    def _transport_to(server: InProcessServer) -> Any:
        raise NotImplementedError


class AsyncMockVitalGraphClient(_InProcessSetup, AsyncVitalGraphClient):
    """`AsyncMockVitalGraphClient()`: the AsyncVitalGraphClient interface over the real service layer,
    in this event loop. Pass other credentials to test auth failures, `server_settings` to set server
    limits (e.g. {"MAX_STREAMING_FILE_SIZE": 1024}), and client settings by name. Close it to remove its data."""

    @staticmethod
    def _transport_to(server: InProcessServer) -> StreamingASGITransport:
        return StreamingASGITransport(server, on_close=server.stop)


class MockVitalGraphClient(_InProcessSetup, VitalGraphClient):
    """`MockVitalGraphClient()`: the VitalGraphClient interface over the real service layer, which runs
    on a private event loop in a background thread (so it also works where a loop is running).
    Same options as AsyncMockVitalGraphClient. Close it to stop that thread and remove its data."""

    @staticmethod
    def _transport_to(server: InProcessServer) -> PortalTransport:
        return PortalTransport(lambda: StreamingASGITransport(server, on_close=server.stop))
