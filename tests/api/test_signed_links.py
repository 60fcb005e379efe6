"""Links the server signs itself (local store): a browser's download manager fetches and resumes them
without a token; a forged, expired or foreign link, a revoked grant or replaced content stops them."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tests.api.conftest import FileSlot, file_node_jsonld, make_space
from tests.fixtures.servers import RunningServer

DATA = bytes(range(256)) * 4096  # 1 MiB


@pytest.fixture
def local_slot(local_server: RunningServer) -> FileSlot:
    client = local_server.client()
    space = make_space(client)
    uri = f"http://example.org/{space}/f"
    assert (
        client.post("/api/files", params={"space_id": space}, json=file_node_jsonld(uri)).status_code == 201
    )
    slot = FileSlot(space, uri, client)
    assert slot.upload(DATA, content_type="application/pdf", filename="Q3 report é.pdf").status_code == 200
    return slot


def _link(slot: FileSlot, client: httpx.Client | None = None, expires: str = "300") -> str:
    response = (client or slot.client).get("/api/files/presigned", params={**slot.params, "expires": expires})
    assert response.status_code == 200, response.text
    return response.json()["url"]


def test_a_link_downloads_and_resumes_without_a_token(local_slot: FileSlot) -> None:
    url = _link(local_slot)
    whole = httpx.get(url)
    assert whole.status_code == 200 and whole.content == DATA
    assert whole.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''Q3%20report%20%C3%A9.pdf" in whole.headers["content-disposition"]
    etag = whole.headers["etag"]
    rest = httpx.get(url, headers={"Range": "bytes=1000-", "If-Range": etag})  # a download manager resuming
    assert rest.status_code == 206 and rest.content == DATA[1000:]
    assert httpx.head(url).headers["content-length"] == str(len(DATA))


@pytest.mark.parametrize(
    "mangle",
    [lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), lambda t: "x" + t, lambda t: "not-a-jwt"],
)
def test_a_forged_link_is_403(local_slot: FileSlot, mangle) -> None:
    url = _link(local_slot)
    base, token = url.split("token=")
    response = httpx.get(base + "token=" + mangle(token))
    assert response.status_code == 403
    assert "invalid download link" in response.json()["detail"]


def test_an_access_token_is_not_a_link(local_slot: FileSlot, local_server: RunningServer) -> None:
    response = httpx.get(local_server.url + "/api/files/signed", params={"token": local_server.token()})
    assert response.status_code == 403


def test_a_link_without_token_names_the_parameter(local_server: RunningServer) -> None:
    response = httpx.get(local_server.url + "/api/files/signed")
    assert response.status_code == 422 and "token" in response.text


def test_an_expired_link_is_410(local_slot: FileSlot) -> None:
    url = _link(local_slot, expires="1")
    deadline = time.monotonic() + 10
    while (response := httpx.get(url)).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.25)
    assert response.status_code == 410
    assert "expired" in response.json()["detail"]


def test_replaced_content_ends_the_link(local_slot: FileSlot) -> None:
    url = _link(local_slot)
    assert local_slot.upload(b"new content").status_code == 200
    response = httpx.get(url)
    assert response.status_code == 410 and "changed" in response.json()["detail"]
    assert httpx.get(_link(local_slot)).content == b"new content"  # a new link works


def test_a_deleted_file_is_404(local_slot: FileSlot) -> None:
    url = _link(local_slot)
    assert local_slot.client.delete("/api/files", params=local_slot.params).status_code == 200
    assert httpx.get(url).status_code == 404


def test_a_revoked_grant_ends_the_users_links(local_slot: FileSlot, local_server: RunningServer) -> None:
    admin = local_slot.client
    username = f"reader{uuid.uuid4().hex[:8]}"
    password = "long-enough-secret-42"
    assert (
        admin.post(
            "/api/users", json={"username": username, "password": password, "role": "reader"}
        ).status_code
        == 201
    )
    grant = f"/api/spaces/{local_slot.space_id}/grants/{username}"
    assert admin.put(grant, json={"level": "read"}).status_code == 200
    tokens = httpx.post(
        local_server.url + "/api/login", data={"username": username, "password": password}
    ).json()
    with httpx.Client(
        base_url=local_server.url, headers={"Authorization": f"Bearer {tokens['access_token']}"}
    ) as reader:
        url = _link(local_slot, reader)
    assert httpx.get(url).content == DATA
    assert admin.delete(grant).status_code == 200
    refused = httpx.get(url)
    assert refused.status_code == 403 and username in refused.json()["detail"]
    assert admin.delete(f"/api/users/{username}").status_code == 200
    assert httpx.get(url).status_code == 403  # the user is gone: still refused, in words


def test_a_user_without_read_cannot_get_a_link(local_slot: FileSlot, local_server: RunningServer) -> None:
    admin = local_slot.client
    username = f"stranger{uuid.uuid4().hex[:8]}"
    password = "long-enough-secret-42"
    assert (
        admin.post(
            "/api/users", json={"username": username, "password": password, "role": "reader"}
        ).status_code
        == 201
    )
    tokens = httpx.post(
        local_server.url + "/api/login", data={"username": username, "password": password}
    ).json()
    response = httpx.get(
        local_server.url + "/api/files/presigned",
        params=local_slot.params,
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert response.status_code == 403
