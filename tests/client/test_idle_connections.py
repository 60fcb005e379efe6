"""A connection the server closed while idle is never used again, even when the caller kept the event
loop busy meanwhile and so the client never saw the close (found by the VitalSigns round trip: building
objects blocked the loop past the server's keep-alive timeout, and the next POST got "Server
disconnected"). The client's own idle limit ends pooled connections before the server's does."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.fixtures.servers import ADMIN_PASSWORD
from vitalgraph.client import AsyncVitalGraphClient, VitalGraphClient

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def short_keepalive_server(server_factory):
    return server_factory({"VITALGRAPH_KEEPALIVE_TIMEOUT_SECONDS": "3"}, name="keepalive")


async def test_async_client_posts_after_the_loop_was_blocked_past_the_keepalive(short_keepalive_server):
    async with AsyncVitalGraphClient(
        short_keepalive_server.url, username="admin", password=ADMIN_PASSWORD, retry_backoff=0
    ) as client:
        await client.spaces.list_spaces()
        time.sleep(4)  # blocks the loop: the server's close of the idle connection goes unseen
        created = await client.spaces.create_space(f"idle-{uuid.uuid4().hex[:8]}")
        assert created.space_id.startswith("idle-")


def test_sync_client_posts_after_sleeping_past_the_keepalive(short_keepalive_server):
    with VitalGraphClient(
        short_keepalive_server.url, username="admin", password=ADMIN_PASSWORD, retry_backoff=0
    ) as client:
        client.spaces.list_spaces()
        time.sleep(4)
        created = client.spaces.create_space(f"idle-{uuid.uuid4().hex[:8]}")
        assert created.space_id.startswith("idle-")
