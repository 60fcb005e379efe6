"""RFC 9530 digest fields: downloads state the file's SHA-256 (Repr-Digest, and Content-Digest when the
whole file is sent); uploads that state one are checked before the file changes, on both stores."""

from __future__ import annotations

import base64
import hashlib
import os
import uuid

import httpx
import pytest

from tests.faults.backends import backend, shared_server  # noqa: F401  (local and S3)
from vitalgraph.client._transfer import content_info
from vitalgraph.client.errors import ChecksumMismatchError

CLASS = "http://vital.ai/ontology/vital#FileNode"


def field(data: bytes) -> str:
    return f"sha-256=:{base64.b64encode(hashlib.sha256(data).digest()).decode()}:"


@pytest.fixture
def slot(shared_server, backend):  # noqa: F811
    """A space of its own on the module's server for this blob store."""
    shared = shared_server(backend)
    server, store = shared.server, shared.store
    space, uri = f"d-{uuid.uuid4().hex[:6]}", "http://example.org/digest"
    api = server.client()
    api.post("/api/spaces", json={"space_id": space}).raise_for_status()
    api.post("/api/files", params={"space_id": space}, json={"@id": uri, "@type": CLASS}).raise_for_status()
    yield server, api, {"space_id": space, "uri": uri}, store
    api.close()


def test_downloads_state_the_digest(slot):
    _, api, params, _ = slot
    data = os.urandom(200_000)
    api.put("/api/files/stream/upload", params=params, content=data).raise_for_status()
    whole = api.get("/api/files/stream/download", params=params)
    assert whole.headers["repr-digest"] == field(data) == whole.headers["content-digest"]
    part = api.get("/api/files/stream/download", params=params, headers={"Range": "bytes=10-99"})
    assert part.status_code == 206
    assert part.headers["repr-digest"] == field(data)  # still the whole file's
    assert "content-digest" not in part.headers  # the content is a part: no claim about it
    head = api.head("/api/files/stream/download", params=params)
    assert head.headers["repr-digest"] == field(data)
    unwanted = api.get(
        "/api/files/stream/download", params=params, headers={"Want-Repr-Digest": "sha-256=0, sha-512=5"}
    )
    assert "repr-digest" not in unwanted.headers
    liked = api.get("/api/files/stream/download", params=params, headers={"Want-Repr-Digest": "sha-512=9"})
    assert liked.headers["repr-digest"] == field(data)  # the only one we have, and allowed to send


@pytest.mark.parametrize("header", ["Content-Digest", "Repr-Digest"])
def test_an_upload_with_a_wrong_digest_is_refused_and_the_old_content_stays(slot, header):
    _, api, params, store = slot
    old, new = b"old content", os.urandom(300_000)
    api.put(
        "/api/files/stream/upload", params=params, content=old, headers={header: field(old)}
    ).raise_for_status()
    blobs_before = sorted(store.staging())
    refused = api.put(
        "/api/files/stream/upload", params=params, content=new, headers={header: field(b"something else")}
    )
    assert refused.status_code == 400
    detail = refused.json()["detail"]
    assert field(b"something else").split("=", 1)[1] in detail and field(new).split("=", 1)[1] in detail
    assert api.get("/api/files/stream/download", params=params).content == old
    assert sorted(store.staging()) == blobs_before
    assert api.get("/api/admin/verify", params={"orphan_min_age_seconds": 0}).json()["orphaned"] == []


@pytest.mark.parametrize(
    "headers, status",
    [
        ({"Content-Digest": "sha-256=:not-base64!:"}, 400),
        ({"Content-Digest": "sha-256=:" + base64.b64encode(b"short").decode() + ":"}, 400),
        ({"Content-Digest": "sha-256"}, 400),
        ({"Repr-Digest": "md5=:AAAAAAAAAAAAAAAAAAAAAA==:"}, 200),  # only algorithms we do not know: ignored
        ({"Content-Digest": field(b"a"), "Repr-Digest": field(b"b")}, 400),  # they disagree
    ],
)
def test_digest_fields_that_cannot_be_used(slot, headers, status):
    _, api, params, _ = slot
    response = api.put("/api/files/stream/upload", params=params, content=b"a", headers=headers)
    assert response.status_code == status, response.text
    if status == 400:
        assert "Digest" in response.json()["detail"] or "digest" in response.json()["detail"]


def test_multipart_uploads_take_the_files_digest_as_repr_digest(slot):
    _, api, params, _ = slot
    data = b"form file bytes"
    files = {"file": ("f.txt", data, "text/plain")}
    good = api.post("/api/files/upload", params=params, files=files, headers={"Repr-Digest": field(data)})
    assert good.status_code == 200, good.text
    bad = api.post("/api/files/upload", params=params, files=files, headers={"Repr-Digest": field(b"x")})
    assert bad.status_code == 400
    form = api.post("/api/files/upload", params=params, files=files, headers={"Content-Digest": field(data)})
    assert form.status_code == 400 and "Repr-Digest" in form.json()["detail"]


def test_clients_send_a_known_digest_and_check_the_servers(slot):
    from vitalgraph.client import InvalidRequestError, VitalGraphClient

    server, api, params, _ = slot
    data = os.urandom(50_000)
    with VitalGraphClient(server.url, username="admin", password="test-admin-password") as client:
        done = client.files.upload_file_stream(
            params["space_id"], None, params["uri"], data, sha256=hashlib.sha256(data).hexdigest()
        )
        assert done.sha256 == hashlib.sha256(data).hexdigest()
        with pytest.raises(InvalidRequestError, match="digest mismatch"):
            client.files.upload_file_stream(
                params["space_id"], None, params["uri"], b"other", sha256="0" * 64
            )
        assert client.files.download_file_content(params["space_id"], None, params["uri"]) == data


def test_the_client_refuses_a_download_whose_digest_and_etag_disagree():
    headers = httpx.Headers(
        {"etag": f'"{hashlib.sha256(b"a").hexdigest()}"', "repr-digest": field(b"b"), "content-length": "1"}
    )
    with pytest.raises(ChecksumMismatchError):
        content_info("http://example.org/x", headers)
    agreed = httpx.Headers({"repr-digest": field(b"b"), "content-length": "1"})
    assert content_info("http://example.org/x", agreed).sha256 == hashlib.sha256(b"b").hexdigest()
