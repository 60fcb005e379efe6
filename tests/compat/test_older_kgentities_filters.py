"""The older client's kgentities calls that VitalGraph once refused and now answers with the older
server's semantics (vital-ai/vital-graph, vitalgraph/endpoint/kgentities_endpoint.py): frames
`operation_mode="replace"`, list sorting and filters, count filters, reference ids, `parent_uri` and
`if_unmodified_since`. Each runs against a real server and against the mock (conftest.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from vitalgraph.client.utils.client_utils import VitalGraphClientError
from vitalgraph.client.vitalgraph_client import VitalGraphClient
from vitalgraph.model import (
    Edge_hasKGFrame,
    Edge_hasKGSlot,
    GraphObject,
    KGEntity,
    KGFrame,
    KGIntegerSlot,
    KGTextSlot,
    KGURISlot,
)
from vitalgraph.services.kgentities import entity_time

pytestmark = pytest.mark.anyio
GRAPH = "urn:kg"
ACTIVE = "http://vital.ai/ontology/vital-aimp#ObjectStatusType_ACTIVE"
ARCHIVED = "http://vital.ai/ontology/vital-aimp#ObjectStatusType_ARCHIVED"
CREATED = "http://vital.ai/ontology/vital-aimp#hasObjectCreationTime"
MODIFIED = "http://vital.ai/ontology/vital#hasObjectModificationDateTime"
STATUS = "http://vital.ai/ontology/vital-aimp#hasObjectStatusType"
REFERENCE = "http://vital.ai/ontology/vital-aimp#hasReferenceIdentifier"


def entity(name: str, **properties) -> KGEntity:
    """A KGEntity with properties set by URI too (the bookkeeping ones are not declared)."""
    declared = {k: v for k, v in properties.items() if ":" not in k}
    made = KGEntity(uri("org"), name=name, **declared)
    for key, value in properties.items():
        if ":" in key:
            made.set(key, value)
    return made


def uri(kind: str) -> str:
    return f"http://example.org/{kind}/{uuid.uuid4().hex[:10]}"


def edge(cls: type, source: GraphObject, destination: GraphObject) -> GraphObject:
    return cls(uri("edge"), edgeSource=source.URI, edgeDestination=destination.URI)


async def frame_uris(
    older: VitalGraphClient, space: str, entity: str, parent: str | None = None
) -> list[str]:
    page = await older.kgentities.get_kgentity_frames(space, GRAPH, entity, None, parent, 100)
    return sorted(f.URI for f in page.objects)


async def exists(older: VitalGraphClient, space: str, object_uri: str) -> bool:
    return (await older.objects.get_object(space, GRAPH, object_uri)).is_success


async def get(older: VitalGraphClient, space: str, entity_uri: str) -> KGEntity:
    return (await older.kgentities.get_kgentity(space, GRAPH, entity_uri)).objects[0]


# --- create_entity_frames(operation_mode="replace") ------------------------------------------------
async def test_replace_swaps_all_the_entity_frames_in_one_write(older: VitalGraphClient, space: str) -> None:
    kg = older.kgentities
    acme = KGEntity(uri("org"), name="Acme")
    await kg.create_kgentities(space, GRAPH, [acme])
    old, child, slot = KGFrame(uri("frame"), name="old"), KGFrame(uri("frame")), KGURISlot(uri("slot"))
    slot_edge = edge(Edge_hasKGSlot, old, slot)
    await kg.create_entity_frames(space, GRAPH, acme.URI, [old, slot, slot_edge])
    await kg.create_entity_frames(space, GRAPH, acme.URI, [child], old.URI)  # a child frame of `old`
    assert await frame_uris(older, space, acme.URI) == sorted([old.URI, child.URI])

    new, new_slot = KGFrame(uri("frame"), name="new"), KGURISlot(uri("slot"), name="kept")
    new_edge = edge(Edge_hasKGSlot, new, new_slot)
    replaced = await kg.create_entity_frames(
        space, GRAPH, acme.URI, [new, new_slot, new_edge], operation_mode="replace"
    )
    assert replaced.is_success and replaced.metadata["written_uris"][:3] == [
        new.URI,
        new_slot.URI,
        new_edge.URI,
    ]
    assert await frame_uris(older, space, acme.URI) == [new.URI]
    for gone in (old.URI, child.URI, slot.URI, slot_edge.URI):
        assert not await exists(older, space, gone), gone
    graph = (await kg.get_kgentity_frames(space, GRAPH, acme.URI, [new.URI])).frame_graph
    assert sorted(o.URI for o in graph.objects) == sorted([new.URI, new_slot.URI, new_edge.URI])

    # the same frame URI may come back with another slot graph
    again = KGURISlot(uri("slot"))
    await kg.create_entity_frames(
        space,
        GRAPH,
        acme.URI,
        [KGFrame(new.URI, name="newer"), again, edge(Edge_hasKGSlot, new, again)],
        None,
        "replace",
    )
    assert not await exists(older, space, new_slot.URI)
    assert [o.name for o in (await kg.get_kgentity_frames(space, GRAPH, acme.URI)).objects] == ["newer"]


async def test_replace_under_a_parent_frame_keeps_the_rest(older: VitalGraphClient, space: str) -> None:
    kg = older.kgentities
    acme = KGEntity(uri("org"))
    parent, sibling = KGFrame(uri("frame"), name="parent"), KGFrame(uri("frame"), name="sibling")
    await kg.create_kgentities(space, GRAPH, [acme])
    await kg.create_entity_frames(space, GRAPH, acme.URI, [parent, sibling])
    first, second, grandchild = KGFrame(uri("frame")), KGFrame(uri("frame")), KGFrame(uri("frame"))
    await kg.create_entity_frames(space, GRAPH, acme.URI, [first, second], parent.URI)
    await kg.create_entity_frames(space, GRAPH, acme.URI, [grandchild], first.URI)

    third = KGFrame(uri("frame"), name="third")
    await kg.create_entity_frames(space, GRAPH, acme.URI, [third], parent.URI, "replace")
    assert await frame_uris(older, space, acme.URI, parent.URI) == [third.URI]
    assert await frame_uris(older, space, acme.URI) == sorted([parent.URI, sibling.URI, third.URI])
    for gone in (first.URI, second.URI, grandchild.URI):
        assert not await exists(older, space, gone)


async def test_replace_refusals_change_nothing(older: VitalGraphClient, space: str) -> None:
    kg = older.kgentities
    acme, other = KGEntity(uri("org")), KGEntity(uri("org"))
    mine, foreign = KGFrame(uri("frame"), name="mine"), KGFrame(uri("frame"), name="foreign")
    await kg.create_kgentities(space, GRAPH, [acme, other])
    await kg.create_entity_frames(space, GRAPH, acme.URI, [mine])
    await kg.create_entity_frames(space, GRAPH, other.URI, [foreign])
    refusals = [
        (409, "", lambda: kg.create_entity_frames(space, GRAPH, acme.URI, [foreign], None, "replace")),
        (
            409,
            "",
            lambda: kg.create_entity_frames(space, GRAPH, acme.URI, [KGFrame(other.URI)], None, "replace"),
        ),
        (
            404,
            "",
            lambda: kg.create_entity_frames(
                space, GRAPH, uri("org"), [KGFrame(uri("frame"))], None, "replace"
            ),
        ),
        (
            404,
            "",
            lambda: kg.create_entity_frames(
                space, GRAPH, acme.URI, [KGFrame(uri("f"))], foreign.URI, "replace"
            ),
        ),
        (
            400,
            "",
            lambda: kg.create_entity_frames(
                space, GRAPH, acme.URI, [KGURISlot(uri("slot"))], None, "replace"
            ),
        ),
        (
            422,
            "operation_mode",
            lambda: kg.create_entity_frames(space, GRAPH, acme.URI, [mine], None, "merge"),
        ),
    ]
    for status, fragment, call in refusals:
        with pytest.raises(VitalGraphClientError) as refused:
            await call()
        assert refused.value.status_code == status and fragment in str(refused.value), refused.value
    assert await frame_uris(older, space, acme.URI) == [mine.URI]
    assert await frame_uris(older, space, other.URI) == [foreign.URI]


# --- list_kgentities: sorting and filters; count_kgentities ---------------------------------------
async def test_list_filters_and_sorting_run_on_the_server(older: VitalGraphClient, space: str) -> None:
    kg = older.kgentities
    first = entity("Bravo", kGEntityType="urn:type:org", **{STATUS: ACTIVE})
    second = entity(
        "alpha", kGEntityType="urn:type:org", kGProvenanceType="urn:provenance:import", **{STATUS: ARCHIVED}
    )
    third = KGEntity(
        uri("person"), name="Charlie", kGEntityType="urn:type:person", kGActionTypeList="urn:action:call"
    )
    for each in (first, second, third):  # one by one: each is created after the one before
        await kg.create_kgentities(space, GRAPH, [each])
    stored = {e.URI: await get(older, space, e.URI) for e in (first, second, third)}
    assert all(entity_time(e, CREATED) == entity_time(e, MODIFIED) for e in stored.values())
    t1, t2 = entity_time(stored[first.URI], CREATED), entity_time(stored[second.URI], CREATED)
    assert t1 < t2 < entity_time(stored[third.URI], CREATED)

    async def listed(**filters) -> list[str]:
        page = await kg.list_kgentities(space, GRAPH, 10, 0, **filters)
        assert page.total_count == len(page.objects)
        return [o.URI for o in page.objects]

    assert await listed(status=ACTIVE) == [first.URI]
    assert sorted(await listed(exclude_status=ARCHIVED)) == sorted([first.URI, third.URI])
    assert await listed(provenance_type="urn:provenance:import") == [second.URI]
    assert await listed(action_type="urn:action:call") == [third.URI]
    assert sorted(await listed(created_after=t1.isoformat())) == sorted([second.URI, third.URI])  # strict
    assert await listed(created_before=t2.isoformat()) == [first.URI]
    assert await listed(entity_type_uri="urn:type:org", created_after=t1.isoformat()) == [second.URI]
    page = await kg.list_kgentities(space, GRAPH, 1, 0, "urn:type:org")  # the type filter is server-side
    assert page.total_count == 2 and len(page.objects) == 1

    # modification time moves with updates (entity and frame writes), creation time stays
    before_update = entity_time(stored[third.URI], MODIFIED)
    await kg.create_entity_frames(space, GRAPH, first.URI, [KGFrame(uri("frame"))])
    touched = await get(older, space, first.URI)
    assert entity_time(touched, CREATED) == t1 and entity_time(touched, MODIFIED) > before_update
    assert await listed(modified_after=before_update.isoformat()) == [first.URI]
    assert sorted(await listed(modified_before=before_update.isoformat())) == sorted([second.URI])

    # sorting on the server, by IRI or attribute name, both ways
    assert await listed(sort_by="name") == [first.URI, third.URI, second.URI]  # Bravo, Charlie, alpha
    assert await listed(sort_by=CREATED, sort_order="desc") == [third.URI, second.URI, first.URI]
    second_page = await kg.list_kgentities(space, GRAPH, 1, 1, sort_by=CREATED)
    assert [o.URI for o in second_page.objects] == [second.URI] and second_page.has_more

    # counts take the same filters
    assert await kg.count_kgentities(space, GRAPH, status=ACTIVE) == 1
    assert await kg.count_kgentities(space, GRAPH, "urn:type:org", created_after=t1.isoformat()) == 1
    counts = await kg.batch_count_kgentities(
        space,
        GRAPH,
        [{"label": "new", "created_after": t1.isoformat()}, {"label": "kept", "exclude_status": ARCHIVED}],
    )
    assert counts == [{"label": "new", "count": 2}, {"label": "kept", "count": 2}]

    # the server's times win over the client's
    forged = entity("forged", **{CREATED: datetime(1999, 1, 1, tzinfo=UTC)})
    await kg.create_kgentities(space, GRAPH, [forged])
    assert entity_time((await get(older, space, forged.URI)), CREATED).year >= 2026

    # bad values: 400 / 422 naming the parameter
    for bad, status, fragment in [
        ({"created_after": "yesterday"}, 422, "created_after"),
        ({"modified_before": "2026-13-01"}, 422, "modified_before"),
        ({"sort_by": "nonsense"}, 400, "sort_by"),
        ({"sort_by": "name", "sort_order": "up"}, 422, "sort_order"),
    ]:
        with pytest.raises(VitalGraphClientError) as refused:
            await kg.list_kgentities(space, GRAPH, 10, 0, **bad)
        assert refused.value.status_code == status and fragment in str(refused.value), refused.value
    with pytest.raises(VitalGraphClientError) as refused:
        await kg.count_kgentities(space, GRAPH, created_before="not a time")
    assert refused.value.status_code == 422 and "created_before" in str(refused.value)


# --- reference ids, parent_uri, if_unmodified_since -------------------------------------------------
async def test_reference_id_lookups(older: VitalGraphClient, space: str) -> None:
    kg = older.kgentities
    one = entity("One", **{REFERENCE: "ref-1"})
    two = entity("Two", **{REFERENCE: 'ref-"2" }'})
    await kg.create_kgentities(space, GRAPH, [one, two, KGEntity(uri("org"), name="none")])
    found = await kg.get_kgentity(space, GRAPH, reference_id="ref-1")
    assert [o.URI for o in found.objects] == [one.URI]
    graph = await kg.get_kgentity(space, GRAPH, reference_id='ref-"2" }', include_entity_graph=True)
    assert graph.objects.entity_uri == two.URI
    several = await kg.get_kgentities_by_reference_ids(space, GRAPH, ["ref-1", 'ref-"2" }', "ref-3"])
    assert sorted(o.URI for o in several.objects) == sorted([one.URI, two.URI])
    assert (await kg.get_kgentities_by_reference_ids(space, GRAPH, ["ref-3"])).objects == []
    with pytest.raises(VitalGraphClientError) as missing:
        await kg.get_kgentity(space, GRAPH, reference_id="ref-3")
    assert missing.value.status_code == 404 and "ref-3" in str(missing.value)


async def test_parent_uri_links_a_child_entity(older: VitalGraphClient, space: str) -> None:
    kg = older.kgentities
    parent, child, other = KGEntity(uri("org"), name="Parent"), KGEntity(uri("org")), KGEntity(uri("org"))
    await kg.create_kgentities(space, GRAPH, [parent])
    created = await kg.create_kgentities(space, GRAPH, [child], parent_uri=parent.URI)
    assert created.is_success
    links = await older.triples.list_triples(
        space,
        GRAPH,
        10,
        0,
        predicate="http://vital.ai/ontology/vital-core#hasEdgeDestination",
        object=child.URI,
    )
    [link] = {q.s.strip("<>") for q in links.results}
    assert (await older.objects.get_object(space, GRAPH, link)).object.edgeSource == parent.URI
    await kg.create_kgentities(space, GRAPH, [other])
    await kg.update_kgentities(space, GRAPH, [other], parent_uri=parent.URI)
    await kg.update_kgentities(space, GRAPH, [other], parent_uri=parent.URI)  # linked once, not twice
    others = await older.triples.list_triples(
        space,
        GRAPH,
        10,
        0,
        predicate="http://vital.ai/ontology/vital-core#hasEdgeDestination",
        object=other.URI,
    )
    assert len(others.results) == 1
    assert await frame_uris(older, space, parent.URI) == []  # a child entity is not a frame

    for call, status in [
        (lambda: kg.create_kgentities(space, GRAPH, [KGEntity(uri("org"))], parent_uri=uri("org")), 404),
        (
            lambda: kg.create_kgentities(
                space, GRAPH, [KGEntity(parent.URI + "x")], parent_uri=parent.URI + "x"
            ),
            400,
        ),
    ]:
        with pytest.raises(VitalGraphClientError) as refused:
            await call()
        assert refused.value.status_code == status, refused.value
    assert await kg.count_kgentities(space, GRAPH) == 3  # nothing stored by the refusals

    # deleting the parent leaves the children; deleting a child takes its link along
    await kg.delete_kgentity(space, GRAPH, child.URI)
    assert not await exists(older, space, link)
    await kg.delete_kgentity(space, GRAPH, parent.URI)
    assert await exists(older, space, other.URI)


async def test_if_unmodified_since_refuses_a_stale_frame_write(older: VitalGraphClient, space: str) -> None:
    kg = older.kgentities
    acme, frame = KGEntity(uri("org")), KGFrame(uri("frame"), name="v1")
    await kg.create_kgentities(space, GRAPH, [acme])
    read = entity_time((await get(older, space, acme.URI)), MODIFIED).isoformat()
    await kg.create_entity_frames(space, GRAPH, acme.URI, [frame], if_unmodified_since=read)  # as read: fine
    with pytest.raises(VitalGraphClientError) as stale:  # the write above moved the entity's time
        await kg.update_entity_frames(space, GRAPH, acme.URI, [KGFrame(frame.URI, name="v2")], None, read)
    assert stale.value.status_code == 409 and "modified" in str(stale.value)
    assert [f.name for f in (await kg.get_kgentity_frames(space, GRAPH, acme.URI)).objects] == ["v1"]
    fresh = entity_time((await get(older, space, acme.URI)), MODIFIED).isoformat()
    await kg.update_entity_frames(space, GRAPH, acme.URI, [KGFrame(frame.URI, name="v2")], None, fresh)
    with pytest.raises(VitalGraphClientError) as bad:
        await kg.create_entity_frames(space, GRAPH, acme.URI, [KGFrame(uri("f"))], None, "create", "soon")
    assert bad.value.status_code == 422 and "if_unmodified_since" in str(bad.value)


async def test_child_frames_of_a_replaced_parent_edge_are_relinked(
    older: VitalGraphClient, space: str
) -> None:
    """A frame sent with its own Edge_hasKGFrame from the parent keeps that edge; others get one."""
    kg = older.kgentities
    acme, parent = KGEntity(uri("org")), KGFrame(uri("frame"))
    await kg.create_kgentities(space, GRAPH, [acme])
    await kg.create_entity_frames(space, GRAPH, acme.URI, [parent])
    linked, plain = KGFrame(uri("frame")), KGFrame(uri("frame"))
    own_edge = edge(Edge_hasKGFrame, parent, linked)
    await kg.create_entity_frames(space, GRAPH, acme.URI, [linked, own_edge, plain], parent.URI, "replace")
    assert await frame_uris(older, space, acme.URI, parent.URI) == sorted([linked.URI, plain.URI])
    assert await exists(older, space, own_edge.URI)
    entity_edges = await older.triples.list_triples(
        space, GRAPH, 50, 0, object="http://vital.ai/ontology/haley-ai-kg#Edge_hasEntityKGFrame"
    )
    # parent, linked, plain: each linked from the entity by one Edge_hasEntityKGFrame
    assert len({q.s for q in entity_edges.results}) == 3


# --- query_entities: slot_criteria and sort_criteria ---------------------------------------------------
TEXT_SLOT = "http://vital.ai/ontology/haley-ai-kg#KGTextSlot"


async def test_query_entities_by_slots_and_sorted(older: VitalGraphClient, space: str) -> None:
    kg = older.kgentities

    async def company(name: str, city: str, employees: int) -> KGEntity:
        entity = KGEntity(uri("org"), name=name)
        frame = KGFrame(uri("frame"), kGFrameType="urn:frame:profile")
        city_slot = KGTextSlot(uri("slot"), kGSlotType="urn:slot:city", textSlotValue=city)
        size_slot = KGIntegerSlot(uri("slot"), kGSlotType="urn:slot:employees", integerSlotValue=employees)
        await kg.create_kgentities(space, GRAPH, [entity])
        objects = [frame, city_slot, size_slot, edge(Edge_hasKGSlot, frame, city_slot)]
        await kg.create_entity_frames(
            space, GRAPH, entity.URI, [*objects, edge(Edge_hasKGSlot, frame, size_slot)]
        )
        return entity

    big = await company("Big", "Berlin", 500)
    small = await company("Small", "Bonn", 12)
    mid = await company("Mid", "Berlin", 80)
    bare = KGEntity(uri("org"), name="Bare")
    await kg.create_kgentities(space, GRAPH, [bare])

    async def matching(criteria: dict, page_size: int = 10) -> list[str]:
        reply = await kg.query_entities(space, GRAPH, {"criteria": criteria, "page_size": page_size})
        return [o.URI for o in reply.objects]

    berlin = {
        "slot_type": "urn:slot:city",
        "slot_class_uri": TEXT_SLOT,
        "value": "Berlin",
        "comparator": "eq",
    }
    assert sorted(await matching({"slot_criteria": [berlin]})) == sorted([big.URI, mid.URI])
    more_than_50 = {
        "slot_type": "urn:slot:employees",
        "slot_class_uri": "KGIntegerSlot",
        "comparator": "gt",
        "value": 50,
    }
    assert sorted(await matching({"slot_criteria": [more_than_50]})) == sorted([big.URI, mid.URI])
    both = {"slot_criteria": [berlin, {**more_than_50, "comparator": "lt", "value": 100}]}
    assert await matching(both) == [mid.URI]
    assert await matching(
        {"slot_criteria": [{"slot_type": "urn:slot:city", "comparator": "not_exists"}]}
    ) == [bare.URI]
    assert await matching(
        {"slot_criteria": [{"slot_type": "urn:slot:city", "comparator": "contains", "value": "bon"}]}
    ) == [small.URI]
    assert await matching({"frame_type": "urn:frame:other", "slot_criteria": [berlin]}) == []

    by_size = {
        "sort_type": "entity_frame_slot",
        "frame_path": ["urn:frame:profile"],
        "slot_type": "urn:slot:employees",
        "slot_class_uri": "KGIntegerSlot",
    }
    profiled = {"slot_criteria": [{"slot_type": "urn:slot:city"}]}
    assert await matching({**profiled, "sort_criteria": [by_size]}) == [small.URI, mid.URI, big.URI]
    assert await matching({**profiled, "sort_criteria": [{**by_size, "sort_order": "desc"}]}, 2) == [
        big.URI,
        mid.URI,
    ]
    by_city = {
        "sort_type": "entity_frame_slot",
        "slot_type": "urn:slot:city",
        "slot_class_uri": TEXT_SLOT,
        "priority": 1,
    }
    two_levels = [{**by_size, "sort_order": "desc", "priority": 2}, by_city]  # city first, then size down
    assert await matching({**profiled, "sort_criteria": two_levels}) == [big.URI, mid.URI, small.URI]
    by_name = {"sort_type": "entity_property", "property_uri": "http://vital.ai/ontology/vital-core#hasName"}
    assert await matching({"sort_criteria": [by_name]}) == [bare.URI, big.URI, mid.URI, small.URI]

    for bad, status, fragment in [
        ({"slot_criteria": [{"slot_type": "urn:slot:city", "comparator": "is_empty"}]}, 422, "comparator"),
        (
            {"slot_criteria": [{"slot_type": "urn:slot:city", "slot_class_uri": "KGNoSlot", "value": "x"}]},
            400,
            "slot_class_uri",
        ),
        ({"slot_criteria": [{"slot_type": "urn:slot:city", "comparator": "gt"}]}, 400, "needs a value"),
        ({"sort_criteria": [{"sort_type": "frame_slot", "slot_type": "x"}]}, 400, "frame_slot"),
        ({"sort_criteria": [{"sort_type": "sideways"}]}, 422, "sort_type"),
        ({"vector_criteria": {"search_text": "x"}}, 400, "vector_criteria"),
        ({"geo_criteria": {"latitude": 1, "longitude": 2}}, 400, "geo_criteria"),
    ]:
        with pytest.raises(VitalGraphClientError) as refused:
            await kg.query_entities(space, GRAPH, {"criteria": bad})
        assert refused.value.status_code == status and fragment in str(refused.value), (bad, refused.value)
