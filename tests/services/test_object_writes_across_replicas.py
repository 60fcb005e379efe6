"""Graph-object writes (KG types, entities, objects) through several servers sharing one graph store.

Each server has its own process locks; only the graph store is shared. Two creators of one URI on
two servers both passed the "does it exist?" check under their own locks and both answered 201: the
stored object then merged both (two names). Creates and updates of one graph now take turns through a
claim in the graph store, so exactly one creator wins and the object is one writer's whole.
"""

from __future__ import annotations

import asyncio

import pytest

from vitalgraph.config import load_settings
from vitalgraph.errors import ConflictError
from vitalgraph.model import KGType
from vitalgraph.services.container import Services
from vitalgraph.services.kgtypes import KGTypeService

pytestmark = pytest.mark.anyio
REPLICAS = 3


@pytest.fixture
async def services(tmp_path):
    started = await Services.start(load_settings(DATA_DIR=tmp_path, ADMIN_PASSWORD="pw"))
    await started.spaces.create("s")
    yield started
    await started.stop()


def replicas(services: Services) -> list[KGTypeService]:
    """The KG-type service of REPLICAS servers on one graph store: each with process locks of its own."""
    return [services.kgtypes, *(KGTypeService(services.graph, services.spaces) for _ in range(REPLICAS - 1))]


async def test_creators_of_one_uri_on_different_servers_make_one_object(services) -> None:
    servers = replicas(services)
    for round_ in range(15):
        uri = f"http://x/type-{round_}"
        outcomes: list[str] = []

        async def create(n: int, uri: str = uri, outcomes: list[str] = outcomes) -> None:
            try:
                await servers[n % REPLICAS].create("s", "g", [KGType(uri, name=f"by-{n}")])
                outcomes.append(f"by-{n}")
            except ConflictError:
                outcomes.append("409")

        await asyncio.gather(*(create(n) for n in range(REPLICAS * 2)))
        winners = [outcome for outcome in outcomes if outcome != "409"]
        assert len(winners) == 1, (round_, outcomes)
        stored = await services.kgtypes.get("s", "g", uri)
        assert stored.name == winners[0], (round_, stored.name, winners)


async def test_updates_of_one_object_on_different_servers_never_mix(services) -> None:
    """Each update replaces the whole object: the result is one writer's version, never a blend."""
    servers = replicas(services)
    uri = "http://x/type-updated"
    await services.kgtypes.create("s", "g", [KGType(uri, name="v0")])
    for round_ in range(10):
        versions = [KGType(uri, name=f"r{round_}-{n}", kGraphDescription=f"r{round_}-{n}") for n in range(6)]
        await asyncio.gather(*(servers[n % REPLICAS].update("s", "g", [v]) for n, v in enumerate(versions)))
        stored = await services.kgtypes.get("s", "g", uri)
        assert stored.name == stored.kGraphDescription, (round_, stored.name, stored.kGraphDescription)
