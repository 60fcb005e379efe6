"""The older VitalGraph client's API, method by method, as its public source documents it
(vital-ai/vital-graph, vitalgraph/client/), run against a real server and against the mock.
Differences kept on purpose are asserted as such (docs/migration.md)."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from pathlib import Path

import pytest

from vitalgraph.client.binary.async_streaming import (
    AsyncBinaryConsumer,
    create_async_consumer,
    create_async_generator,
)
from vitalgraph.client.binary.streaming import (
    BinaryGenerator,
    BytesConsumer,
    BytesGenerator,
    PumpingGenerator,
    create_consumer,
    create_generator,
)
from vitalgraph.client.config.client_config_loader import VitalGraphClientConfig
from vitalgraph.client.utils.client_utils import VitalGraphClientError
from vitalgraph.client.vitalgraph_client import VitalGraphClient
from vitalgraph.model import (
    Edge_hasEntityKGFrame,
    Edge_hasKGFrame,
    Edge_hasKGSlot,
    FileNode,
    GraphObject,
    KGEntity,
    KGFrame,
    KGType,
    KGURISlot,
)
from vitalgraph.model.jsonld_model import JsonLdDocument
from vitalgraph.model.quad_model import Quad, QuadRequest
from vitalgraph.model.spaces_model import Space
from vitalgraph.model.sparql_model import SPARQLQueryRequest

pytestmark = pytest.mark.anyio
HAS_NAME = "http://vital.ai/ontology/vital-core#hasName"


def uri(kind: str) -> str:
    return f"http://example.org/{kind}/{uuid.uuid4().hex[:10]}"


# --- configuration, open / close --------------------------------------------------------------------
def test_profile_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VITALGRAPH_CLIENT_ENVIRONMENT", "prod")
    monkeypatch.setenv("PROD_CLIENT_SERVER_URL", "https://graph.example.com")
    monkeypatch.setenv("CLIENT_AUTH_USERNAME", "alice")  # the unprefixed fallback
    monkeypatch.setenv("PROD_CLIENT_AUTH_PASSWORD", "secret")
    monkeypatch.setenv("PROD_CLIENT_TIMEOUT", "12")
    config = VitalGraphClientConfig()
    assert config.get_server_url() == "https://graph.example.com"
    assert config.get_credentials() == ("alice", "secret")
    settings = config.to_client_config()
    assert settings.server_url == "https://graph.example.com" and settings.timeout == 12
    assert settings.username == "alice" and settings.password.get_secret_value() == "secret"
    assert config.to_client_config(api_key="vg_key").api_key.get_secret_value() == "vg_key"
    monkeypatch.setenv("PROD_CLIENT_TIMEOUT", "soon")
    with pytest.raises(VitalGraphClientError, match="PROD_CLIENT_TIMEOUT"):
        VitalGraphClient()


async def test_open_fails_on_a_wrong_password_and_calls_need_open(local_server, monkeypatch) -> None:
    monkeypatch.setenv("VITALGRAPH_CLIENT_ENVIRONMENT", "local")
    monkeypatch.setenv("LOCAL_CLIENT_SERVER_URL", local_server.url)
    monkeypatch.setenv("LOCAL_CLIENT_AUTH_PASSWORD", "wrong")
    client = VitalGraphClient()
    with pytest.raises(VitalGraphClientError) as raised:
        await client.open()
    assert raised.value.status_code == 401 and not client.is_open
    with pytest.raises(VitalGraphClientError, match="open"):
        await client.spaces.list_spaces()


async def test_async_context_manager_and_health(older: VitalGraphClient) -> None:
    assert older.is_connected()
    assert (await older.health())["status"] in ("ok", "healthy")


# --- spaces ----------------------------------------------------------------------------------------
async def test_spaces(older: VitalGraphClient) -> None:
    space_id = f"compat-{uuid.uuid4().hex[:10]}"
    created = await older.spaces.create_space(Space(space=space_id, space_name="One", space_description="d"))
    assert created.is_success and created.created_count == 1 and created.space.space == space_id
    again = await older.add_space(Space(space=space_id, space_name="One"))
    assert not again.is_success and again.status_code == 409 and again.error_code == 1
    listed = await older.list_spaces()
    assert listed.is_success and space_id in [s.space for s in listed.spaces] and listed.total >= 1
    got = await older.spaces.get_space(space_id)
    assert got.is_success and got.space.space_name == "One" and got.space.space_description == "d"
    info = await older.spaces.get_space_info(space_id)
    assert info.is_success and info.statistics["triple_count"] == 0
    updated = await older.update_space(
        space_id, Space(space=space_id, space_name="Renamed", space_description="e")
    )
    assert updated.is_success and updated.space.space_name == "Renamed"
    assert (await older.get_space(space_id)).space.space_name == "Renamed"
    filtered = await older.spaces.filter_spaces("RENAMED")
    assert [s.space for s in filtered.spaces] == [space_id]
    deleted = await older.spaces.delete_space(space_id)
    assert deleted.is_success and deleted.deleted_count == 1
    missing = await older.spaces.get_space(space_id)
    assert not missing.is_success and missing.status_code == 404


# --- graphs ----------------------------------------------------------------------------------------
async def test_graphs(older: VitalGraphClient, space: str) -> None:
    created = await older.graphs.create_graph(space, "urn:graph:one")
    assert created.is_success and created.graph_uri == "urn:graph:one"
    assert not (await older.create_graph(space, "urn:graph:one")).is_success
    listed = await older.graphs.list_graphs(space)
    assert [(g.graph_uri, g.triple_count) for g in listed.graphs] == [("urn:graph:one", 0)]
    await older.kgentities.create_kgentities(space, "urn:graph:one", [KGEntity(uri("e"), name="x")])
    info = await older.graphs.get_graph_info(space, "urn:graph:one")
    assert info.is_success and info.graph.triple_count > 0
    cleared = await older.graphs.clear_graph(space, "urn:graph:one")
    assert cleared.is_success and cleared.triples_removed == info.graph.triple_count
    assert (await older.drop_graph(space, "urn:graph:one")).is_success
    gone = await older.graphs.get_graph_info(space, "urn:graph:one")
    assert gone.graph is None and gone.status_code == 404
    assert not (await older.graphs.drop_graph(space, "urn:graph:one")).is_success
    assert (await older.graphs.drop_graph(space, "urn:graph:one", silent=True)).is_success


# --- files: metadata -------------------------------------------------------------------------------
async def test_file_metadata(older: VitalGraphClient, space: str) -> None:
    first, second = uri("file"), uri("file")
    created = await older.files.create_file(
        space, [FileNode(first, name="a.txt"), FileNode(second, name="b.txt")]
    )
    assert created.is_success and created.created_count == 2 and created.file_uri == first
    page = await older.files.list_files(space, None, 1, 0)
    assert page.is_success and page.total_count == 2 and page.count == 1 and page.has_more is True
    filtered = await older.list_files(space, file_filter="b.txt")
    assert [f.URI for f in filtered.files] == [second]
    got = await older.files.get_file(space, first)
    assert got.is_success and got.file.name == "a.txt" and got.file_uri == first
    several = await older.files.get_files_by_uris(space, f"{first},{second}")
    assert sorted(f.URI for f in several.objects) == sorted([first, second])
    node = got.file
    node.name = "renamed.txt"
    assert (await older.files.update_file(space, [node])).updated_count == 1
    assert (await older.get_file(space, first)).file.name == "renamed.txt"
    deleted = await older.files.delete_file(space, first)
    assert deleted.is_success and deleted.deleted_uris == [first]
    again = await older.files.delete_file(space, first)
    assert not again.is_success and again.status_code == 404  # the older client said deleted_count=1
    assert (await older.files.delete_files_batch(space, None, second)) == {
        "deleted_uris": [second],
        "deleted_count": 1,
    }
    assert not (await older.files.get_file(space, second)).is_success


# --- files: content --------------------------------------------------------------------------------
async def test_file_content_methods(older: VitalGraphClient, space: str, tmp_path: Path) -> None:
    file_uri = uri("file")
    await older.files.create_file(space, [FileNode(file_uri, name="data.bin")])
    data = bytes(range(256)) * 4096 + b"tail"  # 1 MiB and a bit

    uploaded = await older.files.upload_file_content(
        space, None, file_uri, data, "data.bin", "application/x-test"
    )
    assert uploaded.is_success and uploaded.file_size == len(data) == uploaded.size
    assert (
        uploaded.sha256 == hashlib.sha256(data).hexdigest() and uploaded.content_type == "application/x-test"
    )
    node = (await older.files.get_file(space, file_uri)).file
    assert node.fileLength == len(data) and node.fileURL.endswith(
        f"uri={file_uri.replace(':', '%3A').replace('/', '%2F')}"
    )

    assert await older.files.download_file_content(space, None, file_uri) == data
    into = tmp_path / "copy.bin"
    result = await older.files.download_file_content(space, None, file_uri, str(into))
    assert into.read_bytes() == data and result.size == len(data)
    consumer = BytesConsumer()
    got = await older.files.download_to_consumer(space, None, file_uri, consumer)
    assert consumer.get_bytes() == data and got.file_size == len(data)

    generated = await older.files.upload_from_generator(
        space, None, file_uri, BytesGenerator(b"g" * 10_000, 1000)
    )
    assert generated.file_size == 10_000

    async def rows():
        for number in range(1000):
            yield f"{number}\n".encode()

    streamed = await older.files.upload_file_stream_async(
        space, None, file_uri, rows(), "rows.csv", "text/csv"
    )
    expected = b"".join(f"{n}\n".encode() for n in range(1000))
    assert streamed.file_size == len(expected) and streamed.filename == "rows.csv"
    target = tmp_path / "rows.csv"
    down = await older.files.download_file_stream_async(space, None, file_uri, target)
    assert target.read_bytes() == expected and down.size == len(expected)

    class Collect(AsyncBinaryConsumer):
        def __init__(self) -> None:
            self.parts: list[bytes] = []

        async def consume(self, chunk: bytes) -> None:
            self.parts.append(chunk)

        async def finalize(self) -> None:
            self.parts.append(b"<end>")

    collected = Collect()
    await older.files.download_file_stream(space, None, file_uri, collected)
    assert b"".join(collected.parts) == expected + b"<end>"

    path_upload = tmp_path / "from-path.bin"
    path_upload.write_bytes(b"p" * 5000)
    by_client = await older.upload_file_content(space, file_uri, str(path_upload))  # client-level order
    assert by_client.file_size == 5000

    missing = await older.files.upload_file_content(space, None, uri("missing"), b"x")
    assert not missing.is_success and missing.status_code == 404 and missing.error_code == 1
    with pytest.raises(VitalGraphClientError) as raised:
        await older.files.download_file_stream_async(space, None, uri("missing"), tmp_path / "none")
    assert raised.value.status_code == 404 and not (tmp_path / "none").exists()


async def test_pump_file_server_side_and_buffered(older: VitalGraphClient, space: str) -> None:
    source, copy, buffered = uri("src"), uri("dst"), uri("dst")
    await older.files.create_file(space, [FileNode(source), FileNode(copy)])
    await older.files.create_file(space, [FileNode(buffered)], "other-graph")
    data = b"pump me " * 100_000
    await older.files.upload_file_content(space, None, source, data, "p.txt", "text/plain")
    copied = await older.files.pump_file(space, None, source, space, None, copy)
    assert copied["success"] and copied["server_side_copy"] is True
    assert copied["upload_result"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert await older.files.download_file_content(space, None, copy) == data
    old_way = await older.pump_file(space, None, source, space, "other-graph", buffered, 8192)
    assert old_way["upload_result"]["size"] == len(data)
    kept = await older.files.pump_file(
        space, None, source, space, "other-graph", buffered, use_streaming=False
    )
    assert kept["streaming_mode"] is False and kept["server_side_copy"] is False
    assert await older.files.download_file_content(space, "other-graph", buffered) == data
    with pytest.raises(VitalGraphClientError) as raised:
        await older.files.pump_file(space, None, uri("none"), space, None, copy)
    assert raised.value.status_code == 404


# --- kgtypes ---------------------------------------------------------------------------------------
async def test_kgtypes(older: VitalGraphClient, space: str) -> None:
    org, person = KGType(uri("type"), name="Organization"), KGType(uri("type"), name="Person")
    created = await older.kgtypes.create_kgtypes(space, [org, person])
    assert created.is_success and sorted(created.created_uris) == sorted([org.URI, person.URI])
    assert not (await older.kgtypes.create_kgtypes(space, [org])).is_success
    listed = await older.kgtypes.list_kgtypes(space, 10, 0, "organ")
    assert listed.is_success and [t.URI for t in listed.types] == [org.URI] and listed.total_count == 1
    got = await older.kgtypes.get_kgtype(space, org.URI)
    assert got.is_success and got.type.name == "Organization"
    both = await older.kgtypes.get_kgtypes_by_uris(space, f"{org.URI},{person.URI}")
    assert both.count == 2
    org.name = "Org"
    assert (await older.kgtypes.update_kgtypes(space, [org])).updated_uris == [org.URI]
    assert (await older.kgtypes.get_kgtype(space, org.URI)).type.name == "Org"
    assert (await older.kgtypes.delete_kgtype(space, org.URI)).deleted_uris == [org.URI]
    assert (await older.kgtypes.get_kgtype(space, org.URI)).status_code == 404
    assert not (await older.kgtypes.delete_kgtypes_batch(space, f"{person.URI},{org.URI}")).is_success
    assert (await older.kgtypes.delete_kgtypes_batch(space, person.URI)).deleted_count == 1
    # client level: (space_id, graph_id, ...), graph_id honoured
    in_graph = KGType(uri("type"), name="Graph type")
    assert (await older.create_kgtypes(space, "urn:types", [in_graph])).is_success
    assert [t.URI for t in (await older.list_kgtypes(space, "urn:types")).types] == [in_graph.URI]
    assert (await older.list_kgtypes(space, None)).total_count == 0
    assert (await older.get_kgtype(space, "urn:types", in_graph.URI)).is_success
    assert (await older.delete_kgtype(space, "urn:types", in_graph.URI)).is_success


# --- kgentities ------------------------------------------------------------------------------------
async def test_kgentities(older: VitalGraphClient, space: str) -> None:
    graph = "urn:kg"
    acme = KGEntity(uri("org"), name="Acme", kGEntityType="urn:type:org")
    bob = KGEntity(uri("person"), name="Bob", kGEntityType="urn:type:person")
    created = await older.kgentities.create_kgentities(space, graph, [acme, bob])
    assert created.is_success and created.count == 2
    page = await older.kgentities.list_kgentities(space, graph, 10, 0)
    assert (
        page.is_success
        and page.total_count == 2
        and sorted(o.URI for o in page.objects) == sorted([acme.URI, bob.URI])
    )
    orgs = await older.list_kgentities(space, graph, 10, 0, "urn:type:org")
    assert [o.URI for o in orgs.objects] == [acme.URI]
    report = uri("file")
    await older.files.create_file(space, [FileNode(report, name="r.pdf")], graph)
    await older.api.kgentities.attach_file(space, graph, acme.URI, report)
    with_graph = await older.kgentities.get_kgentity(space, graph, acme.URI, include_entity_graph=True)
    assert with_graph.objects.entity_uri == acme.URI and report in [o.URI for o in with_graph.objects.objects]
    plain = await older.kgentities.get_kgentity(space, graph, uri=acme.URI)
    assert [o.URI for o in plain.objects] == [acme.URI]
    graphs = await older.kgentities.list_kgentities(space, graph, 10, 0, include_entity_graph=True)
    assert sorted(g.entity_uri for g in graphs.graph_list) == sorted([acme.URI, bob.URI])
    by_uris = await older.kgentities.get_kgentities_by_uris(space, graph, [bob.URI])
    assert [o.URI for o in by_uris.objects] == [bob.URI]
    bob.name = "Robert"
    updated = await older.kgentities.update_kgentities(space, graph, [bob])
    assert updated.updated_uri == bob.URI
    by_name = await older.kgentities.list_kgentities(space, graph, sort_by=HAS_NAME, sort_order="desc")
    assert [o.URI for o in by_name.objects] == [bob.URI, acme.URI]  # Robert, Acme
    with pytest.raises(VitalGraphClientError) as unknown:
        await older.kgentities.get_kgentity(space, graph, reference_id="r1")
    assert unknown.value.status_code == 404 and "r1" in str(unknown.value)
    with pytest.raises(VitalGraphClientError):
        await older.kgentities.get_kgentity(space, graph, acme.URI, reference_id="r1")
    deleted = await older.kgentities.delete_kgentity(space, graph, acme.URI, delete_entity_graph=True)
    assert deleted.deleted_uris == [acme.URI] and deleted.metadata["deleted_file_uris"] == []
    assert (
        await older.files.get_file(space, report, graph)
    ).is_success  # files stay unless delete_attachments
    with pytest.raises(VitalGraphClientError) as missing:
        await older.kgentities.delete_kgentities_batch(space, graph, [bob.URI, acme.URI])
    assert missing.value.status_code == 404
    assert (await older.delete_kgentities_batch(space, graph, [bob.URI])).deleted_count == 1


async def test_kgentities_update_entity_only(older: VitalGraphClient, space: str) -> None:
    graph = "urn:kg"
    acme = KGEntity(uri("org"), name="Acme", kGEntityType="urn:type:org")
    frame = KGFrame(uri("frame"), name="address")
    edge = Edge_hasEntityKGFrame(uri("edge"), edgeSource=acme.URI, edgeDestination=frame.URI)
    await older.kgentities.create_kgentities(space, graph, [acme, frame, edge])
    acme.name = "Acme Inc."
    updated = await older.kgentities.update_entity_only(space, graph, [acme])
    assert updated.is_success and updated.updated_uri == acme.URI and updated.updated_uris == [acme.URI]
    assert (await older.kgentities.get_kgentity(space, graph, acme.URI)).objects[0].name == "Acme Inc."
    kept = await older.objects.get_object(space, graph, frame.URI)  # the frame graph is untouched
    assert kept.object.name == "address"
    assert (await older.objects.get_object(space, graph, edge.URI)).object.edgeDestination == frame.URI
    with pytest.raises(VitalGraphClientError) as not_entity:
        await older.kgentities.update_entity_only(space, graph, [acme, frame])
    assert not_entity.value.status_code == 400 and frame.URI in str(not_entity.value)
    with pytest.raises(VitalGraphClientError) as missing:
        await older.kgentities.update_entity_only(space, graph, [KGEntity(uri("org"), name="nobody")])
    assert missing.value.status_code == 404


async def test_kgentities_counts(older: VitalGraphClient, space: str) -> None:
    graph = "urn:kg"
    orgs = [KGEntity(uri("org"), name=f"Org {i}", kGEntityType="urn:type:org") for i in range(3)]
    bob = KGEntity(uri("person"), name="Bob", kGEntityType="urn:type:person")
    await older.kgentities.create_kgentities(space, graph, [*orgs, bob])
    assert await older.kgentities.count_kgentities(space, graph) == 4
    assert await older.kgentities.count_kgentities(space, graph, "urn:type:org") == 3
    assert await older.kgentities.count_kgentities(space, graph, search="bob") == 1
    assert await older.kgentities.count_kgentities(space, graph, "urn:type:org", "org 1") == 1
    assert await older.kgentities.count_kgentities(space, graph, sort_by=HAS_NAME) == 4
    assert await older.kgentities.count_kgentities(space, graph, status="urn:status:active") == 0
    counts = await older.kgentities.batch_count_kgentities(
        space,
        graph,
        [
            {"label": "all"},
            {"label": "orgs", "entity_type_uri": "urn:type:org"},
            {"label": "people", "entity_type_uri": "urn:type:person", "search": "nobody"},
        ],
    )
    assert counts == [
        {"label": "all", "count": 4},
        {"label": "orgs", "count": 3},
        {"label": "people", "count": 0},
    ]


async def test_kgentity_frames(older: VitalGraphClient, space: str) -> None:
    graph = "urn:kg"
    acme = KGEntity(uri("org"), name="Acme")
    other = KGEntity(uri("org"), name="Other")
    address, contact, foreign = (KGFrame(uri("frame"), name=n) for n in ("address", "contact", "foreign"))
    street = KGURISlot(uri("slot"), name="street", uriSlotValue="urn:street:1")
    objects = [
        acme,
        other,
        address,
        contact,
        foreign,
        street,
        Edge_hasEntityKGFrame(uri("edge"), edgeSource=acme.URI, edgeDestination=address.URI),
        Edge_hasEntityKGFrame(uri("edge"), edgeSource=acme.URI, edgeDestination=contact.URI),
        Edge_hasEntityKGFrame(uri("edge"), edgeSource=other.URI, edgeDestination=foreign.URI),
        slot_edge := Edge_hasKGSlot(uri("edge"), edgeSource=address.URI, edgeDestination=street.URI),
    ]
    await older.kgentities.create_kgentities(space, graph, objects)
    listed = await older.kgentities.get_kgentity_frames(space, graph, acme.URI)
    assert listed.is_success and sorted(f.URI for f in listed.objects) == sorted([address.URI, contact.URI])
    assert listed.metadata["total_count"] == 2
    paged = await older.kgentities.get_kgentity_frames(space, graph, acme.URI, None, None, 1, 1)
    assert [f.URI for f in paged.objects] == [sorted([address.URI, contact.URI])[1]]
    one = await older.kgentities.get_kgentity_frames(space, graph, acme.URI, [address.URI])
    assert one.is_success and one.frame_graph.frame_uri == address.URI and one.entity_uri == acme.URI
    assert sorted(o.URI for o in one.frame_graph.objects) == sorted([address.URI, slot_edge.URI, street.URI])
    several = await older.kgentities.get_kgentity_frames(
        space, graph, acme.URI, [address.URI, contact.URI, foreign.URI]
    )
    graphs = {g.frame_uri: g for g in several.frame_graph_list}
    assert sorted(graphs) == sorted([address.URI, contact.URI])  # `foreign` belongs to another entity
    assert [o.URI for o in graphs[contact.URI].objects] == [contact.URI]
    not_its = await older.kgentities.get_kgentity_frames(space, graph, acme.URI, [foreign.URI])
    assert not not_its.is_success and not_its.status_code == 404 and not_its.frame_graph is None
    with pytest.raises(VitalGraphClientError) as missing:
        await older.kgentities.get_kgentity_frames(space, graph, uri("org"))
    assert missing.value.status_code == 404


async def test_delete_entity_frames(older: VitalGraphClient, space: str) -> None:
    graph = "urn:kg"
    acme, other = KGEntity(uri("org"), name="Acme"), KGEntity(uri("org"), name="Other")
    address, contact, foreign = (KGFrame(uri("frame"), name=n) for n in ("address", "contact", "foreign"))
    sub = KGFrame(uri("frame"), name="unit", parentFrameURI=address.URI)
    street, shared = KGURISlot(uri("slot"), name="street"), KGURISlot(uri("slot"), name="shared")

    def edge(cls: type, source: GraphObject, destination: GraphObject) -> GraphObject:
        return cls(uri("edge"), edgeSource=source.URI, edgeDestination=destination.URI)

    entity_edges = [edge(Edge_hasEntityKGFrame, acme, f) for f in (address, contact, sub)]
    slot_edges = [
        edge(Edge_hasKGSlot, address, street),
        edge(Edge_hasKGSlot, address, shared),
        edge(Edge_hasKGSlot, contact, shared),
    ]
    await older.kgentities.create_kgentities(
        space,
        graph,
        [acme, other, address, contact, foreign, sub, street, shared, *entity_edges, *slot_edges]
        + [edge(Edge_hasEntityKGFrame, other, foreign)],
    )
    has_children = await older.kgentities.delete_entity_frames(space, graph, acme.URI, [address.URI])
    assert has_children.is_error and has_children.status_code == 409 and sub.URI in has_children.error_message
    not_its = await older.kgentities.delete_entity_frames(space, graph, acme.URI, [address.URI, foreign.URI])
    assert not_its.is_error and not_its.status_code == 404
    assert (await older.kgentities.get_kgentity_frames(space, graph, acme.URI)).count == 3  # nothing went
    deleted = await older.kgentities.delete_entity_frames(space, graph, acme.URI, [address.URI], None, True)
    assert deleted.is_success and deleted.deleted_uris == sorted([address.URI, sub.URI])
    assert deleted.deleted_count == 2 and deleted.requested_uris == [address.URI]
    gone = [entity_edges[0].URI, entity_edges[2].URI, slot_edges[0].URI, slot_edges[1].URI, street.URI]
    assert sorted(deleted.metadata["deleted_related_uris"]) == sorted(gone)
    for removed in [address.URI, sub.URI, *gone]:
        assert (await older.objects.get_object(space, graph, removed)).status_code == 404
    left = await older.kgentities.get_kgentity_frames(space, graph, acme.URI, [contact.URI])
    assert sorted(o.URI for o in left.frame_graph.objects) == sorted(
        [contact.URI, slot_edges[2].URI, shared.URI]
    )
    assert [f.URI for f in (await older.kgentities.get_kgentity_frames(space, graph, other.URI)).objects] == [
        foreign.URI
    ]


def _edge(cls: type, source: GraphObject, destination: GraphObject) -> GraphObject:
    return cls(uri("edge"), edgeSource=source.URI, edgeDestination=destination.URI)


async def _frame_uris(older: VitalGraphClient, space: str, graph: str, entity: str) -> list[str]:
    return [
        f.URI
        for f in (await older.kgentities.get_kgentity_frames(space, graph, entity, None, None, 100)).objects
    ]


async def _acme_and_other_with_its_frame(
    older: VitalGraphClient, space: str, graph: str
) -> tuple[KGEntity, KGEntity, KGFrame]:
    acme, other = KGEntity(uri("org"), name="Acme"), KGEntity(uri("org"), name="Other")
    foreign = KGFrame(uri("frame"), name="foreign")
    await older.kgentities.create_kgentities(
        space, graph, [acme, other, foreign, _edge(Edge_hasEntityKGFrame, other, foreign)]
    )
    return acme, other, foreign


async def test_create_and_update_entity_frames(older: VitalGraphClient, space: str) -> None:
    graph, kg = "urn:kg", older.kgentities
    acme, other, foreign = await _acme_and_other_with_its_frame(older, space, graph)
    address = KGFrame(uri("frame"), name="address", kGFrameType="urn:frame:address")
    street = KGURISlot(uri("slot"), name="street", uriSlotValue="urn:street:1")
    street_edge = _edge(Edge_hasKGSlot, address, street)
    created = await kg.create_entity_frames(space, graph, acme.URI, [address, street, street_edge])
    assert created.is_success and [o.URI for o in created.objects] == [
        address.URI,
        street.URI,
        street_edge.URI,
    ]
    written = created.metadata["written_uris"]
    assert len(written) == 4 and written[:3] == [
        address.URI,
        street.URI,
        street_edge.URI,
    ]  # + the entity's edge
    assert await _frame_uris(older, space, graph, acme.URI) == [address.URI]
    one = await kg.get_kgentity_frames(space, graph, acme.URI, [address.URI])
    assert sorted(o.URI for o in one.frame_graph.objects) == sorted(
        [address.URI, street.URI, street_edge.URI]
    )
    with pytest.raises(VitalGraphClientError) as again:
        await kg.create_entity_frames(space, graph, acme.URI, [address])
    assert again.value.status_code == 409 and address.URI in str(again.value)

    # update replaces the frame's graph: the old slot and its edge go, the new ones come
    address.name = "postal address"
    city = KGURISlot(uri("slot"), name="city", uriSlotValue="urn:city:1")
    city_edge = _edge(Edge_hasKGSlot, address, city)
    updated = await kg.update_entity_frames(space, graph, acme.URI, [address, city, city_edge])
    assert updated.is_success and updated.metadata["written_uris"] == [address.URI, city.URI, city_edge.URI]
    after = await kg.get_kgentity_frames(space, graph, acme.URI, [address.URI])
    assert sorted(o.URI for o in after.frame_graph.objects) == sorted([address.URI, city.URI, city_edge.URI])
    assert next(o for o in after.frame_graph.objects if o.URI == address.URI).name == "postal address"
    for gone in (street.URI, street_edge.URI):
        assert (await older.objects.get_object(space, graph, gone)).status_code == 404
    upserted = await kg.create_entity_frames(space, graph, acme.URI, [KGFrame(uri("frame"))], None, "upsert")
    assert len(await _frame_uris(older, space, graph, acme.URI)) == 2 and upserted.is_success

    # refused, and nothing changed
    before = {u: (await older.objects.get_object(space, graph, u)).object for u in (address.URI, foreign.URI)}
    loose_slot = KGURISlot(uri("slot"))
    refusals = {
        404: [
            lambda: kg.update_entity_frames(space, graph, acme.URI, [foreign]),  # another entity's frame
            lambda: kg.update_entity_frames(space, graph, acme.URI, [KGFrame(uri("frame"))]),  # no such frame
            lambda: kg.create_entity_frames(space, graph, uri("org"), [KGFrame(uri("frame"))]),  # no entity
            lambda: kg.create_entity_frames(space, graph, acme.URI, [KGFrame(uri("frame"))], foreign.URI),
        ],
        409: [
            lambda: kg.create_entity_frames(space, graph, acme.URI, [foreign], None, "upsert"),
            lambda: kg.create_entity_frames(space, graph, acme.URI, [KGFrame(other.URI)], None, "upsert"),
        ],
        400: [
            lambda: kg.create_entity_frames(space, graph, acme.URI, [KGFrame(uri("frame")), loose_slot]),
            lambda: kg.update_entity_frames(
                space, graph, acme.URI, [address, _edge(Edge_hasKGSlot, foreign, city)]
            ),
            lambda: kg.update_entity_frames(
                space, graph, acme.URI, [address, _edge(Edge_hasEntityKGFrame, other, address)]
            ),
            lambda: kg.create_entity_frames(
                space, graph, acme.URI, [KGFrame(uri("frame")), KGEntity(uri("org"))]
            ),
            lambda: kg.create_entity_frames(space, graph, acme.URI, [address], address.URI),  # its own parent
        ],
    }
    for status, calls in refusals.items():
        for call in calls:
            with pytest.raises(VitalGraphClientError) as refused:
                await call()
            assert refused.value.status_code == status, (status, refused.value)
    assert len(await _frame_uris(older, space, graph, acme.URI)) == 2
    assert await _frame_uris(older, space, graph, other.URI) == [foreign.URI]
    for u, obj in before.items():
        assert (await older.objects.get_object(space, graph, u)).object.name == obj.name
    assert (await older.objects.get_object(space, graph, loose_slot.URI)).status_code == 404


async def test_frames_under_a_parent_frame(older: VitalGraphClient, space: str) -> None:
    """`parent_frame_uri` as the older server modelled it: an Edge_hasKGFrame from the parent frame."""
    graph, kg = "urn:kg", older.kgentities
    acme, other, foreign = await _acme_and_other_with_its_frame(older, space, graph)
    address, unit = KGFrame(uri("frame"), name="address"), KGFrame(uri("frame"), name="unit")
    await kg.create_entity_frames(space, graph, acme.URI, [address])
    floor = KGURISlot(uri("slot"), name="floor")
    created = await kg.create_entity_frames(
        space, graph, acme.URI, [unit, floor, _edge(Edge_hasKGSlot, unit, floor)], address.URI
    )
    added = [u for u in created.metadata["written_uris"] if u not in (unit.URI, floor.URI)]
    stored = [(await older.objects.get_object(space, graph, u)).object for u in added]
    assert {type(o) for o in stored} == {Edge_hasEntityKGFrame, Edge_hasKGFrame, Edge_hasKGSlot}
    linked = next(o for o in stored if isinstance(o, Edge_hasKGFrame))
    assert (linked.edgeSource, linked.edgeDestination) == (address.URI, unit.URI)
    link = linked.URI

    def listed(parent: str | None) -> object:
        return kg.get_kgentity_frames(space, graph, acme.URI, None, parent, 100)

    assert [f.URI for f in (await listed(address.URI)).objects] == [unit.URI]
    assert (await listed(unit.URI)).objects == []
    assert sorted(await _frame_uris(older, space, graph, acme.URI)) == sorted([address.URI, unit.URI])
    one = await kg.get_kgentity_frames(space, graph, acme.URI, [unit.URI], address.URI)
    assert one.is_success and sorted(o.URI for o in one.frame_graph.objects) == sorted(
        [unit.URI, floor.URI, _slot_edge(one.frame_graph.objects)]
    )
    not_under = await kg.get_kgentity_frames(space, graph, acme.URI, [address.URI], unit.URI)
    assert not_under.status_code == 404 and not_under.frame_graph is None

    unit.name = "flat"
    updated = await kg.update_entity_frames(space, graph, acme.URI, [unit], address.URI)
    assert updated.is_success and updated.metadata["written_uris"] == [unit.URI]  # already under it
    assert (await older.objects.get_object(space, graph, link)).status_code == 200
    for status, call in [
        (404, lambda: listed(foreign.URI)),  # not a frame of acme
        (404, lambda: kg.update_entity_frames(space, graph, acme.URI, [address], unit.URI)),  # not its child
        (404, lambda: kg.create_entity_frames(space, graph, acme.URI, [KGFrame(uri("frame"))], uri("frame"))),
        (
            400,
            lambda: kg.create_entity_frames(
                space, graph, acme.URI, [KGFrame(uri("frame")), _edge(Edge_hasKGFrame, foreign, unit)]
            ),
        ),
    ]:
        with pytest.raises(VitalGraphClientError) as refused:
            await call()
        assert refused.value.status_code == status, (status, refused.value)
    assert sorted(await _frame_uris(older, space, graph, acme.URI)) == sorted([address.URI, unit.URI])

    not_its_child = await kg.delete_entity_frames(space, graph, acme.URI, [address.URI], unit.URI)
    assert not_its_child.is_error and not_its_child.status_code == 404
    has_child = await kg.delete_entity_frames(space, graph, acme.URI, [address.URI])
    assert has_child.is_error and has_child.status_code == 409 and unit.URI in has_child.error_message
    deleted = await kg.delete_entity_frames(space, graph, acme.URI, [unit.URI], address.URI)
    assert deleted.is_success and deleted.deleted_uris == [unit.URI]
    assert link in deleted.metadata["deleted_related_uris"]
    assert (await listed(address.URI)).objects == []

    # the entity's delete takes the edges between its frames with it
    await kg.create_entity_frames(space, graph, acme.URI, [unit], address.URI)
    await kg.delete_kgentity(space, graph, acme.URI)
    assert (await older.objects.get_object(space, graph, link)).status_code == 404


async def test_frame_listing_search_and_sort(older: VitalGraphClient, space: str) -> None:
    graph, kg = "urn:kg", older.kgentities
    acme, _, foreign = await _acme_and_other_with_its_frame(older, space, graph)
    frames = [KGFrame(uri("frame"), name=f"Frame {n}", frameSequence=5 - n) for n in range(5)]
    await kg.create_entity_frames(space, graph, acme.URI, frames)
    by_sequence = [f.URI for f in reversed(frames)]

    async def listed(page_size: int = 100, offset: int = 0, **options: str) -> list[str]:
        page = await kg.get_kgentity_frames(space, graph, acme.URI, None, None, page_size, offset, **options)
        return [f.URI for f in page.objects]

    sequence = "http://vital.ai/ontology/haley-ai-kg#hasFrameSequence"
    assert await listed(sort_by=sequence) == by_sequence
    assert await listed(sort_by="frameSequence", sort_order="desc") == by_sequence[::-1]
    assert await listed(2, 2, sort_by=sequence) == by_sequence[2:4]  # pages follow the sort
    assert await listed(search="FRAME 3") == [frames[3].URI]  # a literal containing it, any case
    assert await listed(search="foreign") == []  # another entity's frame is never listed
    page = await kg.get_kgentity_frames(space, graph, acme.URI, None, None, 1, 0, "frame")
    assert page.metadata["total_count"] == 5 and len(page.objects) == 1
    for bad in ({"sort_by": "http://example.org/not-sortable"}, {"sort_by": sequence, "sort_order": "up"}):
        with pytest.raises(VitalGraphClientError) as refused:
            await listed(**bad)
        assert refused.value.status_code in (400, 422) and "sort" in str(refused.value), refused.value
    assert foreign.URI not in await listed()


async def test_frame_listing_with_slot_counts(older: VitalGraphClient, space: str) -> None:
    graph, kg = "urn:kg", older.kgentities
    acme, _, _ = await _acme_and_other_with_its_frame(older, space, graph)
    frames = [KGFrame(uri("frame"), frameSequence=n) for n in range(3)]
    objects: list[GraphObject] = list(frames)
    for frame, slots in zip(frames, (2, 0, 3), strict=True):
        for _ in range(slots):
            slot = KGURISlot(uri("slot"))
            objects += [slot, _edge(Edge_hasKGSlot, frame, slot)]
    await kg.create_entity_frames(space, graph, acme.URI, objects)
    sequence = "http://vital.ai/ontology/haley-ai-kg#hasFrameSequence"
    page = await kg.get_kgentity_frames(
        space, graph, acme.URI, page_size=2, sort_by=sequence, include_slot_counts=True
    )
    assert page.slot_counts == {frames[0].URI: 2, frames[1].URI: 0}  # the page's frames, 0 included
    assert (await kg.get_kgentity_frames(space, graph, acme.URI)).slot_counts is None  # only when asked


def _slot_edge(objects: list[GraphObject]) -> str:
    return next(o.URI for o in objects if isinstance(o, Edge_hasKGSlot))


async def test_frame_of_another_space_is_refused(older: VitalGraphClient, space: str) -> None:
    graph, kg = "urn:kg", older.kgentities
    elsewhere = f"compat-{uuid.uuid4().hex[:10]}"
    assert (await older.spaces.create_space(Space(space=elsewhere, space_name="Other"))).is_success
    try:
        acme, theirs = KGEntity(uri("org")), KGEntity(uri("org"))
        frame = KGFrame(uri("frame"), name="theirs")
        await kg.create_kgentities(
            elsewhere, graph, [theirs, frame, _edge(Edge_hasEntityKGFrame, theirs, frame)]
        )
        await kg.create_kgentities(space, graph, [acme])
        with pytest.raises(VitalGraphClientError) as refused:
            await kg.update_entity_frames(space, graph, acme.URI, [KGFrame(frame.URI, name="mine")])
        assert refused.value.status_code == 404 and frame.URI in str(refused.value)
        assert (await kg.get_kgentity_frames(space, graph, acme.URI, [frame.URI])).status_code == 404
        deleted = await kg.delete_entity_frames(space, graph, acme.URI, [frame.URI])
        assert deleted.is_error and deleted.status_code == 404
        kept = await older.objects.get_object(elsewhere, graph, frame.URI)
        assert kept.object.name == "theirs"
    finally:
        await older.spaces.delete_space(elsewhere)


async def test_two_writers_update_frames_of_one_entity(older: VitalGraphClient, space: str) -> None:
    """Each update replaces the frame's graph in one write: the result is one writer's graph, whole."""
    graph, kg = "urn:kg", older.kgentities
    acme, frame = KGEntity(uri("org")), KGFrame(uri("frame"), name="start")
    await kg.create_kgentities(space, graph, [acme])
    await kg.create_entity_frames(space, graph, acme.URI, [frame])
    versions = {}
    for writer in range(8):
        slots = [KGURISlot(uri("slot"), name=f"w{writer}") for _ in range(3)]
        versions[f"w{writer}"] = [KGFrame(frame.URI, name=f"w{writer}"), *slots]
        versions[f"w{writer}"] += [_edge(Edge_hasKGSlot, frame, slot) for slot in slots]
    results = await asyncio.gather(
        *(kg.update_entity_frames(space, graph, acme.URI, objects) for objects in versions.values())
    )
    assert all(r.is_success for r in results)
    final = (await kg.get_kgentity_frames(space, graph, acme.URI, [frame.URI])).frame_graph.objects
    winner = next(o.name for o in final if o.URI == frame.URI)
    assert sorted(o.URI for o in final) == sorted(o.URI for o in versions[winner])
    assert {o.name for o in final if isinstance(o, KGURISlot)} == {winner}


async def test_query_entities(older: VitalGraphClient, space: str) -> None:
    graph, kg = "urn:kg", older.kgentities
    orgs = [KGEntity(uri("org"), name=f"Org {i}", kGEntityType="urn:type:org") for i in range(5)]
    bob = KGEntity(uri("person"), name='Bob "}> DROP', kGEntityType="urn:type:person")
    frame = KGFrame(uri("frame"), kGFrameType="urn:frame:address")
    await kg.create_kgentities(
        space, graph, [*orgs, bob, frame, _edge(Edge_hasEntityKGFrame, orgs[3], frame)]
    )

    async def matching(criteria: dict, page_size: int = 10, offset: int = 0) -> list[str]:
        reply = await kg.query_entities(
            space, graph, {"criteria": criteria, "page_size": page_size, "offset": offset}
        )
        assert reply.is_success and reply.query_info["total_results"] >= len(reply.objects)
        return [o.URI for o in reply.objects]

    org_uris = sorted(o.URI for o in orgs)
    assert await matching({"entity_type": "urn:type:org"}) == org_uris
    assert await matching({"search_string": "org 2"}) == [orgs[2].URI]
    assert await matching({"search_string": '"}> DROP'}) == [bob.URI]  # a value, never SPARQL
    assert await matching({"frame_type": "urn:frame:address"}) == [orgs[3].URI]
    assert await matching(
        {"filters": [{"property_name": "name", "operator": "equals", "value": "Org 1"}]}
    ) == [orgs[1].URI]
    assert await matching(
        {"filters": [{"property_name": HAS_NAME, "operator": "gte", "value": "Org 3"}]}
    ) == sorted([orgs[3].URI, orgs[4].URI])
    not_orgs = {
        "filters": [{"property_name": "kGEntityType", "operator": "not_equals", "value": "urn:type:org"}]
    }
    assert await matching(not_orgs) == [bob.URI]
    typed = {"property_uri": "http://vital.ai/ontology/haley-ai-kg#hasKGEntityType", "operator": "in"}
    assert await matching({"entity_property_filters": [{**typed, "value": ["urn:type:person"]}]}) == [bob.URI]
    page = await kg.query_entities(
        space, graph, {"criteria": {"entity_type": "urn:type:org"}, "page_size": 2, "offset": 2}
    )
    assert [o.URI for o in page.objects] == org_uris[2:4] and page.query_info["total_results"] == 5
    assert await matching({"entity_type": 'urn:type:org"} ?s ?p ?o {'}) == []
    for bad, status, fragment in [
        ({"criteria": {"sort_criteria": [{"sort_type": "entity_property"}]}}, 400, "sort_criteria"),
        ({"criteria": {"filters": [{"property_name": "urn:x> ?p ?o", "operator": "exists"}]}}, 400, "IRI"),
        ({"criteria": {"filters": [{"property_name": "name", "operator": "gt"}]}}, 400, "needs a value"),
        ({"criteria": {"nonsense": 1}}, 422, "nonsense"),
        ({"search": "x"}, 400, "criteria"),
    ]:
        with pytest.raises(VitalGraphClientError) as refused:
            await kg.query_entities(space, graph, bad)
        assert refused.value.status_code == status and fragment in str(refused.value), refused.value


# --- objects and triples ---------------------------------------------------------------------------
async def test_objects(older: VitalGraphClient, space: str) -> None:
    graph, thing = "urn:objects", uri("thing")
    document = JsonLdDocument.model_validate(
        {
            "@context": {},
            "@graph": [
                {"@id": thing, "@type": "http://example.org/Thing", HAS_NAME: [{"@value": "a thing"}]}
            ],
        }
    )
    created = await older.objects.create_objects(space, graph, document)
    assert created.is_success and created.created_uris == [thing]
    listed = await older.objects.list_objects(space, graph)
    assert [o.URI for o in listed.objects] == [thing] and listed.total_count == 1
    got = await older.objects.get_object(space, graph, thing)
    assert got.is_success and got.object.get(HAS_NAME) == "a thing"
    changed = GraphObject(thing, class_uri="http://example.org/Thing")
    changed.set(HAS_NAME, "renamed")
    assert (await older.objects.update_objects(space, graph, [changed])).updated_count == 1
    assert (await older.get_object(space, graph, thing)).object.get(HAS_NAME) == "renamed"
    refused = await older.objects.create_objects(space, graph, [FileNode(uri("f"))])
    assert not refused.is_success and refused.status_code == 400
    assert (await older.objects.delete_object(space, graph, thing)).deleted_uris == [thing]
    assert not (await older.objects.delete_objects_batch(space, graph, thing)).is_success


async def test_triples(older: VitalGraphClient, space: str) -> None:
    graph, subject = "urn:triples", uri("s")
    quads = [Quad(s=f"<{subject}>", p="<urn:p>", o='"one"'), Quad(s=f"<{subject}>", p="<urn:p>", o='"two"')]
    added = await older.triples.add_triples(space, graph, QuadRequest(quads=quads))
    assert added.success and added.added_count == 2
    listed = await older.list_triples(space, graph, 10, 0, subject)
    assert sorted(q.o for q in listed.results) == ['"one"', '"two"'] and listed.total_count == 2
    matching = await older.triples.list_triples(space, graph, object_filter="tw")
    assert [q.o for q in matching.results] == ['"two"']
    with pytest.raises(VitalGraphClientError):
        await older.triples.delete_triples(space, graph)
    deleted = await older.triples.delete_triples(space, graph, subject=subject, object='"one"')
    assert deleted.deleted_count == 1
    assert (await older.triples.list_triples(space, graph)).total_count == 1


# --- sparql ----------------------------------------------------------------------------------------
async def test_sparql(older: VitalGraphClient, space: str) -> None:
    entity = KGEntity(uri("e"), name="Queried")
    await older.kgentities.create_kgentities(space, "urn:kg", [entity])
    query = f"SELECT ?name WHERE {{ <{entity.URI}> <{HAS_NAME}> ?name }}"
    answer = await older.sparql.execute_sparql_query(space, SPARQLQueryRequest(query=query))
    assert answer.head["vars"] == ["name"] and answer.results["bindings"][0]["name"]["value"] == "Queried"
    asked = await older.execute_sparql_query_get(space, "ASK { ?s ?p ?o }")
    assert asked.boolean is True
    with pytest.raises(VitalGraphClientError) as refused:
        await older.sparql.execute_sparql_insert(space, object())
    assert "read-only" in str(refused.value)
    with pytest.raises(VitalGraphClientError) as bad:
        await older.execute_sparql_query(space, SPARQLQueryRequest(query="SELEKT nothing"))
    assert bad.value.status_code == 400


# --- streaming helpers -----------------------------------------------------------------------------
async def test_streaming_helpers(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_bytes(b"abcdef" * 1000)
    generator = create_generator(str(source), chunk_size=4096, content_type="text/plain")
    assert isinstance(generator, BinaryGenerator) and generator.content_type == "text/plain"
    assert generator.filename == "in.txt" and generator.content_length == 6000
    pumped = PumpingGenerator(generator, filename="renamed.txt")
    assert pumped.filename == "renamed.txt" and b"".join(pumped.generate()) == source.read_bytes()
    consumer = create_consumer(None)
    consumer.consume(b"x")
    consumer.finalize()
    assert consumer.get_bytes() == b"x"

    async def chunks():
        yield b"one"
        yield b"two"

    async_generator = create_async_generator(chunks(), filename="a.bin")
    assert async_generator.filename == "a.bin"
    assert [c async for c in async_generator.generate()] == [b"one", b"two"]
    target = tmp_path / "out.bin"
    async_consumer = create_async_consumer(str(target))
    await async_consumer.consume(b"data")
    await async_consumer.finalize()
    assert target.read_bytes() == b"data"
    from_bytes = create_async_generator(b"12345", chunk_size=4096, content_type="text/plain")
    assert from_bytes.content_type == "text/plain"
    assert b"".join([c async for c in from_bytes.generate()]) == b"12345"
