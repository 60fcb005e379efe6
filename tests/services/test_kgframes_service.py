"""Entity frames on the real services: each write is one graph update (so a failure there changes
nothing), frame writes are serialised with the entity writes of the same graph, and writers of one
entity's frames take turns across servers sharing the store."""

from __future__ import annotations

import asyncio

import pytest

from vitalgraph.config import load_settings
from vitalgraph.errors import ConflictError, InvalidInputError, NotFoundError, StorageUnavailableError
from vitalgraph.model import (
    Edge_hasEntityKGFrame,
    Edge_hasKGFrame,
    Edge_hasKGSlot,
    GraphObject,
    KGEntity,
    KGFrame,
    KGURISlot,
)
from vitalgraph.services import graph_objects
from vitalgraph.services.container import Services
from vitalgraph.services.kgentities import KGEntityService
from vitalgraph.services.kgframes import KGFrameService
from vitalgraph.services.upload_locks import LOCKS_GRAPH

pytestmark = pytest.mark.anyio
ENTITY, FRAME = "http://x/acme", "http://x/address"


@pytest.fixture
async def services(tmp_path):
    started = await Services.start(load_settings(DATA_DIR=tmp_path, ADMIN_PASSWORD="pw"))
    await started.spaces.create("s")
    await started.kgentities.create("s", "g", [KGEntity(ENTITY, name="Acme")])
    await started.kgframes.write_frames("s", "g", ENTITY, _frame_graph("old"))
    yield started
    await started.stop()


def _frame_graph(name: str) -> list[GraphObject]:
    slot = KGURISlot(f"http://x/slot-{name}", name=name)
    return [KGFrame(FRAME, name=name), slot, Edge_hasKGSlot(edgeSource=FRAME, edgeDestination=slot.URI)]


async def _graph_of_frame(services: Services) -> list[str]:
    return sorted(o.URI for o in (await services.kgframes.frame_graphs("s", "g", ENTITY, [FRAME]))[FRAME])


async def test_each_frame_write_is_one_update_and_a_failed_one_changes_nothing(services, monkeypatch) -> None:
    before, new = await _graph_of_frame(services), _frame_graph("new")
    updates: list[str] = []
    real_update = services.graph.update

    async def failing_update(update: str) -> None:
        updates.append(update)
        raise StorageUnavailableError("the store went away")

    monkeypatch.setattr(services.graph, "update", failing_update)
    with pytest.raises(StorageUnavailableError):
        await services.kgframes.write_frames("s", "g", ENTITY, new, "update")
    with pytest.raises(StorageUnavailableError):
        await services.kgframes.delete_frames("s", "g", ENTITY, [FRAME], recursive=False)
    assert len(updates) == 2  # one update per call: nothing was written before the one that failed
    monkeypatch.setattr(services.graph, "update", real_update)
    assert await _graph_of_frame(services) == before
    await services.kgframes.write_frames("s", "g", ENTITY, new, "update")
    assert await _graph_of_frame(services) == sorted(o.URI for o in new)


async def test_frame_writes_and_entity_deletes_do_not_interleave(services) -> None:
    """A frame create racing the entity's delete never leaves frames of a deleted entity behind."""
    for round_ in range(10):
        entity = KGEntity(f"http://x/e{round_}")
        await services.kgentities.create("s", "g", [entity])
        frame = KGFrame(f"http://x/f{round_}")
        results = await asyncio.gather(
            services.kgframes.write_frames("s", "g", entity.URI, [frame]),
            services.kgentities.delete("s", "g", [entity.URI]),
            return_exceptions=True,
        )
        graph = await services.kgentities.graph_for("s", "g")
        left = await services.graph.get_objects(graph, [frame.URI])
        links = await services.kgentities.edges(graph, Edge_hasEntityKGFrame, destinations=[frame.URI])
        assert not left and not links, results  # the delete took the frame with it, or the create was refused


async def test_child_frames_hang_under_their_parent_by_an_edge(services) -> None:
    graph = await services.kgentities.graph_for("s", "g")
    child = KGFrame("http://x/unit")
    written = await services.kgframes.write_frames("s", "g", ENTITY, [child], parent_frame_uri=FRAME)
    links = await services.kgentities.edges(graph, Edge_hasKGFrame, sources=[FRAME])
    assert [(source, frame) for _, source, frame in links] == [(FRAME, child.URI)]
    assert links[0][0] in written
    listed, total = await services.kgframes.list_frames(
        "s", "g", ENTITY, page_size=10, offset=0, parent_frame_uri=FRAME
    )
    assert [f.URI for f in listed] == [child.URI] and total == 1
    with pytest.raises(NotFoundError, match="parent_frame_uri"):  # a parent the entity does not have
        await services.kgframes.write_frames(
            "s", "g", ENTITY, [KGFrame("http://x/c2")], parent_frame_uri=ENTITY
        )
    assert not await services.graph.get_objects(graph, ["http://x/c2"])  # nothing stored
    await services.kgentities.delete("s", "g", [ENTITY])
    assert not await services.kgentities.edges(graph, Edge_hasKGFrame, sources=[FRAME])


async def test_frame_listing_is_searched_and_sorted_in_the_store(services) -> None:
    frames = [KGFrame(f"http://x/f{n}", name=f"Part {n}", frameSequence=9 - n) for n in range(3)]
    await services.kgframes.write_frames("s", "g", ENTITY, frames)

    async def listed(**options) -> list[str]:
        page, _ = await services.kgframes.list_frames("s", "g", ENTITY, page_size=10, offset=0, **options)
        return [f.URI for f in page]

    assert await listed(sort_by="frameSequence") == [FRAME, "http://x/f2", "http://x/f1", "http://x/f0"]
    assert await listed(sort_by="frameSequence", descending=True) == [
        "http://x/f0",
        "http://x/f1",
        "http://x/f2",
        FRAME,
    ]
    assert await listed(search="part 1") == ["http://x/f1"]
    with pytest.raises(InvalidInputError, match="sort_by"):
        await listed(sort_by="http://x/unknown")


async def test_slot_counts_name_every_frame_asked(services) -> None:
    empty = KGFrame("http://x/empty")
    await services.kgframes.write_frames("s", "g", ENTITY, [empty])
    frames, _ = await services.kgframes.list_frames("s", "g", ENTITY, page_size=10, offset=0)
    assert await services.kgframes.slot_counts("s", "g", frames) == {FRAME: 1, empty.URI: 0}


# --- two servers on one store: writers of one entity's frames take turns through the store ----------
def another_replica(services: Services) -> KGFrameService:
    """The frame service of a second server sharing the stores: its own process locks."""
    return KGFrameService(KGEntityService(services.graph, services.spaces, services.files))


async def test_two_replicas_writing_one_entity_frames_take_turns(services) -> None:
    """Each update replaces the frame's slot graph; without a turn across servers two of them read the
    same old slots and the result mixes both writers' slots."""
    replicas = [services.kgframes, another_replica(services)]
    assert replicas[0].locks is not replicas[1].locks
    for round_ in range(4):
        versions = [_frame_graph(f"r{round_}w{n}") for n in range(12)]
        await asyncio.gather(
            *(replicas[n % 2].write_frames("s", "g", ENTITY, v, "update") for n, v in enumerate(versions))
        )
        assert await _graph_of_frame(services) in [sorted(o.URI for o in v) for v in versions], round_


async def test_a_writer_waits_for_another_server_then_gives_up_changing_nothing(
    services, monkeypatch
) -> None:
    monkeypatch.setattr(graph_objects, "OBJECT_WRITE_WAIT_SECONDS", 0.3)
    graph = await services.kgentities.graph_for("s", "g")
    key = f"object-writes {graph}"  # the graph's write turn (GraphObjectCollection.writing)
    before = await _graph_of_frame(services)
    assert await services.graph.claim(LOCKS_GRAPH, key, "another-server", 30)  # mid-write elsewhere
    with pytest.raises(ConflictError, match="busy"):
        await services.kgframes.write_frames("s", "g", ENTITY, _frame_graph("late"), "update")
    with pytest.raises(ConflictError, match="busy"):
        await another_replica(services).delete_frames("s", "g", ENTITY, [FRAME], recursive=False)
    assert await _graph_of_frame(services) == before
    await services.graph.release(LOCKS_GRAPH, key, "another-server")
    late = _frame_graph("late")
    await services.kgframes.write_frames("s", "g", ENTITY, late, "update")
    assert await _graph_of_frame(services) == sorted(o.URI for o in late)
    assert await services.graph.claim_holder(LOCKS_GRAPH, key) is None  # released after the write
