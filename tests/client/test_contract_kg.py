"""Contract: KGTypes, KGEntities with file attachments, and SPARQL, identical for the four client
implementations (real async/sync clients on a server subprocess, and the two in-process mocks)."""

from __future__ import annotations

import uuid

import pytest

from tests.client.conftest import make_file, make_space
from vitalgraph.client import (
    ConflictError,
    InvalidRequestError,
    KGEntitiesDeleted,
    KGEntityGraph,
    KGEntityList,
    KGTypeList,
    NotFoundError,
    SparqlResults,
    VitalGraphClientError,
)
from vitalgraph.model import (
    Edge_hasEntityKGFrame,
    Edge_hasKGSlot,
    FileNode,
    GraphObject,
    KGEntity,
    KGEntityType,
    KGFrame,
    KGType,
    KGURISlot,
)
from vitalgraph.model.vocab import OBJECT_CREATION_TIME, OBJECT_MODIFICATION_TIME

RATING = "http://example.org/ontology#rating"  # a property no class declares: must survive the round trip
HAS_NAME = "http://vital.ai/ontology/vital-core#hasName"


def as_sent(entity: KGEntity) -> KGEntity:
    """The entity without the creation and modification times the server sets on every write
    (present: a stored entity always has them)."""
    for prop in (OBJECT_CREATION_TIME, OBJECT_MODIFICATION_TIME):
        assert entity.get(prop) is not None, prop
        entity.set(prop, None)
    return entity


def new_uri(kind: str) -> str:
    return f"http://example.org/{kind}/{uuid.uuid4().hex}"


def org_type() -> KGEntityType:
    return KGEntityType(new_uri("type"), name="Organization")


def organization(name: str, type_uri: str | None = None) -> KGEntity:
    return KGEntity(new_uri("org"), name=name, kGEntityType=type_uri)


def uploaded_file(client, space: str, data: bytes, name: str = "doc.pdf") -> str:
    uri = make_file(client, space, name)
    client.files.upload_file_stream(space, None, uri, data, filename=name, content_type="application/pdf")
    return uri


# --- KGTypes ------------------------------------------------------------------------------------


def test_kgtypes_crud(client, space):
    plain, typed = KGType(new_uri("type"), name="Thing type"), org_type()
    plain.set(RATING, "five")
    created = client.kgtypes.create_kgtypes(space, None, [plain, typed])
    assert sorted(created.created_uris) == sorted([plain.URI, typed.URI]) and created.created_count == 2

    got = client.kgtypes.get_kgtype(space, None, plain.URI)
    assert isinstance(got, KGType) and got == plain and got.get(RATING) == "five"
    assert isinstance(client.kgtypes.get_kgtype(space, None, typed.URI), KGEntityType)
    by_uris = client.kgtypes.get_kgtypes_by_uris(space, None, [typed.URI, plain.URI, new_uri("type")])
    assert {t.URI for t in by_uris} == {plain.URI, typed.URI}
    assert [t.URI for t in client.kgtypes.get_kgtypes_by_uris(space, None, f"{typed.URI},")] == [typed.URI]

    listed = client.kgtypes.list_kgtypes(space, None)
    assert isinstance(listed, KGTypeList) and listed.total_count == 2
    assert all(isinstance(t, GraphObject) for t in listed.types)

    typed.name = "Company"
    assert client.kgtypes.update_kgtypes(space, None, [typed]).updated_uris == [typed.URI]
    assert client.kgtypes.get_kgtype(space, None, typed.URI).name == "Company"

    assert client.kgtypes.delete_kgtype(space, None, plain.URI).deleted_uris == [plain.URI]
    with pytest.raises(NotFoundError) as missing:
        client.kgtypes.get_kgtype(space, None, plain.URI)
    assert plain.URI in missing.value.detail
    assert client.kgtypes.delete_kgtypes_batch(space, None, [typed.URI]).deleted_count == 1
    assert client.kgtypes.list_kgtypes(space).total_count == 0


def test_kgtypes_page_and_search(client, space):
    types = [KGType(new_uri("type"), name=f"Type {index}") for index in range(5)]
    client.kgtypes.create_kgtypes(space, None, types + [KGType(new_uri("type"), name="Odd one")])
    first, second = (
        client.kgtypes.list_kgtypes(space, None, page_size=4, offset=offset) for offset in (0, 4)
    )
    assert (first.total_count, len(first.types), len(second.types)) == (6, 4, 2)
    assert {t.URI for t in first.types}.isdisjoint({t.URI for t in second.types})
    found = client.kgtypes.list_kgtypes(space, None, search="type ")
    assert found.total_count == 5 and {t.URI for t in found.types} == {t.URI for t in types}


def test_kgtype_failures_change_nothing(client, space):
    kept = org_type()
    client.kgtypes.create_kgtypes(space, None, [kept])
    with pytest.raises(ConflictError):
        client.kgtypes.create_kgtypes(space, None, [KGType(new_uri("type"), name="new"), kept])
    assert client.kgtypes.list_kgtypes(space).total_count == 1
    with pytest.raises(NotFoundError):
        client.kgtypes.update_kgtypes(
            space, None, [KGType(kept.URI, name="x"), KGType(new_uri("type"), name="y")]
        )
    assert client.kgtypes.get_kgtype(space, None, kept.URI).name == "Organization"
    with pytest.raises(NotFoundError):
        client.kgtypes.delete_kgtypes_batch(space, None, [kept.URI, new_uri("type")])
    assert client.kgtypes.get_kgtype(space, None, kept.URI) == kept
    with pytest.raises(InvalidRequestError) as wrong_class:
        client.kgtypes.create_kgtypes(space, None, [KGEntity(new_uri("org"), name="not a type")])
    assert "KGType" in wrong_class.value.detail
    with pytest.raises(NotFoundError):
        client.kgtypes.list_kgtypes(f"missing-{uuid.uuid4().hex[:8]}")


def test_raw_jsonld_is_refused_before_anything_is_sent(client, space):
    with pytest.raises(TypeError, match="GraphObject"):
        client.kgtypes.create_kgtypes(space, None, [{"@id": "urn:x", "@type": "urn:y"}])
    assert client.kgtypes.list_kgtypes(space).total_count == 0


# --- KGEntities ---------------------------------------------------------------------------------


def test_kgentities_crud_with_frames(client, space):
    kind = org_type()
    client.kgtypes.create_kgtypes(space, None, [kind])
    acme, beta = organization("Acme", kind.URI), organization("Beta", kind.URI)
    acme.set(RATING, "AAA")
    frame = KGFrame(new_uri("frame"), name="address")
    edge = Edge_hasEntityKGFrame(new_uri("edge"), edgeSource=acme.URI, edgeDestination=frame.URI)
    created = client.kgentities.create_kgentities(space, None, [acme, beta, frame, edge])
    assert sorted(created.created_uris) == sorted(o.URI for o in (acme, beta, frame, edge))

    got = client.kgentities.get_kgentity(space, None, acme.URI)
    assert isinstance(got, KGEntity) and as_sent(got) == acme and got.kGEntityType == kind.URI
    listed = client.kgentities.list_kgentities(space, None, page_size=1)
    assert isinstance(listed, KGEntityList) and (listed.total_count, len(listed.entities)) == (2, 1)
    assert [e.URI for e in client.kgentities.list_kgentities(space, None, search="bet").entities] == [
        beta.URI
    ]
    assert {e.URI for e in client.kgentities.get_kgentities_by_uris(space, None, [acme.URI, beta.URI])} == {
        acme.URI,
        beta.URI,
    }

    acme.name = "Acme Corp"
    assert client.kgentities.update_kgentities(space, None, [acme]).updated_uris == [acme.URI]
    assert client.kgentities.get_kgentity(space, None, acme.URI).name == "Acme Corp"

    deleted = client.kgentities.delete_kgentity(space, None, acme.URI)
    assert isinstance(deleted, KGEntitiesDeleted) and deleted.deleted_uris == [acme.URI]
    assert (
        sorted(deleted.deleted_related_uris) == sorted([frame.URI, edge.URI])
        and deleted.deleted_file_uris == []
    )
    with pytest.raises(NotFoundError):
        client.kgentities.get_kgentity(space, None, acme.URI)
    with pytest.raises(NotFoundError):
        client.kgentities.delete_kgentities_batch(space, None, [beta.URI, acme.URI])
    assert client.kgentities.list_kgentities(space).total_count == 1


def test_attach_get_with_attachments_and_detach(client, space):
    org = organization("Acme")
    client.kgentities.create_kgentities(space, None, [org])
    contract, logo = (
        uploaded_file(client, space, b"%PDF contract"),
        uploaded_file(client, space, b"logo", "logo.png"),
    )
    attached = client.kgentities.attach_file(space, None, org.URI, contract)
    assert (attached.entity_uri, attached.file_uri, len(attached.created_uris)) == (org.URI, contract, 4)
    client.kgentities.attach_file(space, None, org.URI, logo)
    with pytest.raises(ConflictError) as twice:
        client.kgentities.attach_file(space, None, org.URI, contract)
    assert "already attached" in twice.value.detail
    with pytest.raises(NotFoundError):
        client.kgentities.attach_file(space, None, org.URI, new_uri("file"))

    assert {f.URI for f in client.kgentities.list_attached_files(space, None, org.URI)} == {contract, logo}
    graph = client.kgentities.get_kgentity(space, None, org.URI, include_attachments=True)
    assert isinstance(graph, KGEntityGraph) and as_sent(graph.entity) == org
    assert {f.URI for f in graph.files} == {contract, logo}
    assert all(isinstance(f, FileNode) and f.sha256 for f in graph.files)
    kinds = {type(o) for o in graph.objects}
    assert {KGEntity, KGFrame, KGURISlot, Edge_hasEntityKGFrame, Edge_hasKGSlot, FileNode} <= kinds
    slots = [o for o in graph.objects if isinstance(o, KGURISlot)]
    assert {s.uriSlotValue for s in slots} == {contract, logo}
    with_all = client.kgentities.get_kgentities_by_uris(space, None, [org.URI], include_attachments=True)
    assert {o.URI for o in with_all} == {o.URI for o in graph.objects}

    detached = client.kgentities.detach_file(space, None, org.URI, contract)
    assert sorted(detached.deleted_uris) == sorted(attached.created_uris)
    assert [f.URI for f in client.kgentities.list_attached_files(space, None, org.URI)] == [logo]
    assert client.files.download_file_content(space, None, contract) == b"%PDF contract"  # the file stays


def test_client_written_attachment_frames_are_recognised(client, space):
    org, file_uri = organization("Acme"), uploaded_file(client, space, b"report")
    frame = KGFrame(new_uri("frame"))
    slot = KGURISlot(new_uri("slot"), uriSlotValue=file_uri)
    objects = [
        org,
        frame,
        slot,
        Edge_hasEntityKGFrame(new_uri("edge"), edgeSource=org.URI, edgeDestination=frame.URI),
        Edge_hasKGSlot(new_uri("edge"), edgeSource=frame.URI, edgeDestination=slot.URI),
    ]
    client.kgentities.create_kgentities(space, None, objects)
    assert [f.URI for f in client.kgentities.list_attached_files(space, None, org.URI)] == [file_uri]
    assert client.kgentities.delete_kgentity(
        space, None, org.URI, delete_attachments=True
    ).deleted_file_uris == [file_uri]
    with pytest.raises(NotFoundError):
        client.files.get_file(space, file_uri)


def test_delete_entity_keeps_files_unless_asked(client, space):
    kept_org, gone_org = organization("Keeps"), organization("Deletes")
    client.kgentities.create_kgentities(space, None, [kept_org, gone_org])
    kept, gone = uploaded_file(client, space, b"kept bytes"), uploaded_file(client, space, b"gone bytes")
    client.kgentities.attach_file(space, None, kept_org.URI, kept)
    client.kgentities.attach_file(space, None, gone_org.URI, gone)

    assert client.kgentities.delete_kgentity(space, None, kept_org.URI).deleted_file_uris == []
    assert client.files.download_file_content(space, None, kept) == b"kept bytes"
    deleted = client.kgentities.delete_kgentities_batch(space, None, [gone_org.URI], delete_attachments=True)
    assert deleted.deleted_file_uris == [gone]
    with pytest.raises(NotFoundError):
        client.files.download_file_content(space, None, gone)
    assert [f.URI for f in client.files.list_files(space).files] == [kept]


# --- SPARQL -------------------------------------------------------------------------------------


def test_sparql_select_and_ask(client, space):
    orgs = [organization(name) for name in ("Acme", "Beta")]
    client.kgentities.create_kgentities(space, None, orgs)
    answer = client.sparql.query(space, f"SELECT ?name WHERE {{ ?org <{HAS_NAME}> ?name }} ORDER BY ?name")
    assert isinstance(answer, SparqlResults) and answer.vars == ["name"]
    assert answer.values("name") == ["Acme", "Beta"]
    assert answer.bindings[0]["name"]["type"] == "literal"
    assert client.sparql.query(space, f"ASK {{ <{orgs[0].URI}> ?p ?o }}").boolean is True
    assert client.sparql.query(space, "ASK { <urn:nothing> ?p ?o }").boolean is False


def test_sparql_refuses_updates_and_bad_queries(client, space):
    with pytest.raises(InvalidRequestError) as update:
        client.sparql.query(space, "INSERT DATA { <urn:a> <urn:b> <urn:c> }")
    assert update.value.status_code == 400
    assert client.sparql.query(space, "ASK { <urn:a> ?p ?o }").boolean is False
    with pytest.raises(InvalidRequestError):
        client.sparql.query(space, "SELECT WHERE {")
    with pytest.raises(VitalGraphClientError, match="SELECT and ASK"):
        client.sparql.query(space, "CONSTRUCT WHERE { ?s ?p ?o }")
    with pytest.raises(NotFoundError):
        client.sparql.query(f"missing-{uuid.uuid4().hex[:8]}", "ASK {}")


# --- isolation ----------------------------------------------------------------------------------


def test_spaces_are_isolated_even_with_the_same_uris(client, space):
    other = make_space(client)
    try:
        kind = KGType("http://example.org/shared/type", name="first type")
        org = KGEntity("http://example.org/shared/org", name="first org", kGEntityType=kind.URI)
        file_uri = "http://example.org/shared/file"
        for space_id, label in ((space, "first"), (other, "second")):
            kind.name, org.name = f"{label} type", f"{label} org"
            client.kgtypes.create_kgtypes(space_id, None, [kind])
            client.kgentities.create_kgentities(space_id, None, [org])
            client.files.create_file(space_id, [FileNode(file_uri, name=f"{label}.bin")])
            client.files.upload_file_stream(space_id, None, file_uri, label.encode())
            client.kgentities.attach_file(space_id, None, org.URI, file_uri)
        only_in_other = KGEntity(new_uri("org"), name="secret")
        client.kgentities.create_kgentities(other, None, [only_in_other])

        assert client.kgtypes.get_kgtype(space, None, kind.URI).name == "first type"
        assert client.kgentities.list_kgentities(space).total_count == 1
        with pytest.raises(NotFoundError):
            client.kgentities.get_kgentity(space, None, only_in_other.URI)
        assert client.sparql.query(space, f"ASK {{ <{only_in_other.URI}> ?p ?o }}").boolean is False
        names = client.sparql.query(space, f"SELECT ?n WHERE {{ ?s <{HAS_NAME}> ?n }} ORDER BY ?n").values(
            "n"
        )
        assert names == ["first org", "first type", "first.bin"]

        client.kgentities.delete_kgentity(space, None, org.URI, delete_attachments=True)
        client.kgtypes.delete_kgtype(space, None, kind.URI)
        assert client.kgtypes.get_kgtype(other, None, kind.URI).name == "second type"
        graph = client.kgentities.get_kgentity(other, None, org.URI, include_attachments=True)
        assert graph.entity.name == "second org" and [f.URI for f in graph.files] == [file_uri]
        assert client.files.download_file_content(other, None, file_uri) == b"second"
    finally:
        client.spaces.delete_space(other)
