"""KGTypes, KGEntities with file attachments, and SPARQL queries, on both graph backends.

Every test runs twice: on the shared embedded-store server and on a server whose graph store is
a real SPARQL server (oxigraph), so both backends are held to the same behaviour.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import file_node_jsonld, make_space
from tests.fixtures.servers import RunningServer
from tests.model.conftest import FIXTURES_DIR
from vitalgraph.errors import InvalidInputError
from vitalgraph.graph.query_form import classify_query

HALEY = "http://vital.ai/ontology/haley-ai-kg#"
VITAL = "http://vital.ai/ontology/vital#"
CORE = "http://vital.ai/ontology/vital-core#"
HAS_NAME = CORE + "hasName"
HASKGTYPE = HALEY + "hasKGEntityType"
ORGANIZATION = HALEY + "OrganizationEntity"
UNKNOWN_PROPERTY = "http://example.org/ontology#rating"
REPO_ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024


@pytest.fixture(scope="module")
def sparql_backed_server(server_factory, oxigraph_server) -> RunningServer:
    return server_factory(
        {
            "VITALGRAPH_GRAPH_BACKEND": "sparql",
            "VITALGRAPH_SPARQL_QUERY_URL": oxigraph_server.query_url,
            "VITALGRAPH_SPARQL_UPDATE_URL": oxigraph_server.update_url,
        },
        name="sparql-backed",
    )


@pytest.fixture(params=["embedded", pytest.param("sparql", marks=pytest.mark.sparql)])
def server(request: pytest.FixtureRequest, local_server: RunningServer) -> RunningServer:
    """Overrides the conftest's `server`, so `api` and `space` run on each backend in turn."""
    return local_server if request.param == "embedded" else request.getfixturevalue("sparql_backed_server")


# --- JSON-LD builders -------------------------------------------------------------------------


def obj(uri: str, cls: str, name: str | None = None, **uri_props: str) -> dict:
    """An expanded JSON-LD object; `uri_props` maps short haley/core property names to IRIs."""
    node: dict = {"@id": uri, "@type": cls}
    if name is not None:
        node[HAS_NAME] = [{"@value": name}]
    for prop, value in uri_props.items():
        namespace = CORE if prop.startswith("hasEdge") else HALEY
        node[namespace + prop] = [{"@id": value}]
    return node


def kg_type(uri: str, name: str, cls: str = "KGType") -> dict:
    return obj(uri, HALEY + cls, name)


def entity(uri: str, name: str, entity_type: str = ORGANIZATION) -> dict:
    return obj(uri, HALEY + "KGEntity", name, hasKGEntityType=entity_type)


def edge(uri: str, cls: str, source: str, destination: str) -> dict:
    return obj(uri, HALEY + cls, hasEdgeSource=source, hasEdgeDestination=destination)


def client_attachment(entity_uri: str, file_uri: str, tag: str) -> list[dict]:
    """Frame, slot and edges attaching a file, written by a client (no marker of the server's)."""
    frame, slot = f"urn:test:{tag}:frame", f"urn:test:{tag}:slot"
    return [
        edge(f"urn:test:{tag}:e1", "Edge_hasEntityKGFrame", entity_uri, frame),
        obj(frame, HALEY + "KGFrame", "client frame"),
        edge(f"urn:test:{tag}:e2", "Edge_hasKGSlot", frame, slot),
        obj(slot, HALEY + "KGURISlot", hasUriSlotValue=file_uri),
    ]


def ids(graph: dict) -> list[str]:
    return [o["@id"] for o in graph["@graph"]]


def new_uri(kind: str) -> str:
    return f"http://example.org/{kind}/{uuid.uuid4().hex[:10]}"


# --- request helpers --------------------------------------------------------------------------


class KG:
    """The KG routes for one space."""

    def __init__(self, api: httpx.Client, space: str) -> None:
        self.api, self.space = api, space

    def post(self, kind: str, body: object) -> httpx.Response:
        return self.api.post(f"/api/graphs/{kind}", params={"space_id": self.space}, json=body)

    def put(self, kind: str, body: object) -> httpx.Response:
        return self.api.put(f"/api/graphs/{kind}", params={"space_id": self.space}, json=body)

    def get(self, kind: str, **params: object) -> httpx.Response:
        return self.api.get(f"/api/graphs/{kind}", params={"space_id": self.space, **params})

    def delete(self, kind: str, **params: object) -> httpx.Response:
        return self.api.delete(f"/api/graphs/{kind}", params={"space_id": self.space, **params})

    def files(self, method: str, entity_uri: str, file_uri: str | None = None) -> httpx.Response:
        params = {
            "space_id": self.space,
            "entity_uri": entity_uri,
            **({"file_uri": file_uri} if file_uri else {}),
        }
        return self.api.request(method, "/api/graphs/kgentities/files", params=params)

    def new_file(self, data: bytes, content_type: str = "application/pdf", name: str = "doc.pdf") -> str:
        uri = new_uri("file")
        assert (
            self.api.post(
                "/api/files", params={"space_id": self.space}, json=file_node_jsonld(uri, name)
            ).status_code
            == 201
        )
        up = self.api.post(
            "/api/files/stream/upload",
            params={"space_id": self.space, "uri": uri, "filename": name},
            content=data,
            headers={"Content-Type": content_type},
        )
        assert up.status_code == 200, up.text
        return uri

    def download(self, file_uri: str) -> httpx.Response:
        return self.api.get("/api/files/stream/download", params={"space_id": self.space, "uri": file_uri})

    def sparql(self, query: str, **headers: str) -> httpx.Response:
        return self.api.post(
            f"/api/graphs/sparql/{self.space}/query",
            content=query,
            headers={"Content-Type": "application/sparql-query", **headers},
        )

    def ask(self, query: str) -> bool:
        response = self.sparql(query)
        assert response.status_code == 200, response.text
        return response.json()["boolean"]


@pytest.fixture
def kg(api: httpx.Client, space: str) -> KG:
    return KG(api, space)


def assert_error(response: httpx.Response, status: int, *fragments: str) -> None:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    for fragment in fragments:
        assert fragment in detail, (fragment, detail)


# --- KGTypes ----------------------------------------------------------------------------------


def test_kgtypes_crud(kg):
    uris = sorted(new_uri("type") for _ in range(3))
    plain = kg_type(uris[0], "Organization type")
    plain[UNKNOWN_PROPERTY] = [{"@value": "kept"}]
    assert kg.post("kgtypes", plain).status_code == 201
    created = kg.post(
        "kgtypes",
        {
            "@context": {},
            "@graph": [kg_type(uris[1], "Person", "KGEntityType"), kg_type(uris[2], "Place", "KGEntityType")],
        },
    )
    assert created.status_code == 201 and created.json()["created_uris"] == uris[1:]

    got = kg.get("kgtypes", uri=uris[0]).json()
    assert got["@type"] == HALEY + "KGType"
    assert got[UNKNOWN_PROPERTY][0]["@value"] == "kept"
    assert kg.get("kgtypes", uri=uris[1]).json()["@type"] == HALEY + "KGEntityType"
    assert set(ids(kg.get("kgtypes", uri_list=",".join(uris[1:])).json())) == set(uris[1:])

    page = kg.get("kgtypes", page_size=2, offset=1).json()
    assert page["total_count"] == 3 and ids(page["types"]) == uris[1:3]
    assert ids(kg.get("kgtypes", search="PERSON").json()["types"]) == [uris[1]]

    renamed = kg.put("kgtypes", kg_type(uris[0], "Company type"))
    assert renamed.status_code == 200 and renamed.json()["updated_uris"] == [uris[0]]
    after = kg.get("kgtypes", uri=uris[0]).json()
    assert after[HAS_NAME][0]["@value"] == "Company type" and UNKNOWN_PROPERTY not in after

    deleted = kg.delete("kgtypes", uri_list=f"{uris[0]},{uris[1]}")
    assert deleted.status_code == 200 and sorted(deleted.json()["deleted_uris"]) == uris[:2]
    assert kg.get("kgtypes", uri=uris[0]).status_code == 404
    assert kg.get("kgtypes").json()["total_count"] == 1


def test_kgtypes_conflicts_and_missing_change_nothing(kg):
    existing, fresh, missing = new_uri("type"), new_uri("type"), new_uri("type")
    assert kg.post("kgtypes", kg_type(existing, "Original")).status_code == 201

    assert_error(kg.post("kgtypes", [kg_type(fresh, "New"), kg_type(existing, "Again")]), 409, existing)
    assert_error(kg.put("kgtypes", [kg_type(existing, "Changed"), kg_type(missing, "Ghost")]), 404, missing)
    assert_error(kg.delete("kgtypes", uri_list=f"{existing},{missing}"), 404, missing)

    assert kg.get("kgtypes", uri=fresh).status_code == 404
    assert kg.get("kgtypes", uri=existing).json()[HAS_NAME][0]["@value"] == "Original"


def test_kgtypes_refuse_other_classes(kg):
    type_uri, entity_uri = new_uri("type"), new_uri("org")
    response = kg.post("kgtypes", [kg_type(type_uri, "Fine"), entity(entity_uri, "Not a type")])
    assert_error(response, 400, entity_uri, HALEY + "KGEntity", "KGType")
    assert kg.get("kgtypes").json()["total_count"] == 0

    file_uri = kg.new_file(b"bytes")  # a FileNode is not reachable, nor deletable, as a type
    assert kg.get("kgtypes", uri=file_uri).status_code == 404
    assert kg.delete("kgtypes", uri=file_uri).status_code == 404
    assert kg.put("kgtypes", kg_type(file_uri, "Overwrite")).status_code == 404
    assert kg.download(file_uri).content == b"bytes"


# --- KGEntities -------------------------------------------------------------------------------


def test_entities_crud_with_their_frames(kg):
    org, person = new_uri("org"), new_uri("person")
    address = [
        edge("urn:test:addr:e1", "Edge_hasEntityKGFrame", org, "urn:test:addr:frame"),
        obj("urn:test:addr:frame", HALEY + "KGFrame", "Address"),
    ]
    created = kg.post(
        "kgentities", [entity(org, "Acme"), entity(person, "Ada", HALEY + "PersonEntity"), *address]
    )
    assert created.status_code == 201, created.text
    assert created.json()["created_count"] == 4

    assert kg.get("kgentities", uri=org).json()[HASKGTYPE][0]["@id"] == ORGANIZATION
    listing = kg.get("kgentities").json()
    assert listing["total_count"] == 2 and set(ids(listing["entities"])) == {
        org,
        person,
    }  # frames are not entities
    assert ids(kg.get("kgentities", search="acme").json()["entities"]) == [org]
    assert kg.ask('ASK { <urn:test:addr:frame> <http://vital.ai/ontology/vital-core#hasName> "Address" }')

    updated = kg.put(
        "kgentities", [entity(org, "Acme Corp"), obj("urn:test:addr:frame", HALEY + "KGFrame", "HQ")]
    )
    assert updated.status_code == 200, updated.text
    assert kg.get("kgentities", uri=org).json()[HAS_NAME][0]["@value"] == "Acme Corp"
    assert kg.ask('ASK { <urn:test:addr:frame> <http://vital.ai/ontology/vital-core#hasName> "HQ" }')

    deleted = kg.delete("kgentities", uri=org)
    assert deleted.status_code == 200 and deleted.json()["deleted_uris"] == [org]
    assert sorted(deleted.json()["deleted_related_uris"]) == ["urn:test:addr:e1", "urn:test:addr:frame"]
    assert not kg.ask("ASK { <urn:test:addr:frame> ?p ?o }")
    assert kg.get("kgentities", uri=person).status_code == 200


def test_entity_writes_that_fail_change_nothing(kg):
    org, missing, fresh = new_uri("org"), new_uri("org"), new_uri("org")
    assert kg.post("kgentities", entity(org, "Acme")).status_code == 201
    frame = obj("urn:test:new:frame", HALEY + "KGFrame", "never stored")

    assert_error(kg.post("kgentities", [entity(fresh, "Fresh"), frame, entity(org, "Again")]), 409, org)
    assert_error(kg.put("kgentities", [entity(missing, "Ghost"), frame]), 404, missing)
    assert_error(
        kg.post("kgentities", [entity(fresh, "Fresh"), kg_type(new_uri("type"), "T")]), 400, "KGType"
    )
    assert_error(
        kg.post("kgentities", [entity(fresh, "Fresh"), obj("urn:test:bad-edge", HALEY + "Edge_hasKGSlot")]),
        400,
        "urn:test:bad-edge",
        "hasEdgeSource",
    )
    assert_error(kg.post("kgentities", [frame]), 400, "no KGEntity")
    assert_error(kg.delete("kgentities", uri_list=f"{org},{missing}"), 404, missing)

    assert kg.get("kgentities").json()["total_count"] == 1
    assert kg.get("kgentities", uri=fresh).status_code == 404
    assert not kg.ask("ASK { <urn:test:new:frame> ?p ?o }")


def test_malformed_bodies_are_400(kg):
    for body in [
        b"{not json",
        b'{"@type": "http://vital.ai/ontology/haley-ai-kg#KGEntity"}',
        b"[]",
        b'"text"',
    ]:
        for kind in ("kgtypes", "kgentities"):
            response = kg.api.post(
                f"/api/graphs/{kind}",
                params={"space_id": kg.space},
                content=body,
                headers={"Content-Type": "application/json"},
            )
            assert response.status_code == 400, (kind, body, response.text)
            assert response.json()["detail"]
    assert kg.get("kgentities").json()["total_count"] == 0 and kg.get("kgtypes").json()["total_count"] == 0


def test_unknown_space_is_404(api):
    uri = new_uri("org")
    for response in [
        api.post("/api/graphs/kgentities", params={"space_id": "no-such-space"}, json=entity(uri, "X")),
        api.get("/api/graphs/kgtypes", params={"space_id": "no-such-space"}),
        api.get("/api/graphs/kgentities/files", params={"space_id": "no-such-space", "entity_uri": uri}),
        api.post(
            "/api/graphs/sparql/no-such-space/query",
            content="ASK {}",
            headers={"Content-Type": "application/sparql-query"},
        ),
    ]:
        assert_error(response, 404, "no-such-space")


# --- attachments ------------------------------------------------------------------------------


def test_attach_list_include_and_detach(kg):
    org = new_uri("org")
    kg.post("kgentities", entity(org, "Acme"))
    file_uri = kg.new_file(b"%PDF-1.7 content")

    attached = kg.files("POST", org, file_uri)
    assert attached.status_code == 201, attached.text
    edge1, frame, edge2, slot = attached.json()["created_uris"]
    assert_error(kg.files("POST", org, file_uri), 409, "already attached")

    listed = kg.files("GET", org).json()
    assert listed["file_uris"] == [file_uri] and listed["total_count"] == 1
    assert listed["files"]["@graph"][0][VITAL + "hasFileLength"][0]["@value"] == 16

    graph = kg.get("kgentities", uri=org, include_attachments="true").json()["@graph"]
    by_id = {o["@id"]: o for o in graph}
    assert graph[0]["@id"] == org and set(by_id) == {org, edge1, frame, edge2, slot, file_uri}
    assert by_id[slot][HALEY + "hasUriSlotValue"] == [{"@id": file_uri}]
    assert by_id[edge1][CORE + "hasEdgeSource"] == [{"@id": org}]
    assert by_id[edge1][CORE + "hasEdgeDestination"] == [{"@id": frame}]
    assert by_id[edge2]["@type"] == HALEY + "Edge_hasKGSlot"
    assert by_id[file_uri]["@type"] == VITAL + "FileNode"

    detached = kg.files("DELETE", org, file_uri)
    assert detached.status_code == 200 and sorted(detached.json()["deleted_uris"]) == sorted(
        [edge1, frame, edge2, slot]
    )
    assert kg.files("GET", org).json()["file_uris"] == []
    assert_error(kg.files("DELETE", org, file_uri), 404, "not attached")
    assert kg.download(file_uri).content == b"%PDF-1.7 content"  # detaching keeps the file


def test_attach_needs_an_entity_and_a_file_node(kg):
    org, type_uri = new_uri("org"), new_uri("type")
    kg.post("kgentities", entity(org, "Acme"))
    kg.post("kgtypes", kg_type(type_uri, "A type"))
    file_uri = kg.new_file(b"x")
    assert_error(kg.files("POST", new_uri("org"), file_uri), 404, "KGEntity not found")
    assert_error(kg.files("POST", org, new_uri("file")), 404, "file node not found")
    assert_error(kg.files("POST", org, type_uri), 404, "file node not found")
    assert_error(kg.files("POST", type_uri, file_uri), 404, "KGEntity not found")
    assert kg.files("GET", org).json()["file_uris"] == []


def test_client_written_attachments_are_recognised(kg):
    """The golden VitalSigns document, sent as a client would: file, type, then entity with frame and slot."""
    document = json.loads((FIXTURES_DIR / "org_with_file.jsonld").read_text())
    by_type = {}
    for item in document["@graph"]:
        by_type.setdefault(item["@type"].split("#")[1], []).append(item)
    file_uri, org = by_type["FileNode"][0]["@id"], by_type["KGEntity"][0]["@id"]
    assert kg.post("kgtypes", by_type["KGEntityType"]).status_code == 201
    assert (
        kg.api.post("/api/files", params={"space_id": kg.space}, json=by_type["FileNode"]).status_code == 201
    )
    entity_graph = [
        item
        for name in (
            "KGEntity",
            "KGFrame",
            "KGURISlot",
            "Edge_hasEntityKGFrame",
            "Edge_hasKGSlot",
            "Edge_hasKGDocumentFileNode",
        )
        for item in by_type[name]
    ]
    created = kg.post("kgentities", {"@context": {}, "@graph": entity_graph})
    assert created.status_code == 201, created.text

    assert kg.files("GET", org).json()["file_uris"] == [file_uri]
    assert {"urn:frame:1", "urn:slot:1", "urn:edge:1", "urn:edge:2", file_uri} <= set(
        ids(kg.get("kgentities", uri=org, include_attachments="true").json())
    )
    assert_error(kg.files("POST", org, file_uri), 409, "already attached")
    assert sorted(kg.files("DELETE", org, file_uri).json()["deleted_uris"]) == [
        "urn:edge:1",
        "urn:edge:2",
        "urn:frame:1",
        "urn:slot:1",
    ]


def test_detach_keeps_a_frame_that_still_has_other_slots(kg):
    org = new_uri("org")
    first, second = kg.new_file(b"1"), kg.new_file(b"2")
    frame = "urn:test:shared:frame"
    body = [
        entity(org, "Acme"),
        edge("urn:test:shared:e0", "Edge_hasEntityKGFrame", org, frame),
        obj(frame, HALEY + "KGFrame", "two files"),
    ]
    for n, file_uri in ((1, first), (2, second)):
        body += [
            edge(f"urn:test:shared:s{n}", "Edge_hasKGSlot", frame, f"urn:test:shared:slot{n}"),
            obj(f"urn:test:shared:slot{n}", HALEY + "KGURISlot", hasUriSlotValue=file_uri),
        ]
    assert kg.post("kgentities", body).status_code == 201
    assert sorted(kg.files("GET", org).json()["file_uris"]) == sorted([first, second])

    removed = kg.files("DELETE", org, first).json()["deleted_uris"]
    assert sorted(removed) == ["urn:test:shared:s1", "urn:test:shared:slot1"]
    assert kg.files("GET", org).json()["file_uris"] == [second]


def test_delete_entity_keeps_attached_files_by_default(kg):
    org = new_uri("org")
    kg.post("kgentities", entity(org, "Acme"))
    file_uri = kg.new_file(b"keep me")
    links = kg.files("POST", org, file_uri).json()["created_uris"]

    response = kg.delete("kgentities", uri=org, delete_attachments="false")
    assert response.status_code == 200, response.text
    assert sorted(response.json()["deleted_related_uris"]) == sorted(links)
    assert response.json()["deleted_file_uris"] == []
    assert kg.get("kgentities", uri=org).status_code == 404
    assert not kg.ask(f"ASK {{ VALUES ?x {{ {' '.join(f'<{u}>' for u in links)} }} ?x ?p ?o }}")
    assert kg.download(file_uri).content == b"keep me"


def test_delete_entity_with_attachments_deletes_files_and_bytes(kg, server):
    org, other = new_uri("org"), new_uri("org")
    kg.post("kgentities", [entity(org, "Acme"), entity(other, "Other")])
    attached, unrelated = kg.new_file(b"x" * 5000), kg.new_file(b"stays")
    kg.files("POST", org, attached)
    kg.files("POST", other, unrelated)

    def blob_files() -> set[Path]:
        return {p for p in (server.data_dir / "blobs" / "spaces").rglob("*") if p.is_file()}

    before = blob_files()

    response = kg.delete("kgentities", uri=org, delete_attachments="true")
    assert response.status_code == 200, response.text
    assert response.json()["deleted_file_uris"] == [attached]
    assert kg.download(attached).status_code == 404
    assert kg.api.get("/api/files", params={"space_id": kg.space, "uri": attached}).status_code == 404
    assert len(before - blob_files()) == 1  # exactly the attached file's bytes are gone
    assert kg.download(unrelated).content == b"stays"
    assert kg.files("GET", other).json()["file_uris"] == [unrelated]


def test_same_uris_in_two_spaces_do_not_clash(kg, api):
    other = KG(api, make_space(api))
    try:
        org = "http://example.org/shared/org/1"
        for space, name in ((kg, "first"), (other, "second")):
            assert space.post("kgentities", entity(org, name)).status_code == 201
            assert space.files("POST", org, space.new_file(name.encode())).status_code == 201
        assert kg.delete("kgentities", uri=org, delete_attachments="true").status_code == 200
        assert other.get("kgentities", uri=org).json()[HAS_NAME][0]["@value"] == "second"
        [file_uri] = other.files("GET", org).json()["file_uris"]
        assert other.download(file_uri).content == b"second"
    finally:
        api.delete(f"/api/spaces/{other.space}")


def test_kgtypes_and_listings_are_per_space(kg, api):
    """The same KGType and entity URIs in two spaces are two objects; no listing or search crosses over."""
    other = KG(api, make_space(api))
    try:
        shared_type, shared_org, own_org = new_uri("type"), new_uri("org"), new_uri("org")
        for space, name in ((kg, "first"), (other, "second")):
            assert space.post("kgtypes", kg_type(shared_type, f"{name} type")).status_code == 201
            assert space.post("kgentities", entity(shared_org, f"{name} org", shared_type)).status_code == 201
        assert other.post("kgentities", entity(own_org, "second only")).status_code == 201

        assert kg.get("kgtypes", uri=shared_type).json()[HAS_NAME][0]["@value"] == "first type"
        assert ids(kg.get("kgtypes").json()["types"]) == [shared_type]
        assert ids(kg.get("kgentities").json()["entities"]) == [shared_org]
        assert kg.get("kgentities", search="second").json()["total_count"] == 0
        assert kg.get("kgentities", uri=own_org).status_code == 404
        assert_error(kg.put("kgentities", entity(own_org, "hijacked")), 404, own_org)
        assert_error(kg.delete("kgentities", uri=own_org), 404, own_org)

        assert kg.put("kgtypes", kg_type(shared_type, "first renamed")).status_code == 200
        assert kg.delete("kgentities", uri=shared_org).status_code == 200
        assert kg.delete("kgtypes", uri=shared_type).status_code == 200
        assert other.get("kgtypes", uri=shared_type).json()[HAS_NAME][0]["@value"] == "second type"
        assert other.get("kgentities").json()["total_count"] == 2
    finally:
        api.delete(f"/api/spaces/{other.space}")


def test_graphs_of_one_space_are_separate(kg):
    """`graph_id` names a graph of its own: objects in it are not in the default graph, and vice versa."""
    org = new_uri("org")
    named = {"space_id": kg.space, "graph_id": "archive"}
    assert (
        kg.api.post("/api/graphs/kgentities", params=named, json=entity(org, "archived")).status_code == 201
    )
    assert kg.get("kgentities", uri=org).status_code == 404
    assert kg.api.get("/api/graphs/kgentities", params={**named, "uri": org}).status_code == 200
    assert kg.post("kgentities", entity(org, "current")).status_code == 201  # same URI, other graph: no clash
    assert kg.get("kgentities", uri=org).json()[HAS_NAME][0]["@value"] == "current"
    names = kg.sparql(f"SELECT ?n WHERE {{ <{org}> <{HAS_NAME}> ?n }} ORDER BY ?n").json()["results"][
        "bindings"
    ]
    assert [b["n"]["value"] for b in names] == [
        "archived",
        "current",
    ]  # SPARQL sees the space's graphs together


# --- SPARQL -----------------------------------------------------------------------------------


def test_sparql_query_forms_and_body_encodings(kg):
    org = new_uri("org")
    kg.post("kgentities", entity(org, "Acme"))
    select = f"SELECT ?name WHERE {{ <{org}> <{HAS_NAME}> ?name }}"
    path = f"/api/graphs/sparql/{kg.space}/query"
    for response in [
        kg.sparql(select),
        kg.api.post(path, data={"query": select}),
        kg.api.post(path, json={"query": select}),
    ]:
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/sparql-results+json")
        assert [b["name"]["value"] for b in response.json()["results"]["bindings"]] == ["Acme"]

    construct = kg.sparql(f"CONSTRUCT WHERE {{ <{org}> <{HAS_NAME}> ?name }}")
    assert construct.headers["content-type"].startswith("application/n-triples")
    assert construct.text == f'<{org}> <{HAS_NAME}> "Acme" .\n'
    described = kg.sparql(f"DESCRIBE <{org}>", Accept="application/ld+json")
    assert described.headers["content-type"].startswith("application/ld+json")
    assert described.json()[0]["@id"] == org


def test_sparql_sees_only_its_own_space(kg, api, server):
    other = KG(api, make_space(api))
    try:
        secret = new_uri("org")
        other.post("kgentities", entity(secret, "Secret"))
        [other_graph] = [
            b["g"]["value"]
            for b in other.sparql("SELECT DISTINCT ?g WHERE { GRAPH ?g { } }").json()["results"]["bindings"]
        ]
        assert other_graph.startswith(f"urn:vitalgraph:graph:{other.space}~")  # named by the space's identity
        escapes = [
            f"ASK {{ <{secret}> ?p ?o }}",
            f"ASK FROM <{other_graph}> {{ <{secret}> ?p ?o }}",
            f"ASK {{ GRAPH <{other_graph}> {{ ?s ?p ?o }} }}",
            f"ASK FROM NAMED <{other_graph}> {{ GRAPH ?g {{ <{secret}> ?p ?o }} }}",
            "ASK { GRAPH <urn:vitalgraph:system> { ?s ?p ?o } }",
            f'ASK {{ ?s ?p "{other.space}" }}',  # the system graph names every space
        ]
        assert [kg.ask(q) for q in escapes] == [False] * len(escapes)
        assert other.ask(f"ASK {{ <{secret}> ?p ?o }}")

        kg.post("kgentities", entity(new_uri("org"), "Mine"))
        graphs = kg.sparql("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }").json()["results"]["bindings"]
        [mine] = [b["g"]["value"] for b in graphs]
        assert mine.startswith(f"urn:vitalgraph:graph:{kg.space}~") and mine.endswith("/default")

        # A federated call back to the backing SPARQL server would ignore the dataset: refused.
        backing_store = server.env.get("VITALGRAPH_SPARQL_QUERY_URL", f"{server.url}/api")
        service = kg.sparql(
            f"SELECT * WHERE {{ SERVICE <{backing_store}> {{ GRAPH <{other_graph}> {{ ?s ?p ?o }} }} }}"
        )
        assert_error(service, 400, "SERVICE")
    finally:
        api.delete(f"/api/spaces/{other.space}")


def test_sparql_refuses_updates_and_reports_syntax_errors(kg):
    for update in [
        "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
        "PREFIX x: <urn:x#> DELETE WHERE { ?s ?p ?o }",
        "DROP ALL",
        "LOAD <http://example.org/data.ttl>",
        "CLEAR GRAPH <urn:vitalgraph:system>",
    ]:
        assert_error(kg.sparql(update), 400, "updates", "not accepted")
    assert not kg.ask("ASK { <urn:a> ?p ?o }")
    assert_error(kg.sparql("SELECT ?x WHERE { ?x ?y }"), 400, "error at")
    assert_error(kg.sparql(""), 400, "empty")
    assert_error(
        kg.api.post(
            f"/api/graphs/sparql/{kg.space}/query", content="ASK {}", headers={"Content-Type": "text/plain"}
        ),
        400,
        "Content-Type",
    )
    assert_error(kg.api.post(f"/api/graphs/sparql/{kg.space}/query", json={"q": "ASK {}"}), 400, "query")


def documented_query(marker: str) -> str:
    text = (REPO_ROOT / "docs" / "sparql.md").read_text()
    found = re.search(rf"<!-- test: {marker} -->\s*```sparql\n(.*?)```", text, re.DOTALL)
    assert found, f"no sparql block marked {marker} in docs/sparql.md"
    return found.group(1)


def test_documented_query_pdfs_over_10mb_attached_to_organizations(kg):
    big = b"%PDF" + b"\0" * (10 * MB)
    acme, beta, gamma = new_uri("org"), new_uri("org"), new_uri("org")
    kg.post("kgtypes", kg_type(ORGANIZATION, "Organization", "KGEntityType"))
    kg.post(
        "kgentities",
        [entity(acme, "Acme"), entity(beta, "Beta", HALEY + "PersonEntity"), entity(gamma, "Gamma")],
    )
    wanted = kg.new_file(big, name="annual-report.pdf")
    for org, file_uri in [
        (acme, wanted),
        (acme, kg.new_file(b"%PDF small", name="small.pdf")),  # too small
        (beta, kg.new_file(big, name="person.pdf")),  # not an organization
        (gamma, kg.new_file(big, "image/png", "photo.png")),  # not a PDF
    ]:
        assert kg.files("POST", org, file_uri).status_code == 201

    response = kg.sparql(documented_query("pdf-over-10mb"))
    assert response.status_code == 200, response.text
    rows = [{k: v["value"] for k, v in b.items()} for b in response.json()["results"]["bindings"]]
    assert rows == [
        {
            "org": acme,
            "orgName": "Acme",
            "file": wanted,
            "fileName": "annual-report.pdf",
            "bytes": str(len(big)),
        }
    ]


# --- the query guard, case by case (no server needed) -------------------------------------------

SERVICE_CALL = "SERVICE <http://127.0.0.1:7878/query> { ?a ?b ?c }"


@pytest.mark.parametrize(
    "query",
    [
        f"SELECT * WHERE {{ ?s ?p ?o . {SERVICE_CALL} }}",
        "select * where { service silent <http://h/q> { } }",
        f"SELECT * WHERE {{ ?s ?p ?o .{SERVICE_CALL} }}",  # no space after the dot
        f"PREFIX ex: <http://x/> SELECT * WHERE {{ ?s ex:a\\# ?o . {SERVICE_CALL} }}",  # '\\#' is no comment
        f"PREFIX ex: <http://x/> SELECT * WHERE {{ ?s ex:a\\' ?o . {SERVICE_CALL} }} #'",  # '\\'' opens no string
        f"SELECT * WHERE {{ ?s <http://x/\\u0041#f> ?o . {SERVICE_CALL} }}",  # '#' inside an escaped IRI
        f"SELECT * WHERE {{ ?s ?p ?o FILTER(?o<?s) {SERVICE_CALL} FILTER(?o>?s) }}",  # '<' as an operator
    ],
)
def test_service_is_refused_however_it_is_written(query):
    with pytest.raises(InvalidInputError, match="SERVICE"):
        classify_query(query)


@pytest.mark.parametrize(
    "query, form",
    [
        ("prefix ex: <http://x/> select ?service where { ?s ex:service ?service }", "SELECT"),
        ('SELECT * WHERE { ?s ?p "SERVICE" } # SERVICE', "SELECT"),
        ('SELECT * WHERE { ?s ?p """a "quoted" SERVICE""" }', "SELECT"),
        ("ASK { <http://x/#SERVICE> ?p ?o }", "ASK"),
        ("PREFIX drop: <urn:x#> CONSTRUCT WHERE { ?s drop:insert ?o }", "CONSTRUCT"),
        ("# a comment\nDESCRIBE <urn:x>", "DESCRIBE"),
    ],
)
def test_words_inside_names_strings_and_comments_are_not_keywords(query, form):
    assert classify_query(query).value == form
