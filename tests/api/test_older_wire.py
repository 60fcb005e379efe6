"""The older VitalGraph client's own wire calls against a real server: JSON quads in, JSON quads out
(`QuadRequest` bodies sent as application/json, `Accept: application/json`), its route shapes
(/api/graphs/graphs, /graph, /objects, /triples, /sparql/query, Space bodies), and the
server-side copy. Written from the older client's request code, without that client."""

from __future__ import annotations

import hashlib
import uuid

import httpx
import pytest

from tests.api.conftest import blob_probe, file_node_jsonld, make_space

OLD_HEADERS = {"Accept": "application/json"}  # and json= bodies: Content-Type application/json
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
VITALTYPE = "<http://vital.ai/ontology/vital-core#vitaltype>"
HAS_NAME = "<http://vital.ai/ontology/vital-core#hasName>"
FILE_NODE = "<http://vital.ai/ontology/vital#FileNode>"
KG_ENTITY = "<http://vital.ai/ontology/haley-ai-kg#KGEntity>"
KG_TYPE = "<http://vital.ai/ontology/haley-ai-kg#KGType>"


def node_quads(uri: str, class_iri: str, name: str) -> list[dict]:
    """What the older client's graphobjects_to_quad_list sends for one object."""
    return [
        {"s": f"<{uri}>", "p": RDF_TYPE, "o": class_iri, "g": None},
        {"s": f"<{uri}>", "p": VITALTYPE, "o": class_iri, "g": None},
        {"s": f"<{uri}>", "p": HAS_NAME, "o": f'"{name}"', "g": None},
    ]


def names(reply: dict) -> dict[str, str]:
    """subject URI -> hasName, from a QuadResponse's results."""
    return {q["s"][1:-1]: q["o"].strip('"') for q in reply["results"] if q["p"] == HAS_NAME}


@pytest.fixture
def old(server) -> httpx.Client:
    headers = {"Authorization": f"Bearer {server.token()}", **OLD_HEADERS}
    with httpx.Client(base_url=server.url, headers=headers, timeout=120) as client:
        yield client


@pytest.fixture
def old_space(old: httpx.Client):
    space_id = f"old-{uuid.uuid4().hex[:10]}"
    body = {
        "id": None,
        "tenant": None,
        "space": space_id,
        "space_name": "Old",
        "space_description": "d",
        "update_time": None,
    }
    response = old.post("/api/spaces", json=body)  # the older client's create_space(Space)
    assert response.status_code == 201, response.text
    assert response.json()["space_id"] == space_id
    yield space_id
    old.delete(f"/api/spaces/{space_id}")


def test_files_quads_both_ways_and_hasfileurl(old: httpx.Client, old_space: str, server) -> None:
    uri = f"http://example.org/{old_space}/report"
    created = old.post(
        "/api/files", params={"space_id": old_space}, json={"quads": node_quads(uri, FILE_NODE, "r.pdf")}
    )
    assert created.status_code == 201, created.text
    assert created.json() == {"created_uris": [uri], "created_count": 1}

    page = old.get("/api/files", params={"space_id": old_space, "page_size": 10})
    assert page.status_code == 200
    reply = page.json()
    assert reply["total_count"] == 1 and reply["page_size"] == 10 and reply["offset"] == 0
    assert names(reply) == {uri: "r.pdf"}
    assert all(set(q) == {"s", "p", "o", "g"} for q in reply["results"])

    data = b"older client bytes\n" * 1000
    upload = old.post(
        "/api/files/upload",
        params={"space_id": old_space, "uri": uri},
        files={"file": ("r.pdf", data, "application/pdf")},
    )
    assert upload.status_code == 200, upload.text
    assert upload.json()["size"] == upload.json()["file_size"] == len(data)  # not the older server's 0

    one = old.get("/api/files", params={"space_id": old_space, "uri": uri}).json()
    facts = {q["p"]: q["o"] for q in one["results"]}
    url = facts["<http://vital.ai/ontology/vital#hasFileURL>"].strip('"')
    assert url.startswith("/api/files/stream/download?") and f"space_id={old_space}" in url
    download = old.get(url.replace("&amp;", "&"))
    assert download.status_code == 200 and download.content == data

    # JSON-LD stays the default for everyone else
    jsonld = old.get(
        "/api/files", params={"space_id": old_space, "uri": uri}, headers={"Accept": "*/*"}
    ).json()
    assert jsonld["@id"] == uri

    missing = old.get("/api/files", params={"space_id": old_space, "uri": uri + "-missing"})
    assert missing.status_code == 404  # not the older server's HTTP 200 with status NOT_FOUND


def test_kgtypes_and_kgentities_quads(old: httpx.Client, old_space: str) -> None:
    type_uri, entity_uri = f"urn:{old_space}:type", f"urn:{old_space}:entity"
    params = {"space_id": old_space, "graph_id": "urn:kg"}
    assert (
        old.post(
            "/api/graphs/kgtypes", params=params, json={"quads": node_quads(type_uri, KG_TYPE, "Org")}
        ).status_code
        == 201
    )
    assert (
        old.post(
            "/api/graphs/kgentities", params=params, json={"quads": node_quads(entity_uri, KG_ENTITY, "Acme")}
        ).status_code
        == 201
    )
    assert names(old.get("/api/graphs/kgtypes", params=params).json()) == {type_uri: "Org"}
    entities = old.get("/api/graphs/kgentities", params=params).json()
    assert names(entities) == {entity_uri: "Acme"} and entities["total_count"] == 1
    by_uri = old.get("/api/graphs/kgentities", params={**params, "uri_list": entity_uri}).json()
    assert names(by_uri) == {entity_uri: "Acme"}
    updated = old.post(  # the older client updates with POST ...&operation_mode=update
        "/api/graphs/kgentities",
        params={**params, "operation_mode": "update"},
        json={"quads": node_quads(entity_uri, KG_ENTITY, "Acme 2")},
    )
    assert updated.status_code == 200 and updated.json()["updated_uris"] == [entity_uri]
    assert names(old.get("/api/graphs/kgentities", params={**params, "uri": entity_uri}).json()) == {
        entity_uri: "Acme 2"
    }
    bad = old.post(
        "/api/graphs/kgtypes",
        params=params,
        json={"quads": [{"s": "<urn:a>", "p": "not a term", "o": '"x"'}]},
    )
    assert bad.status_code == 400 and "quad 0" in bad.json()["detail"]


def test_entity_frames_query_and_counts_quads(old: httpx.Client, old_space: str) -> None:
    """The older client's kgentities frame, query and count calls, as its request code makes them."""
    entity, frame, slot, edge = (f"urn:{old_space}:{k}" for k in ("entity", "frame", "slot", "edge"))
    params = {"space_id": old_space, "graph_id": "urn:kg"}
    entity_quads = node_quads(entity, KG_ENTITY, "Acme")
    assert old.post("/api/graphs/kgentities", params=params, json={"quads": entity_quads}).status_code == 201
    slot_edge = [
        {
            "s": f"<{edge}>",
            "p": RDF_TYPE,
            "o": "<http://vital.ai/ontology/haley-ai-kg#Edge_hasKGSlot>",
            "g": None,
        },
        {
            "s": f"<{edge}>",
            "p": "<http://vital.ai/ontology/vital-core#hasEdgeSource>",
            "o": f"<{frame}>",
            "g": None,
        },
        {"s": f"<{edge}>", "p": "<http://vital.ai/ontology/vital-core#hasEdgeDestination>", "o": f"<{slot}>"},
    ]
    frame_quads = [
        *node_quads(frame, "<http://vital.ai/ontology/haley-ai-kg#KGFrame>", "address"),
        *node_quads(slot, "<http://vital.ai/ontology/haley-ai-kg#KGTextSlot>", "street"),
        *slot_edge,
    ]
    frames_params = {**params, "entity_uri": entity}
    created = old.post(
        "/api/graphs/kgentities/kgframes",
        params={**frames_params, "operation_mode": "create"},
        json={"quads": frame_quads},
    )
    assert created.status_code == 201 and created.json()["created_count"] == 4, created.text
    listed = old.get("/api/graphs/kgentities/kgframes", params=frames_params).json()
    assert names(listed) == {frame: "address"} and listed["total_count"] == 1
    graphs = old.get(
        "/api/graphs/kgentities/kgframes", params={**frames_params, "frame_uris": [frame]}
    ).json()
    assert names(graphs["frame_graphs"][frame]) == {frame: "address", slot: "street"}
    renamed = [
        q if q["p"] != HAS_NAME or q["s"] != f"<{frame}>" else {**q, "o": '"postal"'} for q in frame_quads
    ]
    updated = old.post(
        "/api/graphs/kgentities/kgframes",
        params={**frames_params, "operation_mode": "update"},
        json={"quads": renamed},
    )
    assert updated.status_code == 200 and updated.json()["frames_updated"] == 1
    query = {"criteria": {"search_string": "acme"}, "page_size": 10, "offset": 0}
    found = old.post("/api/graphs/kgentities/query", params=params, json=query).json()
    assert names(found) == {entity: "Acme"} and found["total_count"] == 1
    assert old.get("/api/graphs/kgentities/count", params={**params, "search": "acme"}).json() == {"count": 1}
    counts = old.post(
        "/api/graphs/kgentities/counts", json={**params, "count_requests": [{"label": "all"}]}
    ).json()
    assert counts == {"counts": [{"label": "all", "count": 1}]}
    deleted = old.delete(
        "/api/graphs/kgentities/kgframes", params={**frames_params, "frame_uris": frame}
    ).json()
    related = deleted["deleted_related_uris"]
    assert deleted["deleted_uris"] == [frame] and len(related) == 3 and {edge, slot} <= set(related)


def test_graphs_objects_triples_and_sparql_routes(old: httpx.Client, old_space: str) -> None:
    space = {"space_id": old_space}
    assert old.put("/api/graphs/graph", params={**space, "graph_uri": "urn:g1"}).status_code == 201
    assert old.put("/api/graphs/graph", params={**space, "graph_uri": "urn:g1"}).status_code == 409
    listed = old.get("/api/graphs/graphs", params=space).json()
    assert {"graph_uri": "urn:g1", "triple_count": 0} in listed

    params = {**space, "graph_id": "urn:g1"}
    thing = f"urn:{old_space}:thing"
    quads = node_quads(thing, "<http://example.org/Thing>", "a thing")
    assert old.post("/api/graphs/objects", params=params, json={"quads": quads}).status_code == 201
    assert names(old.get("/api/graphs/objects", params=params).json()) == {thing: "a thing"}
    refused = old.post(
        "/api/graphs/objects", params=params, json={"quads": node_quads(f"urn:{old_space}:f", FILE_NODE, "f")}
    )
    assert refused.status_code == 400 and "/api/files" in refused.json()["detail"]

    added = old.post(
        "/api/graphs/triples",
        params=params,
        json={"quads": [{"s": f"<{thing}>", "p": "<urn:p>", "o": '"v"', "g": None}]},
    )
    assert added.status_code == 200 and added.json()["added_count"] == 1
    triples = old.get("/api/graphs/triples", params={**params, "subject": thing, "predicate": "urn:p"}).json()
    assert [q["o"] for q in triples["results"]] == ['"v"'] and triples["total_count"] == 1
    protected = old.post(
        "/api/graphs/triples",
        params=params,
        json={
            "quads": [
                {"s": f"<{thing}>", "p": "<http://vitalgraph.ai/ontology/vitalgraph#hasBlobKey>", "o": '"x"'}
            ]
        },
    )
    assert protected.status_code == 400
    assert (
        old.delete("/api/graphs/triples", params={**params, "predicate": "urn:p"}).json()["deleted_count"]
        == 1
    )

    answer = old.post(
        "/api/graphs/sparql/query",
        params=space,
        json={
            "query": f"SELECT ?n WHERE {{ <{thing}> <http://vital.ai/ontology/vital-core#hasName> ?n }}",
            "format": "application/sparql-results+json",
        },
    )
    assert answer.status_code == 200, answer.text
    assert [b["n"]["value"] for b in answer.json()["results"]["bindings"]] == ["a thing"]
    got = old.get("/api/graphs/sparql/query", params={**space, "query": "ASK { ?s ?p ?o }"})
    assert got.json()["boolean"] is True

    cleared = old.post(
        "/api/graphs/graph", params=space, json={"operation": "CLEAR", "target_graph_uri": "urn:g1"}
    )
    assert cleared.status_code == 200 and cleared.json()["triples_removed"] > 0
    assert old.delete("/api/graphs/graph", params={**space, "graph_uri": "urn:g1"}).status_code == 200
    assert old.delete("/api/graphs/graph", params={**space, "graph_uri": "urn:g1"}).status_code == 404
    assert (
        old.delete("/api/graphs/graph", params={**space, "graph_uri": "urn:g1", "silent": "true"}).status_code
        == 200
    )


def test_server_side_copy_between_spaces(server, api: httpx.Client, space: str, old_space: str) -> None:
    source, target = f"http://example.org/{space}/src", f"http://example.org/{old_space}/dst"
    assert (
        api.post("/api/files", params={"space_id": space}, json=file_node_jsonld(source)).status_code == 201
    )
    assert (
        api.post("/api/files", params={"space_id": old_space}, json=file_node_jsonld(target)).status_code
        == 201
    )
    data = bytes(range(256)) * 8192  # 2 MiB
    assert (
        api.post(
            "/api/files/stream/upload", params={"space_id": space, "uri": source}, content=data
        ).status_code
        == 200
    )
    body = {
        "source_space_id": space,
        "source_uri": source,
        "target_space_id": old_space,
        "target_uri": target,
    }
    before = len(blob_probe(server).objects())
    copied = api.post("/api/files/copy", json=body)
    assert copied.status_code == 200, copied.text
    assert copied.json()["sha256"] == hashlib.sha256(data).hexdigest() and copied.json()["size"] == len(data)
    assert len(blob_probe(server).objects()) == before + 1
    got = api.get("/api/files/stream/download", params={"space_id": old_space, "uri": target})
    assert got.content == data
    # the source is untouched; deleting it leaves the copy readable
    api.delete("/api/files", params={"space_id": space, "uri": source})
    assert (
        api.get("/api/files/stream/download", params={"space_id": old_space, "uri": target}).content == data
    )
    missing = api.post("/api/files/copy", json={**body, "source_uri": source})
    assert missing.status_code == 404
    bad = api.post("/api/files/copy", json={**body, "extra": 1})
    assert bad.status_code == 422


def test_copy_needs_read_on_the_source_and_write_on_the_target(server, api: httpx.Client) -> None:
    """A user granted read on A and write on B copies A -> B; read-only on the target, or nothing on
    the source, is refused and the target keeps its bytes. The older routes enforce the same grants."""
    password = "correct-horse-battery-staple"
    a_space, b_space = make_space(api), make_space(api)
    username = f"copier-{uuid.uuid4().hex[:8]}"
    assert (
        api.post(
            "/api/users", json={"username": username, "password": password, "role": "writer"}
        ).status_code
        == 201
    )
    source, target = f"http://example.org/{a_space}/s", f"http://example.org/{b_space}/t"
    for space_id, node in ((a_space, source), (b_space, target)):
        assert (
            api.post("/api/files", params={"space_id": space_id}, json=file_node_jsonld(node)).status_code
            == 201
        )
    api.post("/api/files/stream/upload", params={"space_id": a_space, "uri": source}, content=b"source bytes")
    api.post("/api/files/stream/upload", params={"space_id": b_space, "uri": target}, content=b"target bytes")
    token = httpx.post(f"{server.url}/api/login", data={"username": username, "password": password}).json()[
        "access_token"
    ]
    body = {
        "source_space_id": a_space,
        "source_uri": source,
        "target_space_id": b_space,
        "target_uri": target,
    }
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as user:
        assert user.post("/api/files/copy", json=body).status_code == 403  # no grant on either
        api.put(f"/api/spaces/{a_space}/grants/{username}", json={"level": "read"})
        api.put(f"/api/spaces/{b_space}/grants/{username}", json={"level": "read"})
        refused = user.post("/api/files/copy", json=body)
        assert refused.status_code == 403, refused.text
        assert (
            user.post("/api/graphs/objects", params={"space_id": b_space}, json={"quads": []}).status_code
            == 403
        )
        assert (
            user.put("/api/graphs/graph", params={"space_id": b_space, "graph_uri": "g"}).status_code == 403
        )
        assert (
            user.post("/api/graphs/triples", params={"space_id": b_space}, json={"quads": []}).status_code
            == 403
        )
        kept = api.get("/api/files/stream/download", params={"space_id": b_space, "uri": target})
        assert kept.content == b"target bytes"
        api.put(f"/api/spaces/{b_space}/grants/{username}", json={"level": "write"})
        copied = user.post("/api/files/copy", json=body)
        assert copied.status_code == 200, copied.text
    assert (
        api.get("/api/files/stream/download", params={"space_id": b_space, "uri": target}).content
        == b"source bytes"
    )


def test_openapi_describes_the_older_routes(api: httpx.Client) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    for path, method in [
        ("/api/graphs/sparql/query", "post"),
        ("/api/graphs/sparql/query", "get"),
        ("/api/graphs/graphs", "get"),
        ("/api/graphs/graph", "put"),
        ("/api/graphs/graph", "post"),
        ("/api/graphs/objects", "post"),
        ("/api/graphs/triples", "get"),
        ("/api/files/copy", "post"),
        ("/api/spaces/{space_id}", "put"),
    ]:
        assert method in paths[path], (path, method)
        assert paths[path][method].get("description") or paths[path][method].get("summary")
    for path, method in [
        ("/api/graphs/kgentities/kgframes", "get"),
        ("/api/graphs/kgentities/kgframes", "post"),
        ("/api/graphs/kgentities/kgframes", "delete"),
        ("/api/graphs/kgentities/query", "post"),
        ("/api/graphs/kgentities/count", "get"),
        ("/api/graphs/kgentities/counts", "post"),
    ]:
        assert paths[path][method]["summary"] and paths[path][method]["description"], (path, method)
