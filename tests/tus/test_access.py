"""tus uploads obey the per-space grants like every other write: creation and every later step."""

from __future__ import annotations

import uuid

import httpx

from tests.tus.conftest import TUS, Target


def _user(admin: httpx.Client, server_url: str, role: str) -> httpx.Client:
    username, password = f"tus-{uuid.uuid4().hex[:10]}", "a long enough password 123"
    response = admin.post("/api/users", json={"username": username, "password": password, "role": role})
    assert response.status_code == 201, response.text
    login = httpx.post(f"{server_url}/api/login", data={"username": username, "password": password})
    assert login.status_code == 200, login.text
    client = httpx.Client(
        base_url=server_url, headers={"Authorization": f"Bearer {login.json()['access_token']}"}
    )
    client.username = username  # type: ignore[attr-defined]
    return client


def _grants(admin: httpx.Client, target: Target, username: str) -> str:
    return f"/api/spaces/{target.space_id}/grants/{username}"


def test_tus_needs_write_access_to_the_space_at_every_step(target: Target):
    admin, url = target.client, target.server.url
    with _user(admin, url, "writer") as writer:
        as_writer = Target(target.server, writer, target.space_id, target.uri)
        refused = as_writer.create(10)
        assert refused.status_code == 403, refused.text
        assert f"on space {target.space_id!r}" in refused.json()["detail"]

        assert admin.put(_grants(admin, target, writer.username), json={"level": "read"}).status_code == 200
        assert as_writer.create(10).status_code == 403  # read is not enough to upload

        assert admin.put(_grants(admin, target, writer.username), json={"level": "write"}).status_code == 200
        upload_url = as_writer.new_upload(10)
        assert as_writer.patch(upload_url, 0, b"01234").status_code == 204

        # A grant revoked mid-upload stops it; nothing reaches the file node.
        assert admin.delete(_grants(admin, target, writer.username)).status_code == 200
        stopped = as_writer.patch(upload_url, 5, b"56789")
        assert stopped.status_code == 403, stopped.text
        assert writer.head(upload_url, headers=TUS).status_code == 403
        assert writer.delete(upload_url, headers=TUS).status_code == 403
        assert "hasFileSHA256" not in str(target.node())
        assert target.download().status_code == 404


def test_tus_without_a_token_is_401_before_protocol_checks(target: Target):
    response = httpx.post(f"{target.server.url}/api/files/tus/")  # no token and no Tus-Resumable
    assert response.status_code == 401, response.text
