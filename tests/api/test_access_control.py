"""Access control over HTTP: roles x operations, grants, API tokens, refresh rotation, logout, and
bad input for every admin route. The whole module runs on a local-blob server and an S3 (SeaweedFS)
server: "done when" of issue 6 wants access control proven on both blob stores.

Every refused write is followed by a check that the space's data is exactly as before.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.api.conftest import file_node_jsonld
from tests.fixtures.seaweedfs import seaweedfs  # noqa: F401  (the S3 server, for the s3 parameter)
from tests.fixtures.servers import ADMIN_PASSWORD, RunningServer

HALEY = "http://vital.ai/ontology/haley-ai-kg#"
HAS_NAME = "http://vital.ai/ontology/vital-core#hasName"
PASSWORD = "correct-horse-battery-staple"
CONTENT = b"%PDF-1.7 the original bytes\n" * 100


@pytest.fixture(scope="module", params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def server(request: pytest.FixtureRequest, server_factory) -> RunningServer:
    """Overrides the conftest's `server`: a fresh server per blob store, local to this module."""
    env = {"VITALGRAPH_GC_INTERVAL_SECONDS": "0"}
    if request.param == "s3":
        seaweed = request.getfixturevalue("seaweedfs")
        settings = seaweed.settings(prefix=f"acl-{uuid.uuid4().hex[:8]}")
        env.update(
            {
                f"VITALGRAPH_{name}": str(value).lower() if isinstance(value, bool) else str(value)
                for name, value in settings.items()
            }
        )
    return server_factory(env, name=f"acl-{request.param}-{uuid.uuid4().hex[:6]}")


# --- helpers ----------------------------------------------------------------------------------------
def login(server: RunningServer, username: str, password: str = PASSWORD) -> dict:
    response = httpx.post(f"{server.url}/api/login", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


def client_for(server: RunningServer, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def new_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_user(admin: httpx.Client, role: str, username: str | None = None) -> str:
    username = username or new_name(role)
    response = admin.post("/api/users", json={"username": username, "password": PASSWORD, "role": role})
    assert response.status_code == 201, response.text
    return username


def grant(admin: httpx.Client, space: str, username: str, level: str) -> None:
    response = admin.put(f"/api/spaces/{space}/grants/{username}", json={"level": level})
    assert response.status_code == 200, response.text


def assert_error(response: httpx.Response, status: int, *fragments: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    detail = response.json()["detail"]
    for fragment in fragments:
        assert fragment in detail, (fragment, detail)


def entity(uri: str, name: str) -> dict:
    return {"@id": uri, "@type": HALEY + "KGEntity", HAS_NAME: [{"@value": name}]}


def kg_type(uri: str, name: str) -> dict:
    return {"@id": uri, "@type": HALEY + "KGType", HAS_NAME: [{"@value": name}]}


@dataclass
class Fixture:
    """A space owned by the admin with a file (with bytes), an entity (with that file attached) and a type."""

    space: str
    file_uri: str
    entity_uri: str
    type_uri: str


@pytest.fixture(scope="module")
def admin(server: RunningServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@pytest.fixture(scope="module")
def world(admin: httpx.Client) -> Fixture:
    space = new_name("acl-space")
    assert admin.post("/api/spaces", json={"space_id": space}).status_code == 201
    file_uri, entity_uri, type_uri = (f"http://example.org/{space}/{k}" for k in ("file", "entity", "type"))
    assert (
        admin.post("/api/files", params={"space_id": space}, json=file_node_jsonld(file_uri)).status_code
        == 201
    )
    uploaded = admin.post(
        "/api/files/stream/upload", params={"space_id": space, "uri": file_uri}, content=CONTENT
    )
    assert uploaded.status_code == 200, uploaded.text
    assert (
        admin.post(
            "/api/graphs/kgentities", params={"space_id": space}, json=entity(entity_uri, "E")
        ).status_code
        == 201
    )
    assert (
        admin.post("/api/graphs/kgtypes", params={"space_id": space}, json=kg_type(type_uri, "T")).status_code
        == 201
    )
    attached = admin.post(
        "/api/graphs/kgentities/files",
        params={"space_id": space, "entity_uri": entity_uri, "file_uri": file_uri},
    )
    assert attached.status_code == 201, attached.text
    return Fixture(space, file_uri, entity_uri, type_uri)


@dataclass
class Users:
    reader: str
    writer: str
    reader_without_grant: str
    writer_without_grant: str


@pytest.fixture(scope="module")
def users(admin: httpx.Client, world: Fixture) -> Users:
    made = Users(*(create_user(admin, role) for role in ("reader", "writer", "reader", "writer")))
    grant(admin, world.space, made.reader, "read")
    grant(admin, world.space, made.writer, "write")
    return made


@pytest.fixture(scope="module")
def as_user(server: RunningServer, users: Users) -> Iterator:
    clients: dict[str, httpx.Client] = {}

    def get(username: str) -> httpx.Client:
        if username not in clients:
            clients[username] = client_for(server, login(server, username)["access_token"])
        return clients[username]

    yield get
    for client in clients.values():
        client.close()


def snapshot(admin: httpx.Client, world: Fixture) -> dict:
    """Everything a write could change in the space, as the admin sees it."""
    params = {"space_id": world.space}
    download = admin.get("/api/files/stream/download", params={**params, "uri": world.file_uri})
    return {
        "space": admin.get(f"/api/spaces/{world.space}").json(),
        "files": admin.get("/api/files", params=params).json(),
        "content_sha256": hashlib.sha256(download.content).hexdigest()
        if download.status_code == 200
        else None,
        "types": admin.get("/api/graphs/kgtypes", params=params).json(),
        "entities": admin.get("/api/graphs/kgentities", params=params).json(),
        "attached": admin.get(
            "/api/graphs/kgentities/files", params={**params, "entity_uri": world.entity_uri}
        ).json()["file_uris"],
    }


# --- the operations, by the permission they need ------------------------------------------------------
def read_operations(w: Fixture) -> dict[str, tuple]:
    s = {"space_id": w.space}
    return {
        "get space": ("GET", f"/api/spaces/{w.space}", {}, {}),
        "list files": ("GET", "/api/files", s, {}),
        "get file node": ("GET", "/api/files", {**s, "uri": w.file_uri}, {}),
        "stream download": ("GET", "/api/files/stream/download", {**s, "uri": w.file_uri}, {}),
        "stream download HEAD": ("HEAD", "/api/files/stream/download", {**s, "uri": w.file_uri}, {}),
        "ranged download": (
            "GET",
            "/api/files/stream/download",
            {**s, "uri": w.file_uri},
            {"headers": {"Range": "bytes=0-9"}},
        ),
        "legacy download": ("GET", "/api/files/download", {**s, "uri": w.file_uri}, {}),
        "list kgtypes": ("GET", "/api/graphs/kgtypes", s, {}),
        "list kgentities": ("GET", "/api/graphs/kgentities", s, {}),
        "entity with attachments": (
            "GET",
            "/api/graphs/kgentities",
            {**s, "uri": w.entity_uri, "include_attachments": "true"},
            {},
        ),
        "attached files": ("GET", "/api/graphs/kgentities/files", {**s, "entity_uri": w.entity_uri}, {}),
        "sparql": (
            "POST",
            f"/api/graphs/sparql/{w.space}/query",
            {},
            {
                "content": "SELECT * WHERE { ?s ?p ?o } LIMIT 1",
                "headers": {"Content-Type": "application/sparql-query"},
            },
        ),
    }


def write_operations(w: Fixture) -> dict[str, tuple]:
    s = {"space_id": w.space}
    new_file = f"http://example.org/{w.space}/intruder-file"
    multipart = {"files": {"file": ("x.bin", b"intruder bytes", "application/octet-stream")}}
    return {
        "create file node": ("POST", "/api/files", s, {"json": file_node_jsonld(new_file)}),
        "update file node": ("PUT", "/api/files", s, {"json": file_node_jsonld(w.file_uri, "renamed.pdf")}),
        "delete file node": ("DELETE", "/api/files", {**s, "uri": w.file_uri}, {}),
        "stream upload": (
            "POST",
            "/api/files/stream/upload",
            {**s, "uri": w.file_uri},
            {"content": b"intruder"},
        ),
        "stream upload PUT": (
            "PUT",
            "/api/files/stream/upload",
            {**s, "uri": w.file_uri},
            {"content": b"intruder"},
        ),
        "multipart stream upload": ("POST", "/api/files/stream/upload", {**s, "uri": w.file_uri}, multipart),
        "legacy upload": ("POST", "/api/files/upload", {**s, "uri": w.file_uri}, multipart),
        "create kgtype": ("POST", "/api/graphs/kgtypes", s, {"json": kg_type(new_file + "-type", "X")}),
        "update kgtype": ("PUT", "/api/graphs/kgtypes", s, {"json": kg_type(w.type_uri, "changed")}),
        "delete kgtype": ("DELETE", "/api/graphs/kgtypes", {**s, "uri": w.type_uri}, {}),
        "create kgentity": ("POST", "/api/graphs/kgentities", s, {"json": entity(new_file + "-entity", "X")}),
        "update kgentity": ("PUT", "/api/graphs/kgentities", s, {"json": entity(w.entity_uri, "changed")}),
        "delete kgentity": (
            "DELETE",
            "/api/graphs/kgentities",
            {**s, "uri": w.entity_uri, "delete_attachments": "true"},
            {},
        ),
        "detach file": (
            "DELETE",
            "/api/graphs/kgentities/files",
            {**s, "entity_uri": w.entity_uri, "file_uri": w.file_uri},
            {},
        ),
        "attach file": (
            "POST",
            "/api/graphs/kgentities/files",
            {**s, "entity_uri": w.entity_uri, "file_uri": w.file_uri},
            {},
        ),
    }


def send(client: httpx.Client, operation: tuple) -> httpx.Response:
    method, path, params, extra = operation
    return client.request(method, path, params=params, **extra)


def test_readers_and_writers_read_granted_spaces(world, users, as_user):
    for username in (users.reader, users.writer):
        client = as_user(username)
        for name, operation in read_operations(world).items():
            response = send(client, operation)
            assert response.status_code in (200, 206), (username, name, response.status_code, response.text)
    assert send(as_user(users.reader), read_operations(world)["stream download"]).content == CONTENT


@pytest.mark.parametrize("who", ["reader", "reader_without_grant", "writer_without_grant"])
def test_writes_without_write_permission_are_refused_and_change_nothing(admin, world, users, as_user, who):
    client = as_user(getattr(users, who))
    before = snapshot(admin, world)
    held = "you have 'read'" if who == "reader" else "you have no grant on it"
    for name, operation in write_operations(world).items():
        response = send(client, operation)
        assert_error(response, 403, f"needs 'write' permission on space {world.space!r}", held)
        assert snapshot(admin, world) == before, name


@pytest.mark.parametrize("who", ["reader_without_grant", "writer_without_grant"])
def test_reads_without_a_grant_are_refused(world, users, as_user, who):
    client = as_user(getattr(users, who))
    for name, operation in read_operations(world).items():
        response = send(client, operation)
        assert response.status_code == 403, (name, response.status_code)
        if operation[0] != "HEAD":
            assert_error(response, 403, f"needs 'read' permission on space {world.space!r}")


def test_a_space_without_a_grant_does_not_leak_whether_it_exists(world, users, as_user):
    client = as_user(users.writer_without_grant)
    existing = client.get(f"/api/spaces/{world.space}")
    missing = client.get("/api/spaces/no-such-space-here")
    assert existing.status_code == missing.status_code == 403
    assert existing.json()["detail"].replace(world.space, "X") == missing.json()["detail"].replace(
        "no-such-space-here", "X"
    )
    files = client.get("/api/files", params={"space_id": "no-such-space-here"})
    assert_error(files, 403, "needs 'read' permission on space 'no-such-space-here'")


def test_only_managers_delete_a_space(admin, world, users, as_user):
    before = snapshot(admin, world)
    for username in (users.reader, users.writer, users.writer_without_grant):
        response = as_user(username).delete(f"/api/spaces/{world.space}")
        assert_error(response, 403, f"needs 'manage' permission on space {world.space!r}")
    assert snapshot(admin, world) == before


def test_a_writer_writes_in_a_granted_space(world, users, as_user, admin):
    client = as_user(users.writer)
    uri = f"http://example.org/{world.space}/writer-file-{uuid.uuid4().hex[:6]}"
    assert (
        client.post("/api/files", params={"space_id": world.space}, json=file_node_jsonld(uri)).status_code
        == 201
    )
    up = client.put(
        "/api/files/stream/upload", params={"space_id": world.space, "uri": uri}, content=b"by the writer"
    )
    assert up.status_code == 200, up.text
    assert (
        admin.get("/api/files/stream/download", params={"space_id": world.space, "uri": uri}).content
        == b"by the writer"
    )
    assert client.delete("/api/files", params={"space_id": world.space, "uri": uri}).status_code == 200


def test_space_listing_shows_only_granted_spaces(admin, world, users, as_user):
    other = new_name("acl-other")
    assert admin.post("/api/spaces", json={"space_id": other}).status_code == 201
    try:
        listed = as_user(users.reader).get("/api/spaces").json()
        assert [s["space_id"] for s in listed["spaces"]] == [world.space] and listed["total_count"] == 1
        assert as_user(users.writer_without_grant).get("/api/spaces").json() == {
            "spaces": [],
            "total_count": 0,
        }
        assert {world.space, other} <= {s["space_id"] for s in admin.get("/api/spaces").json()["spaces"]}
    finally:
        admin.delete(f"/api/spaces/{other}")


def test_a_writer_manages_the_spaces_it_creates(admin, users, as_user):
    client = as_user(users.writer_without_grant)
    space = new_name("writer-own")
    assert client.post("/api/spaces", json={"space_id": space}).status_code == 201
    assert [s["space_id"] for s in client.get("/api/spaces").json()["spaces"]] == [space]
    grants = admin.get(f"/api/spaces/{space}/grants").json()
    assert grants == {
        "space_id": space,
        "grants": [{"username": users.writer_without_grant, "level": "manage"}],
    }
    assert client.delete(f"/api/spaces/{space}").status_code == 200
    # Deleting the space removed its grants: a new space of that id is the admin's alone.
    assert admin.post("/api/spaces", json={"space_id": space}).status_code == 201
    try:
        assert admin.get(f"/api/spaces/{space}/grants").json()["grants"] == []
        assert client.get(f"/api/spaces/{space}").status_code == 403
    finally:
        admin.delete(f"/api/spaces/{space}")


def test_readers_cannot_create_spaces(admin, users, as_user):
    space = new_name("reader-space")
    response = as_user(users.reader).post("/api/spaces", json={"space_id": space})
    assert_error(response, 403, "is a reader", "writer or admin")
    assert admin.get(f"/api/spaces/{space}").status_code == 404


def test_admin_routes_refuse_non_admins(admin, world, users, as_user):
    before_users = admin.get("/api/users").json()
    before_grants = admin.get(f"/api/spaces/{world.space}/grants").json()
    client = as_user(users.writer)
    attempts = [
        ("GET", "/api/users", None),
        ("POST", "/api/users", {"username": "sneaky", "password": PASSWORD, "role": "admin"}),
        ("GET", f"/api/users/{users.reader}", None),
        ("PATCH", f"/api/users/{users.writer}", {"role": "admin"}),
        ("DELETE", f"/api/users/{users.reader}", None),
        ("GET", f"/api/spaces/{world.space}/grants", None),
        ("PUT", f"/api/spaces/{world.space}/grants/{users.writer_without_grant}", {"level": "write"}),
        ("DELETE", f"/api/spaces/{world.space}/grants/{users.reader}", None),
        ("PUT", f"/api/spaces/{world.space}/grants/{users.writer}", {"not": "a grant"}),  # 403 before 422
    ]
    for method, path, body in attempts:
        assert_error(client.request(method, path, json=body), 403, "only admins may manage users and grants")
    assert admin.get("/api/users").json() == before_users
    assert admin.get(f"/api/spaces/{world.space}/grants").json() == before_grants


def test_missing_bad_and_expired_credentials_are_401(server, world):
    paths = [f"/api/spaces/{world.space}", "/api/users", "/api/tokens", f"/api/spaces/{world.space}/grants"]
    for path in paths:
        assert_error(httpx.get(server.url + path), 401, "missing bearer token")
        for bad in ("vgk_not-a-real-token", "not.a.jwt"):
            response = httpx.get(server.url + path, headers={"Authorization": f"Bearer {bad}"})
            assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"


# --- users: create, list, get, update, delete, and bad input -------------------------------------------
def test_user_lifecycle(server, admin):
    username = create_user(admin, "reader")
    listed = {u["username"]: u for u in admin.get("/api/users").json()["users"]}
    assert listed[username]["role"] == "reader" and listed["admin"]["configured"] is True
    assert "password" not in str(listed[username]) and "hash" not in str(listed[username])
    got = admin.get(f"/api/users/{username}").json()
    assert got["username"] == username and got["configured"] is False

    tokens = login(server, username)
    promoted = admin.patch(f"/api/users/{username}", json={"role": "writer"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "writer"
    with client_for(server, tokens["access_token"]) as client:  # the new role applies at once
        space = new_name("promoted")
        assert client.post("/api/spaces", json={"space_id": space}).status_code == 201
        assert client.delete(f"/api/spaces/{space}").status_code == 200

    assert admin.delete(f"/api/users/{username}").json() == {"deleted": username}
    assert_error(admin.get(f"/api/users/{username}"), 404, f"user {username!r} not found")
    assert_error(
        httpx.get(server.url + "/api/spaces", headers={"Authorization": f"Bearer {tokens['access_token']}"}),
        401,
        "revoked",
    )
    assert_error(
        httpx.post(server.url + "/api/refresh", json={"refresh_token": tokens["refresh_token"]}), 401
    )
    assert_error(
        httpx.post(server.url + "/api/login", data={"username": username, "password": PASSWORD}),
        401,
        "wrong username or password",
    )


def test_changing_a_password_revokes_the_users_tokens(server, admin):
    username = create_user(admin, "writer")
    session = login(server, username)
    with client_for(server, session["access_token"]) as client:
        api_token = client.post("/api/tokens", json={"name": "ci"}).json()["token"]
    new_password = "another-long-passphrase-9"
    assert admin.patch(f"/api/users/{username}", json={"password": new_password}).status_code == 200
    for token in (session["access_token"], api_token):
        assert (
            httpx.get(server.url + "/api/spaces", headers={"Authorization": f"Bearer {token}"}).status_code
            == 401
        )
    assert (
        httpx.post(server.url + "/api/refresh", json={"refresh_token": session["refresh_token"]}).status_code
        == 401
    )
    assert (
        httpx.post(server.url + "/api/login", data={"username": username, "password": PASSWORD}).status_code
        == 401
    )
    login(server, username, new_password)
    admin.delete(f"/api/users/{username}")


@pytest.mark.parametrize(
    "body, status, message",
    [
        ({"username": "../etc", "password": PASSWORD, "role": "reader"}, 400, "invalid username '../etc'"),
        ({"username": "a b", "password": PASSWORD, "role": "reader"}, 400, "invalid username"),
        ({"username": "bad\nname", "password": PASSWORD, "role": "reader"}, 400, "invalid username"),
        ({"username": "", "password": PASSWORD, "role": "reader"}, 422, "body field 'username'"),
        ({"username": "x" * 65, "password": PASSWORD, "role": "reader"}, 422, "body field 'username'"),
        ({"username": "NAME", "password": PASSWORD, "role": "superuser"}, 422, "body field 'role'"),
        ({"username": "NAME", "password": "", "role": "reader"}, 400, "password too short"),
        ({"username": "NAME", "password": "short", "role": "reader"}, 400, "password too short"),
        ({"username": "NAME", "password": "aaaaaaaaaaaaaaaa", "role": "reader"}, 400, "password too weak"),
        (
            {"username": "NAME", "password": "NAME-and-more-text", "role": "reader"},
            400,
            "must not contain the username",
        ),
        ({"username": "NAME", "password": "x1y2z3" * 200, "role": "reader"}, 422, "body field 'password'"),
        ({"username": "NAME", "role": "reader"}, 422, "body field 'password'"),
        ({"username": "NAME", "password": PASSWORD, "role": "reader", "extra": 1}, 422, "body field 'extra'"),
        ("not an object", 422, "body"),
    ],
)
def test_bad_user_input_is_refused_and_stores_nothing(admin, body, status, message):
    name = new_name("bad")
    if isinstance(body, dict):
        body = {k: (v.replace("NAME", name) if isinstance(v, str) else v) for k, v in body.items()}
    before = admin.get("/api/users").json()
    assert_error(admin.post("/api/users", json=body), status, message.replace("NAME", name))
    assert admin.get("/api/users").json() == before


def test_malformed_json_body_is_refused(admin):
    before = admin.get("/api/users").json()
    response = admin.post("/api/users", content=b"{not json", headers={"Content-Type": "application/json"})
    # 400 like every malformed JSON body (read in one place, api/json_body.py); was FastAPI's 422
    assert response.status_code == 400 and "not valid JSON" in response.json()["detail"]
    assert admin.get("/api/users").json() == before


def test_duplicate_users_are_409(admin):
    username = create_user(admin, "reader")
    before = admin.get(f"/api/users/{username}").json()
    again = admin.post(
        "/api/users", json={"username": username, "password": "other-password-1", "role": "admin"}
    )
    assert_error(again, 409, f"user {username!r} already exists")
    assert admin.get(f"/api/users/{username}").json() == before
    configured = admin.post("/api/users", json={"username": "admin", "password": PASSWORD, "role": "reader"})
    assert_error(configured, 409, "user 'admin' already exists")
    admin.delete(f"/api/users/{username}")


def test_bad_user_updates_change_nothing(server, admin):
    username = create_user(admin, "reader")
    before = admin.get(f"/api/users/{username}").json()
    cases = [
        ({"role": "root"}, 422, "body field 'role'"),
        ({"password": "short"}, 400, "password too short"),
        ({}, 400, "nothing to change"),
        ({"role": "writer", "password": "short"}, 400, "password too short"),
        ({"username": "renamed"}, 422, "body field 'username'"),
    ]
    for body, status, message in cases:
        assert_error(admin.patch(f"/api/users/{username}", json=body), status, message)
    assert admin.get(f"/api/users/{username}").json() == before
    login(server, username)  # the password is unchanged
    assert_error(
        admin.patch("/api/users/nobody-here", json={"role": "writer"}), 404, "user 'nobody-here' not found"
    )
    assert_error(admin.delete("/api/users/nobody-here"), 404, "user 'nobody-here' not found")
    assert_error(
        admin.patch("/api/users/admin", json={"password": "a-new-admin-password"}), 403, "configured admin"
    )
    assert_error(admin.delete("/api/users/admin"), 403, "configured admin")
    login(server, "admin", ADMIN_PASSWORD)
    admin.delete(f"/api/users/{username}")


# --- grants -------------------------------------------------------------------------------------------
def test_grant_lifecycle(admin, world, as_user):
    username = create_user(admin, "writer")
    client = as_user(username)
    assert client.get(f"/api/spaces/{world.space}").status_code == 403
    grant(admin, world.space, username, "read")
    assert client.get(f"/api/spaces/{world.space}").status_code == 200
    assert_error(
        client.post("/api/files", params={"space_id": world.space}, json=file_node_jsonld("urn:x:1")),
        403,
        "needs 'write'",
        "you have 'read'",
    )
    grant(admin, world.space, username, "write")  # PUT again changes the level
    listed = admin.get(f"/api/spaces/{world.space}/grants").json()["grants"]
    assert {"username": username, "level": "write"} in listed
    assert [g["username"] for g in listed].count(username) == 1
    revoked = admin.delete(f"/api/spaces/{world.space}/grants/{username}")
    assert revoked.json() == {"space_id": world.space, "revoked": username}
    assert client.get(f"/api/spaces/{world.space}").status_code == 403
    admin.delete(f"/api/users/{username}")


def test_bad_grants_are_refused_and_change_nothing(admin, world, users):
    before = admin.get(f"/api/spaces/{world.space}/grants").json()
    path = f"/api/spaces/{world.space}/grants"
    cases = [
        (f"{path}/{users.reader}", {"level": "write"}, 400, "a reader can hold at most 'read' grants"),
        (f"{path}/{users.reader}", {"level": "owner"}, 422, "body field 'level'"),
        (f"{path}/{users.reader}", {}, 422, "body field 'level'"),
        (f"{path}/{users.reader}", {"level": "read", "space": "x"}, 422, "body field 'space'"),
        (f"{path}/nobody-here", {"level": "read"}, 404, "user 'nobody-here' not found"),
        (f"{path}/admin", {"level": "read"}, 400, "admins reach every space"),
        (
            f"/api/spaces/no-such-space/grants/{users.reader}",
            {"level": "read"},
            404,
            "space 'no-such-space' not found",
        ),
    ]
    for url, body, status, message in cases:
        assert_error(admin.put(url, json=body), status, message)
    assert_error(admin.delete(f"{path}/{users.writer_without_grant}"), 404, "has no grant on space")
    assert_error(admin.delete(f"{path}/nobody-here"), 404, "user 'nobody-here' not found")
    assert_error(admin.get("/api/spaces/no-such-space/grants"), 404, "space 'no-such-space' not found")
    assert admin.get(f"/api/spaces/{world.space}/grants").json() == before


def test_a_lowered_role_caps_existing_grants(admin, world, as_user):
    username = create_user(admin, "writer")
    grant(admin, world.space, username, "write")
    admin.patch(f"/api/users/{username}", json={"role": "reader"})
    client = as_user(username)
    assert client.get(f"/api/spaces/{world.space}").status_code == 200
    assert_error(
        client.delete("/api/files", params={"space_id": world.space, "uri": world.file_uri}),
        403,
        "needs 'write'",
        "you have 'read'",
    )
    admin.delete(f"/api/users/{username}")


# --- API tokens ---------------------------------------------------------------------------------------
def test_api_token_create_use_list_revoke(server, admin, world, users, as_user):
    client = as_user(users.reader)
    created = client.post("/api/tokens", json={"name": "nightly export"})
    assert created.status_code == 201, created.text
    token = created.json()
    assert token["token"].startswith("vgk_") and len(token["token"]) > 40
    assert token["username"] == users.reader and token["expires_at"] is None
    with client_for(server, token["token"]) as machine:
        assert machine.get(f"/api/spaces/{world.space}").status_code == 200
        # The token acts with its owner's rights, no more.
        assert_error(
            machine.delete("/api/files", params={"space_id": world.space, "uri": world.file_uri}), 403
        )
        listed = client.get("/api/tokens").json()
        assert [t["token_id"] for t in listed["tokens"]] == [token["token_id"]]
        assert "token" not in listed["tokens"][0]  # the secret is never shown again
        assert token["token_id"] in [t["token_id"] for t in admin.get("/api/tokens").json()["tokens"]]
        assert client.delete(f"/api/tokens/{token['token_id']}").json() == {"revoked": token["token_id"]}
        assert_error(machine.get(f"/api/spaces/{world.space}"), 401, "invalid or revoked API token")
    assert client.get("/api/tokens").json()["total_count"] == 0


def test_users_manage_only_their_own_tokens(server, admin, users, as_user):
    mine = as_user(users.writer).post("/api/tokens", json={"name": "mine"}).json()
    other = as_user(users.reader)
    assert_error(other.delete(f"/api/tokens/{mine['token_id']}"), 404, "not found")
    assert mine["token_id"] not in [t["token_id"] for t in other.get("/api/tokens").json()["tokens"]]
    for_someone = other.post("/api/tokens", json={"name": "x", "username": users.writer})
    assert_error(for_someone, 403, "only admins may create API tokens for other users")
    with client_for(server, mine["token"]) as machine:
        assert machine.get("/api/spaces").status_code == 200  # still valid
    # Admins revoke anyone's and create tokens for others.
    assert admin.delete(f"/api/tokens/{mine['token_id']}").status_code == 200
    made = admin.post("/api/tokens", json={"name": "for writer", "username": users.writer})
    assert made.status_code == 201 and made.json()["username"] == users.writer
    assert made.json()["token_id"] in [
        t["token_id"] for t in as_user(users.writer).get("/api/tokens").json()["tokens"]
    ]
    admin.delete(f"/api/tokens/{made.json()['token_id']}")


def test_bad_token_requests_store_nothing(admin):
    before = admin.get("/api/tokens").json()
    cases = [
        ({}, 422, "body field 'name'"),
        ({"name": ""}, 422, "body field 'name'"),
        ({"name": "   "}, 400, "invalid token name"),
        ({"name": "line\nbreak"}, 400, "invalid token name"),
        ({"name": "x" * 201}, 422, "body field 'name'"),
        ({"name": "ok", "expires_in_seconds": 5}, 422, "body field 'expires_in_seconds'"),
        ({"name": "ok", "expires_in_seconds": "soon"}, 422, "body field 'expires_in_seconds'"),
        ({"name": "ok", "username": "nobody-here"}, 404, "user 'nobody-here' not found"),
        ({"name": "ok", "scope": "all"}, 422, "body field 'scope'"),
    ]
    for body, status, message in cases:
        assert_error(admin.post("/api/tokens", json=body), status, message)
    assert_error(admin.delete("/api/tokens/0123456789abcdef"), 404, "not found")
    assert_error(admin.delete("/api/tokens/not..a'token"), 404, 'API token "not..a\'token" not found')
    assert admin.get("/api/tokens").json() == before


def test_an_expiring_api_token_records_its_expiry(admin):
    made = admin.post("/api/tokens", json={"name": "short-lived", "expires_in_seconds": 3600}).json()
    assert made["expires_at"] is not None
    admin.delete(f"/api/tokens/{made['token_id']}")


# --- sessions: refresh rotation, reuse, logout -------------------------------------------------------------
def test_refresh_rotates_and_reuse_ends_the_session(server, users):
    first = login(server, users.reader)
    second = httpx.post(server.url + "/api/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    # The old refresh token stopped working; using it again ends the whole session (it was stolen).
    reused = httpx.post(server.url + "/api/refresh", json={"refresh_token": first["refresh_token"]})
    assert_error(reused, 401, "revoked or already used")
    assert (
        httpx.post(server.url + "/api/refresh", json={"refresh_token": second["refresh_token"]}).status_code
        == 401
    )
    headers = {"Authorization": f"Bearer {second['access_token']}"}
    assert_error(httpx.get(server.url + "/api/spaces", headers=headers), 401, "access token revoked")


def test_logout_revokes_the_session(server, users):
    other_session = login(server, users.reader)
    tokens = login(server, users.reader)
    out = httpx.post(server.url + "/api/logout", json={"refresh_token": tokens["refresh_token"]})
    assert out.status_code == 200 and out.json() == {"logged_out": True}
    assert (
        httpx.post(server.url + "/api/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code
        == 401
    )
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert httpx.get(server.url + "/api/spaces", headers=headers).status_code == 401
    assert_error(httpx.post(server.url + "/api/logout", json={"refresh_token": tokens["refresh_token"]}), 401)
    # Other sessions of the same user go on.
    headers = {"Authorization": f"Bearer {other_session['access_token']}"}
    assert httpx.get(server.url + "/api/spaces", headers=headers).status_code == 200


def test_bad_logout_and_refresh_bodies(server):
    for path in ("/api/logout", "/api/refresh"):
        assert_error(httpx.post(server.url + path, json={}), 422, "body field 'refresh_token'")
        assert_error(
            httpx.post(server.url + path, json={"refresh_token": "nope"}), 401, "invalid refresh token"
        )
        malformed = httpx.post(server.url + path, content=b"[", headers={"Content-Type": "application/json"})
        assert_error(malformed, 400, "not valid JSON")  # as on every JSON route (was FastAPI's 422)


# --- the blob store under test, the Python client, and replicas ------------------------------------------
def test_the_server_runs_on_the_intended_blob_store(server, admin, world, request):
    """Guards the parametrization: on 's3' the file's bytes are in the bucket, not in the data dir."""
    local_blobs = [p for p in server.data_dir.rglob("*") if p.is_file() and p.stat().st_size == len(CONTENT)]
    if server.env.get("VITALGRAPH_BLOB_BACKEND") == "s3":
        seaweed = request.getfixturevalue("seaweedfs")
        prefix = server.env["VITALGRAPH_S3_PREFIX"]
        listed = seaweed.boto_client().list_objects_v2(Bucket=seaweed.bucket, Prefix=prefix + "/")
        assert len(CONTENT) in [item["Size"] for item in listed.get("Contents", [])]
        assert local_blobs == []
    else:
        assert local_blobs, "the local store keeps the bytes under the data dir"


def test_the_python_client_uses_api_tokens(server, admin, world, users, as_user):
    from vitalgraph.client import AuthenticationError, PermissionDeniedError, VitalGraphClient

    token = as_user(users.reader).post("/api/tokens", json={"name": "python client"}).json()
    with VitalGraphClient(server.url, api_key=token["token"]) as client:
        assert [s.space_id for s in client.spaces.list_spaces().spaces] == [world.space]
        with pytest.raises(PermissionDeniedError, match="needs 'manage' permission"):
            client.spaces.delete_space(world.space)
        as_user(users.reader).delete(f"/api/tokens/{token['token_id']}")
        with pytest.raises(AuthenticationError, match="revoked"):
            client.spaces.list_spaces()
    with VitalGraphClient(server.url, username=users.reader, password=PASSWORD) as client:
        assert client.spaces.get_space(world.space).space_id == world.space


@pytest.mark.sparql
def test_replicas_on_one_sparql_server_share_users_and_revocations(server_factory, oxigraph_server):
    env = {
        "VITALGRAPH_GRAPH_BACKEND": "sparql",
        "VITALGRAPH_SPARQL_QUERY_URL": oxigraph_server.query_url,
        "VITALGRAPH_SPARQL_UPDATE_URL": oxigraph_server.update_url,
        "VITALGRAPH_JWT_SECRET": "a-shared-secret-for-both-replicas-0123456789",
        "VITALGRAPH_GC_INTERVAL_SECONDS": "0",
    }
    first = server_factory(env, name=new_name("replica-a"))
    second = server_factory(env, name=new_name("replica-b"))
    with first.client() as admin_a:
        username = create_user(admin_a, "writer")
        token = admin_a.post("/api/tokens", json={"name": "shared", "username": username}).json()
    session = login(second, username)  # a user made through one replica logs in at the other
    with client_for(second, token["token"]) as via_second:
        assert via_second.get("/api/spaces").status_code == 200
        with first.client() as admin_a:
            admin_a.delete(f"/api/tokens/{token['token_id']}")
            assert via_second.get("/api/spaces").status_code == 401  # revoked at once everywhere
            httpx.post(first.url + "/api/logout", json={"refresh_token": session["refresh_token"]})
            headers = {"Authorization": f"Bearer {session['access_token']}"}
            assert httpx.get(second.url + "/api/spaces", headers=headers).status_code == 401
            admin_a.delete(f"/api/users/{username}")
    with first.client() as admin_a, second.client() as admin_b:
        for _ in range(4):
            _one_replica_wins_a_simultaneous_creation(admin_a, admin_b)


def _one_replica_wins_a_simultaneous_creation(admin_a: httpx.Client, admin_b: httpx.Client) -> None:
    """The same username and the same space id created through two replicas at the same moment: one
    gets 201, the other 409, and what is stored is wholly the winner's (its password, its name)."""
    import threading

    username, space_id = new_name("race"), new_name("race")
    passwords = {"a": "password-of-replica-a-0001", "b": "password-of-replica-b-0002"}
    barrier, statuses = threading.Barrier(2), {}

    def create(side: str, admin: httpx.Client) -> None:
        barrier.wait()
        user = admin.post(
            "/api/users", json={"username": username, "password": passwords[side], "role": "writer"}
        )
        space = admin.post("/api/spaces", json={"space_id": space_id, "space_name": f"by {side}"})
        statuses[side] = (user.status_code, space.status_code)

    threads = [threading.Thread(target=create, args=pair) for pair in (("a", admin_a), ("b", admin_b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    user_winners = [side for side, (user, _) in statuses.items() if user == 201]
    space_winners = [side for side, (_, space) in statuses.items() if space == 201]
    assert len(user_winners) == 1 and len(space_winners) == 1, statuses
    assert sorted(code for codes in statuses.values() for code in codes) == [201, 201, 409, 409]
    logins = {
        side: httpx.post(f"{admin_a.base_url}/api/login", data={"username": username, "password": pw})
        for side, pw in passwords.items()
    }
    assert {side: r.status_code for side, r in logins.items()} == {
        side: 200 if side == user_winners[0] else 401 for side in passwords
    }
    listed = [s for s in admin_b.get("/api/spaces").json()["spaces"] if s["space_id"] == space_id]
    assert [s["space_name"] for s in listed] == [f"by {space_winners[0]}"]
    admin_a.delete(f"/api/users/{username}")
    admin_a.delete(f"/api/spaces/{space_id}")


# --- every route, from the OpenAPI schema: none is left unguarded ------------------------------------------
# /api/files/signed needs no bearer token: the signed link is its own authorisation (test_signed_links.py).
PUBLIC_ROUTES = {"/api/login", "/api/refresh", "/api/logout", "/api/files/signed"}
ADMIN_ROUTES = ("/api/users", "/grants", "/api/audit", "/api/admin/", "/quota", "/organization")


def api_operations(server: RunningServer, space: str) -> list[tuple[str, str, dict, bool]]:
    """(method, path, query, space-scoped) for every operation under /api/, parameters filled in."""
    schema = httpx.get(server.url + "/openapi.json").json()
    filler = {"space_id": space, "username": "someone", "token_id": "0123456789abcdef"}
    operations = []
    for path, methods in schema["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, spec in methods.items():
            params = spec.get("parameters", [])
            names = {p["name"] for p in params}
            query = {
                p["name"]: filler.get(p["name"], "http://example.org/x")
                for p in params
                if p["in"] == "query" and p.get("required")
            }
            filled = path.format(**{n: filler.get(n, "x") for n in re.findall(r"{(\w+)}", path)})
            operations.append((method.upper(), filled, query, "space_id" in names))
    assert len(operations) >= 35, operations
    return operations


def test_every_api_route_needs_a_token(server, world):
    for method, path, query, _ in api_operations(server, world.space):
        if path in PUBLIC_ROUTES:
            continue
        response = httpx.request(method, server.url + path, params=query, json={})
        assert response.status_code == 401, (method, path, response.status_code)


def test_every_space_route_refuses_a_user_without_a_grant(admin, server, world, users, as_user):
    client = as_user(users.writer_without_grant)
    before = snapshot(admin, world)
    checked = 0
    for method, path, query, space_scoped in api_operations(server, world.space):
        if not space_scoped or any(part in path for part in ADMIN_ROUTES):
            continue
        response = client.request(method, path, params=query, json={})
        assert response.status_code == 403, (method, path, response.status_code, response.text)
        if method != "HEAD":
            assert f"on space {world.space!r}" in response.json()["detail"]
        checked += 1
    assert checked >= 25
    assert snapshot(admin, world) == before


def test_admin_routes_refuse_every_non_admin(server, world, users, as_user):
    for method, path, query, _ in api_operations(server, world.space):
        if any(part in path for part in ADMIN_ROUTES):
            response = as_user(users.writer).request(method, path, params=query, json={"level": "read"})
            assert_error(response, 403, "only admins")


def test_a_refused_upload_is_answered_before_its_body_is_sent(server, world, users):
    """The guard runs before the body is read: a 10 GB upload is refused without sending a byte of it."""
    import socket

    token = login(server, users.reader)["access_token"]
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            f"PUT /api/files/stream/upload?space_id={world.space}&uri={world.file_uri} HTTP/1.1\r\n"
            f"Host: {host}\r\nAuthorization: Bearer {token}\r\nContent-Length: 10000000000\r\n\r\n".encode()
        )
        reply = ""
        while not reply.endswith("}"):
            chunk = sock.recv(65536).decode(errors="replace")
            assert chunk, reply
            reply += chunk
    assert reply.startswith("HTTP/1.1 403"), reply[:200]
    assert "needs 'write' permission" in reply


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/graphs/kgtypes"),
        ("PUT", "/api/graphs/kgtypes"),
        ("POST", "/api/graphs/objects"),
        ("PUT", "/api/graphs/objects"),
        ("POST", "/api/graphs/kgentities"),
        ("PUT", "/api/graphs/kgentities"),
    ],
)
def test_a_refused_json_ld_write_is_answered_before_its_body_is_sent(server, world, users, method, path):
    """The body of a graph-object write is read only after the guard passed: a reader's write is refused
    at once, though the body it announced never comes (reading it first would wait for the idle timeout)."""
    import socket

    token = login(server, users.reader)["access_token"]
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            f"{method} {path}?space_id={world.space} HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/ld+json\r\n"
            "Content-Length: 100000\r\n\r\n".encode()
        )
        reply = ""
        while not reply.endswith("}"):
            chunk = sock.recv(65536).decode(errors="replace")
            assert chunk, reply
            reply += chunk
    assert reply.startswith("HTTP/1.1 403"), reply[:200]
    assert "needs 'write' permission" in reply


def test_sparql_cannot_reach_password_or_token_hashes(admin, world, users, as_user):
    as_user(users.reader).post("/api/tokens", json={"name": "to hide"})
    query = "SELECT ?s ?p ?o WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
    for client in (as_user(users.reader), admin):
        response = client.post(
            f"/api/graphs/sparql/{world.space}/query",
            content=query,
            headers={"Content-Type": "application/sparql-query"},
        )
        assert response.status_code == 200
        assert "passwordHash" not in response.text and "tokenHash" not in response.text
        assert "argon2" not in response.text


def test_a_taken_space_id_answers_409_even_without_a_grant(world, users, as_user):
    response = as_user(users.writer_without_grant).post("/api/spaces", json={"space_id": world.space})
    assert_error(response, 409, "already exists")  # documented: space ids are global
