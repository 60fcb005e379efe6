"""Bad input through a real server on both blob stores: hostile Range headers, hostile names and URIs,
malformed JSON-LD, wrong spaces and unknown URIs (issue 6, item 2; the table is in docs/bad-input.md).

Every case checks the status, that {"detail"} names the problem, and that nothing was stored or lost.
Bodies (multipart, lying Content-Length, size limits, tus) are in test_bad_input_bodies.py.
"""

from __future__ import annotations

import os
import re
import uuid
from urllib.parse import unquote

import pytest

from tests.api.bad_input_support import Snapshot, assert_error, raw_request
from tests.api.conftest import FILE_NODE, HAS_NAME, FileSlot, blob_probe, file_node_jsonld

DATA = os.urandom(2000)
HALEY = "http://vital.ai/ontology/haley-ai-kg#"
HAS_FILE_NAME = "http://vital.ai/ontology/vital#hasFileName"


@pytest.fixture
def filled(slot: FileSlot) -> FileSlot:
    response = slot.upload(DATA, filename="report.bin")
    assert response.status_code == 200, response.text
    return slot


@pytest.fixture
def before(server, filled) -> Snapshot:
    return Snapshot.take(server, filled)


# --- Range --------------------------------------------------------------------------------------
def _disjoint(count: int) -> str:
    return "bytes=" + ",".join(f"{2 * i}-{2 * i}" for i in range(count))


WHOLE_FILE = [  # syntactically invalid or over the length cap: ignored, the whole file (200)
    "bytes=abc",
    "bytes=1-x",
    "bytes=5-1",
    "bytes=--5",
    "bytes=-1-2",
    "bytes=",
    "bytes=,,,",
    "chars=0-1",
    "bytes=0-1;2-3",
    "bytes=\u0663-4".encode(),
    "bytes=" + "0-0," * 2100,
]
UNSATISFIABLE = [  # valid but nothing to send: 416 naming why
    ("bytes=" + "9" * 5000 + "-", "no requested range overlaps"),
    ("bytes=-0", "no requested range overlaps"),
    ("bytes=2000-2999", "no requested range overlaps"),
    (_disjoint(65), "too many ranges (65 > 64)"),
    (_disjoint(700), "too many ranges (700 > 64)"),
]


def test_invalid_or_overlong_range_is_ignored(server, filled, before):
    for header in WHOLE_FILE:
        response = filled.download({"Range": header})
        assert response.status_code == 200, (header[:40], response.status_code, response.text[:200])
        assert response.content == DATA and "content-range" not in response.headers
    before.assert_unchanged(server, filled)


def test_unsatisfiable_and_too_many_ranges_are_416(server, filled, before):
    assert len(_disjoint(700)) < 8192  # under the length cap: the count cap is what answers
    for header, fragment in UNSATISFIABLE:
        response = filled.download({"Range": header})
        assert_error(response, 416, "range not satisfiable", fragment)
        assert response.headers["content-range"] == f"bytes */{len(DATA)}"
    before.assert_unchanged(server, filled)


def test_huge_numbers_saturate_at_the_file_size(filled):
    for header in ["bytes=0-" + "9" * 5000, "bytes=-" + "9" * 5000, "bytes=" + "0" * 3000 + "0-"]:
        response = filled.download({"Range": header})
        assert response.status_code == 206, header[:40]
        assert response.headers["content-range"] == f"bytes 0-1999/{len(DATA)}"
        assert response.content == DATA


def test_overlapping_ranges_are_merged_and_the_cap_counts_merged_ranges(filled):
    response = filled.download({"Range": "bytes=0-10,5-20,15-30,21-21"})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes 0-30/{len(DATA)}"
    assert response.content == DATA[:31]
    # 900 copies of one range merge into one, however many the header lists.
    response = filled.download({"Range": "bytes=" + ",".join(["100-199"] * 900)})
    assert response.status_code == 206 and response.content == DATA[100:200]
    response = filled.download({"Range": _disjoint(64)})  # exactly the cap: served
    assert response.status_code == 206
    assert response.headers["content-type"].startswith("multipart/byteranges")
    assert response.content.count(b"Content-Range: bytes ") == 64


def test_garbage_if_range_sends_the_whole_file(filled):
    etag = filled.download().headers["etag"]
    for if_range in ["garbage", '"not-the-etag"', "W/" + etag, "Mon, 32 Foo 99999 99:99:99 GMT", '"']:
        response = filled.download({"Range": "bytes=0-9", "If-Range": if_range})
        assert response.status_code == 200, if_range
        assert response.content == DATA
    response = filled.download({"Range": "bytes=0-9", "If-Range": etag})
    assert response.status_code == 206 and response.content == DATA[:10]


# --- names and URIs -----------------------------------------------------------------------------
def test_bad_filename_parameter_is_rejected_and_changes_nothing(server, filled, before):
    for filename, status, fragment in [
        ("evil\r\nSet-Cookie: pwned=1", 400, "filename"),
        ("a\x00b.txt", 400, "filename"),
        ("tab\there", 400, "filename"),
        ("x" * 1025, 422, "query parameter 'filename'"),
    ]:
        assert_error(filled.upload(b"new bytes", filename=filename), status, fragment)
    before.assert_unchanged(server, filled)


def test_bad_uri_parameter_is_rejected(server, filled, before):
    cases = [
        ("http://example.org/a\x00b", 400, "not a valid IRI"),
        ("http://example.org/a\r\nb", 400, "not a valid IRI"),
        ("../../etc/passwd", 400, "not a valid IRI"),
        ("a b", 400, "not a valid IRI"),
        ("http://example.org/" + "x" * 4100, 422, "query parameter 'uri'"),
    ]
    for uri, status, fragment in cases:
        params = {"space_id": filled.space_id, "uri": uri}
        assert_error(filled.client.get("/api/files", params=params), status, fragment)
        assert_error(filled.client.get("/api/files/stream/download", params=params), status, fragment)
        assert_error(
            filled.client.post("/api/files/stream/upload", params=params, content=b"x"), status, fragment
        )
        assert_error(filled.client.delete("/api/files", params=params), status, fragment)
    before.assert_unchanged(server, filled)


HOSTILE_URIS = [
    "http://example.org/../../../../etc/passwd",
    "file:///etc/passwd",
    "http://example.org/%2e%2e/%2e%2e/x",
    "urn:x:..%5C..%5Cwindows",
    "http://example.org/ü/日本語/😀?q=..%2F#..",
]
BLOB_KEY = re.compile(r"spaces/[0-9a-f]{32}/[0-9a-f]{40}/[0-9a-f]{32}")


def test_hostile_uris_never_shape_a_blob_key(server, api, space):
    probe = blob_probe(server)
    before = set(probe.objects())
    for uri in HOSTILE_URIS:
        assert (
            api.post("/api/files", params={"space_id": space}, json=file_node_jsonld(uri)).status_code == 201
        )
        slot = FileSlot(space, uri, api)
        payload = uri.encode() * 3
        assert slot.upload(payload).status_code == 200, uri
        assert slot.download().content == payload
    added = set(probe.objects()) - before
    assert len(added) == len(HOSTILE_URIS)
    prefix = probe.prefix if probe.is_s3 else ""
    for key in added:  # hashes and a uuid only: nothing of the URI text, so nothing can climb out
        assert BLOB_KEY.fullmatch(key.removeprefix(prefix)), key
    if not probe.is_s3:
        root = probe.root.resolve()
        assert all((probe.root / key).resolve().is_relative_to(root) for key in added)


def test_crlf_in_a_stored_name_cannot_inject_a_header(server, api, space):
    uri = f"http://example.org/{space}/{uuid.uuid4().hex}"
    name = "evil\r\nSet-Cookie: pwned=1\r\nX-Injected: yes.txt"
    node = {"@id": uri, "@type": FILE_NODE, HAS_NAME: [{"@value": name}]}
    assert api.post("/api/files", params={"space_id": space}, json=node).status_code == 201
    slot = FileSlot(space, uri, api)
    assert slot.upload(b"payload").status_code == 200
    response = raw_request(server, "GET", "/api/files/stream/download", slot.params, {})
    assert response.status == 200 and response.body == b"payload"
    assert response.header("set-cookie") == [] and response.header("x-injected") == []
    [disposition] = response.header("content-disposition")
    assert disposition == 'attachment; filename="evilSet-Cookie: pwned=1X-Injected: yes.txt"'


@pytest.mark.parametrize(
    "stored, fallback, exact",
    [
        ("résumé 2026 – final.pdf", "r_sum_ 2026 _ final.pdf", "résumé 2026 – final.pdf"),
        ('say "hi" 100%.txt', "say _hi_ 100_.txt", 'say "hi" 100%.txt'),
        ("C:\\Users\\x\\evil.txt", "evil.txt", None),  # a backslash separates path components too
        ("../../secret/../x.txt", "x.txt", None),
        ("gpj\u202e.exe", "gpj.exe", None),
        ("日本語" * 40 + ".pdf", None, None),
    ],
)
def test_content_disposition_of_unicode_and_hostile_names(filled, stored, fallback, exact):
    assert filled.upload(b"bytes", filename=stored).status_code == 200
    [recorded] = filled.client.get("/api/files", params=filled.params).json()[HAS_FILE_NAME]
    assert recorded["@value"] == stored  # the metadata keeps the name as sent; only the header is made safe
    disposition = filled.download().headers["content-disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    plain = re.search(r'filename="([^"]*)"', disposition).group(1)
    assert plain.isascii()
    extended = re.search(r"filename\*=UTF-8''(\S+)", disposition)
    if fallback is not None:
        assert plain == fallback
    if exact is not None:
        assert unquote(extended.group(1)) == exact
    if fallback is None:  # over 255 UTF-8 bytes: cut on a character boundary, extension kept
        name = unquote(extended.group(1))
        assert name.endswith(".pdf") and len(name.encode()) <= 255 and name.startswith("日本語")


# --- JSON-LD bodies -----------------------------------------------------------------------------
BAD_BODIES = [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe\x00", "not valid JSON"),
    (b"", "not valid JSON"),
    (b'"text"', "must be an object or an array, got str"),
    (b"42", "must be an object or an array, got int"),
    (b"null", "must be an object or an array"),
    (b"{}", "without @id"),
    (b'{"@type": "http://vital.ai/ontology/vital#FileNode"}', "without @id"),
    (b'{"@id": 5}', "@id must be a string"),
    (b'{"@id": "http://example.org/x", "@type": 5}', "@type"),
    (b'{"@graph": 5}', "must be objects"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
]


def _kg_uri(kind: str) -> str:
    return f"http://example.org/{kind}/{uuid.uuid4().hex[:10]}"


@pytest.fixture
def json_routes(api, space, filled):
    """One stored object per JSON-LD route, and what GET returns for it now."""
    entity_uri, type_uri = _kg_uri("org"), _kg_uri("type")
    entity = {"@id": entity_uri, "@type": HALEY + "KGEntity", HAS_NAME: [{"@value": "Acme"}]}
    kgtype = {"@id": type_uri, "@type": HALEY + "KGType", HAS_NAME: [{"@value": "T"}]}
    for path, body in [("/api/graphs/kgentities", entity), ("/api/graphs/kgtypes", kgtype)]:
        assert api.post(path, params={"space_id": space}, json=body).status_code == 201
    routes = {"/api/files": filled.uri, "/api/graphs/kgentities": entity_uri, "/api/graphs/kgtypes": type_uri}
    return routes


def _state(api, space, routes) -> dict:
    return {
        path: (
            api.get(path, params={"space_id": space}).json(),
            api.get(path, params={"space_id": space, "uri": uri}).json(),
        )
        for path, uri in routes.items()
    }


def test_malformed_json_ld_is_400_on_every_route_and_changes_nothing(server, api, space, filled, json_routes):
    state, snapshot = _state(api, space, json_routes), Snapshot.take(server, filled)
    for path in json_routes:
        for body, fragment in BAD_BODIES:
            for method in ("POST", "PUT"):
                response = api.request(
                    method,
                    path,
                    params={"space_id": space},
                    content=body,
                    headers={"Content-Type": "application/ld+json"},
                )
                assert_error(response, 400, fragment)
    assert _state(api, space, json_routes) == state
    snapshot.assert_unchanged(server, filled)


def test_wrong_types_and_classes_are_400_and_change_nothing(server, api, space, filled, json_routes):
    state = _state(api, space, json_routes)
    entity_uri = json_routes["/api/graphs/kgentities"]
    wrong_literal = {"@id": filled.uri, "@type": FILE_NODE, HAS_NAME: [{"@value": 5}]}
    cases = [
        ("/api/files", "PUT", wrong_literal, "expected a string literal"),
        ("/api/files", "POST", {"@id": _kg_uri("f"), "@type": HALEY + "KGEntity"}, "not a FileNode"),
        ("/api/graphs/kgtypes", "POST", {"@id": _kg_uri("t"), "@type": FILE_NODE}, "KGType"),
        (
            "/api/graphs/kgentities",
            "PUT",
            {"@id": entity_uri, "@type": HALEY + "KGEntity", HAS_NAME: [{"@value": ["nested"]}]},
            entity_uri,
        ),
    ]
    for path, method, body, fragment in cases:
        assert_error(api.request(method, path, params={"space_id": space}, json=body), 400, fragment)
    assert _state(api, space, json_routes) == state


def test_json_body_over_the_cap_is_413(server, api, space, filled):
    snapshot = Snapshot.take(server, filled)
    cap = 32 * 1024 * 1024
    for path in ["/api/files", "/api/graphs/kgtypes", "/api/graphs/kgentities"]:  # declared: refused unread
        response = raw_request(
            server,
            "POST",
            path,
            {"space_id": space},
            {"Content-Type": "application/json", "Content-Length": str(cap + 1)},
            timeout=5,
        )
        assert response.status == 413, (path, response)
        assert "JSON body over" in response.body.decode()

    def undeclared():  # chunked: found out mid-stream
        for _ in range(33):
            yield b" " * (1024 * 1024)

    response = api.post("/api/files", params={"space_id": space}, content=undeclared())
    assert_error(response, 413, "JSON body over 33554432 bytes")
    snapshot.assert_unchanged(server, filled)


# --- spaces and URIs ----------------------------------------------------------------------------
def _space_requests(api, space_id: str, uri: str) -> list:
    params = {"space_id": space_id, "uri": uri}
    return [
        api.get("/api/files", params={"space_id": space_id}),
        api.post("/api/files", params={"space_id": space_id}, json=file_node_jsonld(uri)),
        api.post("/api/files/stream/upload", params=params, content=b"x"),
        api.get("/api/files/stream/download", params=params),
        api.get("/api/graphs/kgtypes", params={"space_id": space_id}),
        api.post(
            "/api/graphs/kgentities",
            params={"space_id": space_id},
            json={"@id": uri, "@type": HALEY + "KGEntity"},
        ),
    ]


def test_space_that_does_not_exist_is_404(server, api, filled):
    snapshot = Snapshot.take(server, filled)
    for response in _space_requests(api, "no-such-space-" + uuid.uuid4().hex[:8], filled.uri):
        assert_error(response, 404, "no-such-space-", "not found")
    snapshot.assert_unchanged(server, filled)


def test_malformed_space_id_is_400_naming_it(server, api, filled):
    snapshot = Snapshot.take(server, filled)
    for space_id in ["../x", "a b", "abc\n", "a\x00b", "-leading-dash", "ü"]:
        for response in _space_requests(api, space_id, filled.uri):
            assert_error(response, 400, "invalid space_id")
        assert_error(api.post("/api/spaces", json={"space_id": space_id}), 400, "invalid space_id")
    assert_error(api.get("/api/spaces/a%20b"), 400, "invalid space_id")
    for response in _space_requests(api, "s" * 129, filled.uri):
        assert_error(response, 422, "query parameter 'space_id'")
    listed = [s["space_id"] for s in api.get("/api/spaces").json()["spaces"]]
    assert not [s for s in listed if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", s)]
    snapshot.assert_unchanged(server, filled)


def test_unknown_uris_are_404_and_store_nothing(server, api, space, filled):
    snapshot = Snapshot.take(server, filled)
    ghost = f"http://example.org/{space}/ghost"
    params = {"space_id": space, "uri": ghost}
    for response in [
        api.get("/api/files", params=params),
        api.get("/api/files/stream/download", params=params),
        api.head("/api/files/stream/download", params=params),
        api.post("/api/files/stream/upload", params=params, content=b"never stored"),
        api.post("/api/files/upload", params=params, files={"file": ("a.bin", b"never stored")}),
        api.put("/api/files", params={"space_id": space}, json=file_node_jsonld(ghost)),
        api.delete("/api/files", params={"space_id": space, "uri_list": f"{filled.uri},{ghost}"}),
        api.get("/api/graphs/kgentities", params=params),
        api.get("/api/graphs/kgtypes", params=params),
    ]:
        assert response.status_code == 404, response.request.method
        if response.request.method != "HEAD":
            assert_error(response, 404, "not found")
    snapshot.assert_unchanged(server, filled)  # the partial delete deleted nothing


def test_too_many_uris_is_400_and_deletes_nothing(server, api, space, filled):
    snapshot = Snapshot.take(server, filled)
    uri_list = ",".join([filled.uri] + [f"http://example.org/{i}" for i in range(1000)])
    for method, path in [
        ("GET", "/api/files"),
        ("DELETE", "/api/files"),
        ("GET", "/api/graphs/kgentities"),
        ("DELETE", "/api/graphs/kgentities"),
        ("GET", "/api/graphs/kgtypes"),
    ]:
        response = api.request(method, path, params={"space_id": space, "uri_list": uri_list})
        assert_error(response, 400, "too many URIs", "1001 > 1000")
    snapshot.assert_unchanged(server, filled)


def test_malformed_username_is_400_and_creates_no_user(api):
    before = api.get("/api/users").json()
    for username in ["alice\n", "a b", "../root", "-dash"]:
        response = api.post(
            "/api/users", json={"username": username, "password": "long enough pw", "role": "reader"}
        )
        assert_error(response, 400, "invalid username")
    assert api.get("/api/users").json() == before
