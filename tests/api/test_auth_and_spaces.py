import httpx

from tests.fixtures.servers import ADMIN_PASSWORD


def test_routes_need_a_bearer_token(server):
    for method, path in [
        ("GET", "/api/spaces"),
        ("GET", "/api/files?space_id=x"),
        ("POST", "/api/files/stream/upload?space_id=x&uri=u"),
    ]:
        response = httpx.request(method, server.url + path)
        assert response.status_code == 401, (method, path)
        assert "bearer token" in response.json()["detail"]
        assert response.headers["www-authenticate"] == "Bearer"


def test_a_forged_token_is_refused(server):
    response = httpx.get(server.url + "/api/spaces", headers={"Authorization": "Bearer not.a.jwt"})
    assert response.status_code == 401
    assert response.json()["detail"] == "invalid access token"


def test_login_with_wrong_password_is_401(server):
    response = httpx.post(server.url + "/api/login", data={"username": "admin", "password": "nope"})
    assert response.status_code == 401
    assert response.json()["detail"] == "wrong username or password"


def test_login_and_refresh(server):
    tokens = httpx.post(
        server.url + "/api/login", data={"username": "admin", "password": ADMIN_PASSWORD}
    ).json()
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] > 0
    refreshed = httpx.post(server.url + "/api/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200
    new_access = refreshed.json()["access_token"]
    assert (
        httpx.get(server.url + "/api/spaces", headers={"Authorization": f"Bearer {new_access}"}).status_code
        == 200
    )
    # An access token is not a refresh token, and vice versa.
    wrong = httpx.post(server.url + "/api/refresh", json={"refresh_token": tokens["access_token"]})
    assert wrong.status_code == 401
    as_access = httpx.get(
        server.url + "/api/spaces", headers={"Authorization": f"Bearer {tokens['refresh_token']}"}
    )
    assert as_access.status_code == 401


def test_space_lifecycle(api):
    created = api.post("/api/spaces", json={"space_id": "lifecycle-1", "space_name": "Life"})
    assert created.status_code == 201
    assert created.json()["space_name"] == "Life"
    try:
        duplicate = api.post("/api/spaces", json={"space_id": "lifecycle-1"})
        assert duplicate.status_code == 409
        assert "already exists" in duplicate.json()["detail"]
        assert api.get("/api/spaces/lifecycle-1").json()["space_id"] == "lifecycle-1"
        assert "lifecycle-1" in [s["space_id"] for s in api.get("/api/spaces").json()["spaces"]]
    finally:
        assert api.delete("/api/spaces/lifecycle-1").status_code == 200
    missing = api.get("/api/spaces/lifecycle-1")
    assert missing.status_code == 404
    assert "lifecycle-1" in missing.json()["detail"]
    assert api.delete("/api/spaces/lifecycle-1").status_code == 404


def test_bad_space_ids_are_refused(api):
    for bad in ["../etc", "a b", "-leading", "x" * 200]:
        response = api.post("/api/spaces", json={"space_id": bad})
        assert response.status_code in (400, 422), bad
        assert "space_id" in response.json()["detail"]


def test_repeated_failed_logins_are_throttled(server_factory):
    """End to end, with a window far longer than the test: however slowly the argon2 checks run on a
    loaded machine, the failures stay inside it. When they leave the window again is a matter of the
    clock, checked with an explicit one in tests/unit/test_login_throttle.py."""
    window = 600
    server = server_factory(
        {"VITALGRAPH_LOGIN_MAX_FAILURES": "3", "VITALGRAPH_LOGIN_FAILURE_WINDOW_SECONDS": str(window)},
        name="throttled",
    )
    token = server.token()  # a session from before the attack keeps working throughout

    def login(password: str, username: str = "admin") -> httpx.Response:
        return httpx.post(server.url + "/api/login", data={"username": username, "password": password})

    assert [login("guess").status_code for _ in range(3)] == [401, 401, 401]
    refused = login(ADMIN_PASSWORD)  # even the right password waits: it is not even checked
    assert refused.status_code == 429
    assert "too many failed logins as 'admin' from 127.0.0.1" in refused.json()["detail"]
    assert 1 <= int(refused.headers["retry-after"]) <= window
    assert login("guess", username="someone-else").status_code == 401  # other accounts are not held back
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(server.url + "/api/spaces", headers=headers).status_code == 200
