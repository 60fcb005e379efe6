"""In-process mocks with the clients' public interface: `MockVitalGraphClient()` and
`AsyncMockVitalGraphClient()` run the real service layer on a temporary embedded store."""

from vitalgraph.mock.asgi_transport import StreamingASGITransport
from vitalgraph.mock.clients import MOCK_SERVER_URL, AsyncMockVitalGraphClient, MockVitalGraphClient
from vitalgraph.mock.portal_transport import PortalTransport
from vitalgraph.mock.server import MOCK_PASSWORD, MOCK_USERNAME, InProcessServer

__all__ = [
    "MOCK_PASSWORD",
    "MOCK_SERVER_URL",
    "MOCK_USERNAME",
    "AsyncMockVitalGraphClient",
    "InProcessServer",
    "MockVitalGraphClient",
    "PortalTransport",
    "StreamingASGITransport",
]
