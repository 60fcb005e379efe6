"""The sync client and the sync mock have no event loop of their own: they work from a worker thread
while a loop runs (the loop keeps going), and even called straight from a coroutine."""

from __future__ import annotations

import asyncio
import os

from tests.client.conftest import CREDENTIALS
from vitalgraph.client import VitalGraphClient
from vitalgraph.mock import MockVitalGraphClient
from vitalgraph.model import FileNode

DATA = os.urandom(2 * 1024 * 1024 + 1)


def round_trip(client: VitalGraphClient) -> bytes:
    space = f"loop-{os.urandom(4).hex()}"
    client.spaces.create_space(space)
    uri = f"http://example.org/{space}/f"
    client.files.create_file(space, [FileNode(uri)])
    client.files.upload_file_stream(space, None, uri, DATA)
    content = client.files.download_file_content(space, None, uri)
    client.spaces.delete_space(space)
    return content


def test_sync_clients_inside_a_running_event_loop(local_server):
    async def main() -> None:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        ticker = asyncio.create_task(tick())
        await asyncio.sleep(0.01)

        def in_a_thread() -> bytes:
            with VitalGraphClient(local_server.url, **CREDENTIALS) as client:
                return round_trip(client)

        before = ticks
        assert await asyncio.to_thread(in_a_thread) == DATA
        assert ticks > before, "the event loop stalled while the sync client worked in a thread"

        with VitalGraphClient(local_server.url, **CREDENTIALS) as client:  # blocking, but no nested loop
            assert round_trip(client) == DATA
        with MockVitalGraphClient() as mock:  # its own loop runs on its own thread
            assert round_trip(mock) == DATA
        assert await asyncio.to_thread(lambda: round_trip(MockVitalGraphClient().open())) == DATA
        ticker.cancel()

    asyncio.run(main())
