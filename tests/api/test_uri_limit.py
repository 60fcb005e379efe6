"""One URI length limit, equal to what the routes can address (issue 12, finding 9).

A URI of MAX_URI_LENGTH characters, each of which takes 4 UTF-8 bytes (12 bytes percent-encoded,
the worst case for a request line), is created and then reached through every route that names a
URI. One character more is refused at creation (400, the limit named) on every creating path,
and nothing is stored.
"""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.api.conftest import FILE_NODE
from vitalgraph.model import MAX_URI_LENGTH, uri_length

KGENTITY = "http://vital.ai/ontology/haley-ai-kg#KGEntity"
KGTYPE = "http://vital.ai/ontology/haley-ai-kg#KGType"
TUS = {"Tus-Resumable": "1.0.0"}


def longest_uri(tag: str, length: int = MAX_URI_LENGTH) -> str:
    """A URI of `length` UTF-8 bytes, nearly all in 4-byte characters (12 bytes each percent-encoded)."""
    prefix = f"http://example.org/{tag}/"
    wide, rest = divmod(length - len(prefix), 4)
    uri = prefix + "x" * rest + "\U0001d4b3" * wide  # MATHEMATICAL SCRIPT CAPITAL X
    assert uri_length(uri) == length
    return uri


def tus_metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def test_the_longest_uri_is_reachable_through_every_route(api, space, server) -> None:
    file_uri, entity_uri, type_uri = longest_uri("file"), longest_uri("entity"), longest_uri("type")
    files = {"space_id": space, "uri": file_uri}

    node = {"@id": file_uri, "@type": FILE_NODE}
    assert api.post("/api/files", params={"space_id": space}, json=node).status_code == 201
    assert api.put("/api/files", params={"space_id": space}, json=node).status_code == 200
    assert api.get("/api/files", params=files).json()["@id"] == file_uri
    listed = api.get("/api/files", params={"space_id": space, "uri_list": file_uri}).json()
    assert [o["@id"] for o in listed["@graph"]] == [file_uri]

    upload = api.post("/api/files/stream/upload", params=files, content=b"stream")
    assert upload.status_code == 200, upload.text
    assert api.put("/api/files/stream/upload", params=files, content=b"put").status_code == 200
    assert api.get("/api/files/stream/download", params=files).content == b"put"
    assert api.head("/api/files/stream/download", params=files).headers["content-length"] == "3"
    legacy = api.post("/api/files/upload", params=files, files={"file": ("a.bin", b"legacy")})
    assert legacy.status_code == 200, legacy.text
    assert api.get("/api/files/download", params=files).content == b"legacy"
    older = {"space_id": space, "file_uri": file_uri}
    assert api.get("/api/files/download", params=older).content == b"legacy"
    presigned = api.get("/api/files/presigned", params=files)  # S3 presigns; the local store signs its own
    assert presigned.status_code == 200, presigned.text
    link = httpx.URL(server.url).join(presigned.json()["url"])
    fetched = httpx.get(link, timeout=60)  # the link needs no token
    assert fetched.content == b"legacy", fetched.text

    created = api.post(
        "/api/files/tus/",
        headers={
            **TUS,
            "Upload-Length": "3",
            "Upload-Metadata": tus_metadata(space_id=space, file_uri=file_uri),
        },
    )
    assert created.status_code == 201, created.text
    patched = api.patch(
        created.headers["location"],
        content=b"tus",
        headers={**TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
    )
    assert patched.status_code == 204, patched.text
    assert api.get("/api/files/stream/download", params=files).content == b"tus"

    entity = {"@id": entity_uri, "@type": KGENTITY}
    assert api.post("/api/graphs/kgentities", params={"space_id": space}, json=entity).status_code == 201
    entities = {"space_id": space, "uri": entity_uri}
    assert api.get("/api/graphs/kgentities", params=entities).json()["@id"] == entity_uri
    link = {"space_id": space, "entity_uri": entity_uri, "file_uri": file_uri}
    assert api.post("/api/graphs/kgentities/files", params=link).status_code == 201
    attached = api.get("/api/graphs/kgentities/files", params={"space_id": space, "entity_uri": entity_uri})
    assert attached.json()["file_uris"] == [file_uri]
    assert api.delete("/api/graphs/kgentities/files", params=link).status_code == 200
    assert api.delete("/api/graphs/kgentities", params=entities).status_code == 200

    kgtype = {"@id": type_uri, "@type": KGTYPE}
    assert api.post("/api/graphs/kgtypes", params={"space_id": space}, json=kgtype).status_code == 201
    types = {"space_id": space, "uri": type_uri}
    assert api.get("/api/graphs/kgtypes", params=types).json()["@id"] == type_uri
    assert api.delete("/api/graphs/kgtypes", params=types).status_code == 200

    assert api.delete("/api/files", params=files).status_code == 200


@pytest.mark.parametrize(
    "path, document",
    [
        ("/api/files", {"@id": longest_uri("f", MAX_URI_LENGTH + 1), "@type": FILE_NODE}),
        ("/api/graphs/kgentities", {"@id": longest_uri("e", MAX_URI_LENGTH + 1), "@type": KGENTITY}),
        ("/api/graphs/kgtypes", {"@id": longest_uri("t", MAX_URI_LENGTH + 1), "@type": KGTYPE}),
        (  # a URI value too long to name in any route is refused as well
            "/api/graphs/kgentities",
            {
                "@id": "http://example.org/e/ok",
                "@type": KGENTITY,
                "http://example.org/link": {"@id": longest_uri("v", MAX_URI_LENGTH + 1)},
            },
        ),
        ("/api/files", {"@id": "http://example.org/" + "x" * 100_000, "@type": FILE_NODE}),
    ],
)
def test_a_uri_over_the_limit_is_refused_at_creation(api, space, path: str, document: dict) -> None:
    response = api.post(path, params={"space_id": space}, json=document)
    assert response.status_code == 400, response.text[:300]
    detail = response.json()["detail"]
    assert f"the limit is {MAX_URI_LENGTH} (MAX_URI_LENGTH)" in detail
    listed = api.get(path, params={"space_id": space}).json()
    assert listed["total_count"] == 0


def test_a_tus_upload_for_a_uri_over_the_limit_is_refused(api, space) -> None:
    metadata = tus_metadata(space_id=space, file_uri=longest_uri("tus", MAX_URI_LENGTH + 1))
    response = api.post("/api/files/tus/", headers={**TUS, "Upload-Length": "3", "Upload-Metadata": metadata})
    assert response.status_code == 400, response.text[:300]
    assert f"the limit is {MAX_URI_LENGTH} (MAX_URI_LENGTH)" in response.json()["detail"]
