"""The older client (vitalgraph.client.vitalgraph_client.VitalGraphClient) over a real server and
over the in-process mock: every compatibility test runs on both."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from tests.fixtures.servers import ADMIN_PASSWORD
from vitalgraph.client.vitalgraph_client import VitalGraphClient
from vitalgraph.mock import AsyncMockVitalGraphClient
from vitalgraph.model.spaces_model import Space


@pytest.fixture(params=["server", "mock"])
async def older(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[VitalGraphClient]:
    """An opened older client; on a real server configured the older way, from LOCAL_CLIENT_* variables."""
    if request.param == "server":
        server = request.getfixturevalue("local_server")
        monkeypatch.setenv("VITALGRAPH_CLIENT_ENVIRONMENT", "local")
        monkeypatch.setenv("LOCAL_CLIENT_SERVER_URL", server.url)
        monkeypatch.setenv("LOCAL_CLIENT_AUTH_USERNAME", "admin")
        monkeypatch.setenv("LOCAL_CLIENT_AUTH_PASSWORD", ADMIN_PASSWORD)
        client = VitalGraphClient()
    else:
        client = VitalGraphClient(client=AsyncMockVitalGraphClient())
    await client.open()
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def space(older: VitalGraphClient) -> AsyncIterator[str]:
    space_id = f"compat-{uuid.uuid4().hex[:10]}"
    created = await older.spaces.create_space(Space(space=space_id, space_name="Compat"))
    assert created.is_success, created.error_message
    yield space_id
    await older.spaces.delete_space(space_id)
