"""GET /api/me: whose token this is (the web app shows admin screens to admins only)."""

from __future__ import annotations

import httpx

from tests.fixtures.servers import RunningServer


def test_me_names_the_user_the_role_and_the_kind_of_token(local_server: RunningServer) -> None:
    with local_server.client() as api:
        assert api.get("/api/me").json() == {"username": "admin", "role": "admin", "api_token": False}
        created = api.post("/api/tokens", json={"name": "me test"}).json()
    by_token = httpx.get(
        local_server.url + "/api/me", headers={"Authorization": f"Bearer {created['token']}"}
    )
    assert by_token.json() == {"username": "admin", "role": "admin", "api_token": True}


def test_me_needs_a_token(local_server: RunningServer) -> None:
    response = httpx.get(local_server.url + "/api/me")
    assert response.status_code == 401 and "bearer token" in response.json()["detail"]
