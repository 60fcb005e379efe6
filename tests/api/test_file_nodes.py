"""File node metadata over JSON-LD: create, get, list, update, delete."""

import uuid

from tests.api.conftest import FILE_NODE, HAS_NAME, blob_probe, file_node_jsonld

VITAL = "http://vital.ai/ontology/vital#"


def _uri(space: str) -> str:
    return f"http://example.org/{space}/file/{uuid.uuid4().hex}"


def test_create_single_list_and_graph_forms(api, space):
    uris = [_uri(space) for _ in range(4)]
    bodies = [
        file_node_jsonld(uris[0]),
        [file_node_jsonld(uris[1])],
        {"@context": {}, "@graph": [file_node_jsonld(uris[2])]},
        {  # compacted JSON-LD with a context
            "@context": {"vital": VITAL, "name": "http://vital.ai/ontology/vital-core#hasName"},
            "@id": uris[3],
            "@type": "vital:FileNode",
            "name": "compact.txt",
        },
    ]
    for uri, body in zip(uris, bodies, strict=False):
        response = api.post("/api/files", params={"space_id": space}, json=body)
        assert response.status_code == 201, response.text
        assert response.json()["created_uris"] == [uri]
    got = api.get("/api/files", params={"space_id": space, "uri": uris[3]}).json()
    assert got["@id"] == uris[3]
    assert got["@type"] == FILE_NODE
    assert got[HAS_NAME][0]["@value"] == "compact.txt"


def test_get_list_filter_and_paging(api, space):
    uris = sorted(_uri(space) for _ in range(5))
    api.post(
        "/api/files",
        params={"space_id": space},
        json=[
            file_node_jsonld(u, name=f"doc-{i}.pdf" if i < 3 else f"img-{i}.png") for i, u in enumerate(uris)
        ],
    )
    page = api.get("/api/files", params={"space_id": space, "page_size": 2, "offset": 1}).json()
    assert page["total_count"] == 5
    assert [o["@id"] for o in page["files"]["@graph"]] == sorted(uris)[1:3]
    filtered = api.get("/api/files", params={"space_id": space, "file_filter": "IMG-"}).json()
    assert filtered["total_count"] == 2
    several = api.get("/api/files", params={"space_id": space, "uri_list": ",".join(uris[:2])}).json()
    assert {o["@id"] for o in several["@graph"]} == set(uris[:2])


def test_update_keeps_server_owned_facts(slot):
    assert slot.upload(b"hello").status_code == 200
    node = slot.client.get("/api/files", params={"space_id": slot.space_id, "uri": slot.uri}).json()
    node[HAS_NAME] = [{"@value": "renamed.txt"}]
    node[VITAL + "hasFileLength"] = [{"@value": 999999}]  # a client can't make a node lie about its bytes
    response = slot.client.put("/api/files", params={"space_id": slot.space_id}, json=node)
    assert response.status_code == 200, response.text
    after = slot.client.get("/api/files", params={"space_id": slot.space_id, "uri": slot.uri}).json()
    assert after[HAS_NAME][0]["@value"] == "renamed.txt"
    assert after[VITAL + "hasFileLength"][0]["@value"] == 5
    assert slot.download().content == b"hello"


def test_create_twice_is_409_and_changes_nothing(slot):
    again = slot.client.post(
        "/api/files", params={"space_id": slot.space_id}, json=file_node_jsonld(slot.uri, name="other")
    )
    assert again.status_code == 409
    assert slot.uri in again.json()["detail"]
    node = slot.client.get("/api/files", params={"space_id": slot.space_id, "uri": slot.uri}).json()
    assert node[HAS_NAME][0]["@value"] == "report.pdf"


def test_unknown_things_are_404(api, space):
    missing = _uri(space)
    for response in [
        api.get("/api/files", params={"space_id": space, "uri": missing}),
        api.put("/api/files", params={"space_id": space}, json=file_node_jsonld(missing)),
        api.delete("/api/files", params={"space_id": space, "uri": missing}),
        api.get("/api/files", params={"space_id": "no-such-space", "uri": missing}),
        api.post("/api/files", params={"space_id": "no-such-space"}, json=file_node_jsonld(missing)),
    ]:
        assert response.status_code == 404, response.text
        assert "not found" in response.json()["detail"]


def test_bad_bodies_are_400_and_store_nothing(api, space):
    uri = _uri(space)
    cases = [
        b"{not json",
        b'{"@type": "http://vital.ai/ontology/vital#FileNode"}',  # no @id
        b'{"@id": "http://x/y", "@type": "http://vital.ai/ontology/haley-ai-kg#KGEntity"}',  # not a FileNode
        b"[]",
        b'"a string"',
    ]
    for body in cases:
        response = api.post(
            "/api/files",
            params={"space_id": space},
            content=body,
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 400, (body, response.text)
        assert response.json()["detail"]
    bad_iri = api.post("/api/files", params={"space_id": space}, json=file_node_jsonld("http://x/a b>"))
    assert bad_iri.status_code == 400
    assert api.get("/api/files", params={"space_id": space}).json()["total_count"] == 0
    assert api.get("/api/files", params={"space_id": space, "uri": uri}).status_code == 404


def test_missing_space_id_names_the_parameter(api):
    response = api.get("/api/files")
    assert response.status_code == 422
    assert "space_id" in response.json()["detail"]


def test_delete_removes_node_and_bytes(slot, server):
    probe = blob_probe(server)
    before = probe.objects()
    slot.upload(b"x" * 1000)
    assert len(probe.objects()) == len(before) + 1
    response = slot.client.delete("/api/files", params=slot.params)
    assert response.status_code == 200
    assert response.json()["deleted_uris"] == [slot.uri]
    assert slot.download().status_code == 404
    assert probe.objects() == before


def test_same_uri_in_two_spaces_does_not_clash(api, space):
    from tests.api.conftest import make_space

    other = make_space(api)
    try:
        uri = "http://example.org/shared/file/1"
        for s, data in [(space, b"first space"), (other, b"second space")]:
            assert (
                api.post("/api/files", params={"space_id": s}, json=file_node_jsonld(uri)).status_code == 201
            )
            up = api.post("/api/files/stream/upload", params={"space_id": s, "uri": uri}, content=data)
            assert up.status_code == 200, up.text
        api.delete("/api/files", params={"space_id": space, "uri": uri})
        kept = api.get("/api/files/stream/download", params={"space_id": other, "uri": uri})
        assert kept.content == b"second space"
    finally:
        api.delete(f"/api/spaces/{other}")


def test_if_match_makes_a_metadata_update_conditional(slot):
    """The node's ETag is its version; a PUT with a stale If-Match is refused (412) and changes nothing."""
    params = {"space_id": slot.space_id}
    got = slot.client.get("/api/files", params={**params, "uri": slot.uri})
    etag = got.headers["ETag"]
    assert etag == '"1"'
    node = got.json()

    node[HAS_NAME] = [{"@value": "first.txt"}]
    first = slot.client.put("/api/files", params=params, json=node, headers={"If-Match": etag})
    assert first.status_code == 200, first.text
    assert first.headers["ETag"] == '"2"' and first.json()["versions"] == {slot.uri: 2}

    node[HAS_NAME] = [{"@value": "lost.txt"}]
    stale = slot.client.put("/api/files", params=params, json=node, headers={"If-Match": etag})
    assert stale.status_code == 412, stale.text
    assert '"2"' in stale.json()["detail"] and slot.uri in stale.json()["detail"]
    weak = slot.client.put("/api/files", params=params, json=node, headers={"If-Match": 'W/"2"'})
    assert weak.status_code == 412  # If-Match compares strongly
    bad = slot.client.put("/api/files", params=params, json=node, headers={"If-Match": "2"})
    assert bad.status_code == 400 and "If-Match" in bad.json()["detail"]
    current = slot.client.get("/api/files", params={**params, "uri": slot.uri})
    assert current.json()[HAS_NAME][0]["@value"] == "first.txt" and current.headers["ETag"] == '"2"'

    assert slot.upload(b"new bytes").json()["version"] == 3  # an upload moves the version too
    refused = slot.client.put("/api/files", params=params, json=node, headers={"If-Match": '"1", "2"'})
    assert refused.status_code == 412
    accepted = slot.client.put("/api/files", params=params, json=node, headers={"If-Match": "*"})
    assert accepted.status_code == 200 and accepted.headers["ETag"] == '"4"'
    assert slot.download().content == b"new bytes"  # the metadata update kept the upload's content

    gone = slot.client.delete("/api/files", params={**params, "uri": slot.uri}, headers={"If-Match": '"3"'})
    assert gone.status_code == 412
    deleted = slot.client.delete(
        "/api/files", params={**params, "uri": slot.uri}, headers={"If-Match": '"4"'}
    )
    assert deleted.status_code == 200
