"""The older client's entity frame, query and count routes over HTTP: who may call them, and their
wire shapes (JSON-LD by default, JSON quads when asked). The behaviour is in tests/compat."""

from __future__ import annotations

import httpx
import pytest

from tests.api.test_access_control import assert_error, client_for, create_user, grant, login, new_name
from tests.fixtures.servers import RunningServer
from vitalgraph.model import Edge_hasKGSlot, GraphObject, KGEntity, KGFrame, KGURISlot

FRAMES = "/api/graphs/kgentities/kgframes"


def body(*objects: GraphObject) -> dict:
    return GraphObject.list_to_jsonld(list(objects))


def ids(document: dict) -> list[str]:
    return [node["@id"] for node in document["@graph"]]


@pytest.fixture(scope="module")
def world(local_server: RunningServer) -> dict:
    """A space with an entity that has a frame; a user with read on it, one with no grant on it."""
    with local_server.client() as admin:
        space = new_name("frames")
        assert admin.post("/api/spaces", json={"space_id": space}).status_code == 201
        entity, frame = KGEntity(f"urn:{space}:acme", name="Acme"), KGFrame(f"urn:{space}:address")
        params = {"space_id": space, "entity_uri": entity.URI}
        assert (
            admin.post("/api/graphs/kgentities", params={"space_id": space}, json=body(entity)).status_code
            == 201
        )
        assert admin.post(FRAMES, params=params, json=body(frame)).status_code == 201
        reader, stranger = create_user(admin, "writer"), create_user(admin, "writer")
        grant(admin, space, reader, "read")
        other_space = new_name("frames-other")
        assert admin.post("/api/spaces", json={"space_id": other_space}).status_code == 201
        grant(admin, other_space, stranger, "write")  # a writer elsewhere: another tenant
    return {"space": space, "entity": entity.URI, "frame": frame.URI, "reader": reader, "stranger": stranger}


def as_user(server: RunningServer, username: str) -> httpx.Client:
    return client_for(server, login(server, username)["access_token"])


def test_another_tenant_is_refused_every_route(local_server: RunningServer, world: dict) -> None:
    space, entity, frame = world["space"], world["entity"], world["frame"]
    params = {"space_id": space, "entity_uri": entity}
    with as_user(local_server, world["stranger"]) as stranger:
        calls = [
            stranger.get(FRAMES, params=params),
            stranger.get(FRAMES, params={**params, "frame_uris": frame}),
            stranger.post(
                FRAMES, params={**params, "operation_mode": "update"}, json=body(KGFrame(frame, name="x"))
            ),
            stranger.delete(FRAMES, params={**params, "frame_uris": frame}),
            stranger.post("/api/graphs/kgentities/query", params={"space_id": space}, json={"criteria": {}}),
            stranger.get("/api/graphs/kgentities/count", params={"space_id": space}),
            stranger.post(
                "/api/graphs/kgentities/counts",
                json={"space_id": space, "count_requests": [{"label": "all"}]},
            ),
        ]
        for response in calls:
            assert_error(response, 403, space)
    with local_server.client() as admin:
        frames = admin.get(FRAMES, params=params).json()
        assert ids(frames["frames"]) == [frame] and frames["total_count"] == 1  # nothing changed
        graphs = admin.get(FRAMES, params={**params, "frame_uris": frame}).json()["frame_graphs"]
        assert ids(graphs[frame]) == [frame]


def test_a_reader_reads_frames_but_does_not_write_them(local_server: RunningServer, world: dict) -> None:
    space, entity, frame = world["space"], world["entity"], world["frame"]
    params = {"space_id": space, "entity_uri": entity}
    slot = KGURISlot(f"urn:{space}:slot")
    with as_user(local_server, world["reader"]) as reader:
        assert reader.get(FRAMES, params=params).json()["total_count"] == 1
        assert reader.get("/api/graphs/kgentities/count", params={"space_id": space}).json() == {"count": 1}
        counts = reader.post(
            "/api/graphs/kgentities/counts",
            json={
                "space_id": space,
                "count_requests": [{"label": "all"}, {"label": "x", "search": "nobody"}],
            },
        )
        assert counts.json() == {"counts": [{"label": "all", "count": 1}, {"label": "x", "count": 0}]}
        frame_graph = body(KGFrame(frame), slot, Edge_hasKGSlot(edgeSource=frame, edgeDestination=slot.URI))
        assert_error(
            reader.post(FRAMES, params={**params, "operation_mode": "update"}, json=frame_graph), 403
        )
        assert_error(reader.delete(FRAMES, params={**params, "frame_uris": frame}), 403)
    with local_server.client() as admin:
        graph = admin.get(FRAMES, params={**params, "frame_uris": frame}).json()["frame_graphs"][frame]
        assert ids(graph) == [frame]  # the frame alone: the reader's slot was not written


def test_quads_on_the_wire(local_server: RunningServer, world: dict) -> None:
    """The older client sends `Accept: application/json` and JSON quads bodies."""
    space, entity, frame = world["space"], world["entity"], world["frame"]
    params = {"space_id": space, "entity_uri": entity}
    with local_server.client() as admin:
        listed = admin.get(FRAMES, params=params, headers={"Accept": "application/json"}).json()
        assert listed["total_count"] == 1 and {q["s"] for q in listed["results"]} == {f"<{frame}>"}
        graphs = admin.get(
            FRAMES,
            params={**params, "frame_uris": [frame, "urn:none"]},
            headers={"Accept": "application/json"},
        )
        replies = graphs.json()["frame_graphs"]
        assert {q["s"] for q in replies[frame]["results"]} == {f"<{frame}>"}
        assert replies["urn:none"]["error"] == "not_found" and "urn:none" in replies["urn:none"]["message"]
        query = admin.post(
            "/api/graphs/kgentities/query",
            params={"space_id": space},
            json={"criteria": {"search_string": "acme"}},
            headers={"Accept": "application/json"},
        ).json()
        assert query["total_count"] == 1 and f"<{entity}>" in {q["s"] for q in query["results"]}
        assert_error(
            admin.get("/api/graphs/kgentities/count", params={"space_id": space, "created_after": "soon"}),
            422,
            "created_after",
        )
        assert admin.get(
            "/api/graphs/kgentities/count", params={"space_id": space, "status": "urn:s"}
        ).json() == {"count": 0}
