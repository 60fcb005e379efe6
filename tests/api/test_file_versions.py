"""File versions over HTTP on both blob stores: GET /api/files/versions, `version=` on the download
routes (Range, If-Range, ETag, HEAD), POST /api/files/versions/restore (If-Match), the errors, and
who may do what: readers list and download, writers restore, another tenant nothing."""

from __future__ import annotations

import hashlib
import uuid

import httpx
import pytest

from tests.api.conftest import file_node_jsonld
from tests.api.test_access_control import PASSWORD, create_user, grant, login
from tests.fixtures.seaweedfs import seaweedfs  # noqa: F401  (the S3 server, for the s3 parameter)
from tests.fixtures.servers import RunningServer

KEPT = 2
CONTENTS = [b"one " * 1000, b"two " * 2000, b"three " * 3000]


@pytest.fixture(scope="module", params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def server(request: pytest.FixtureRequest, server_factory) -> RunningServer:
    env = {"VITALGRAPH_GC_INTERVAL_SECONDS": "0", "VITALGRAPH_FILE_VERSIONS_KEPT": str(KEPT)}
    if request.param == "s3":
        env.update(request.getfixturevalue("seaweedfs").server_env(f"versions-{uuid.uuid4().hex[:8]}"))
    return server_factory(env, name=f"versions-{request.param}-{uuid.uuid4().hex[:6]}")


def make_file(api: httpx.Client, space: str) -> str:
    uri = f"http://example.org/{space}/{uuid.uuid4().hex}"
    assert api.post("/api/files", params={"space_id": space}, json=file_node_jsonld(uri)).status_code == 201
    for data in CONTENTS:
        uploaded = api.post("/api/files/stream/upload", params={"space_id": space, "uri": uri}, content=data)
        assert uploaded.status_code == 200, uploaded.text
    return uri


@pytest.fixture(scope="module")
def admin(server: RunningServer):
    with server.client() as client:
        yield client


@pytest.fixture(scope="module")
def space(admin: httpx.Client) -> str:
    space = f"versions-{uuid.uuid4().hex[:8]}"
    assert admin.post("/api/spaces", json={"space_id": space}).status_code == 201
    return space


def test_list_and_download_a_version_with_ranges(admin: httpx.Client, space: str) -> None:
    uri = make_file(admin, space)
    listed = admin.get("/api/files/versions", params={"space_id": space, "uri": uri})
    assert listed.status_code == 200, listed.text
    second, first = listed.json()["versions"]
    assert (first["sha256"], first["size"], first["uploader"]) == (
        hashlib.sha256(CONTENTS[0]).hexdigest(),
        len(CONTENTS[0]),
        "admin",
    )
    assert second["version"] > first["version"] and second["modified"] >= first["modified"]

    params = {"space_id": space, "uri": uri, "version": first["version"]}
    whole = admin.get("/api/files/stream/download", params=params)
    assert whole.status_code == 200 and whole.content == CONTENTS[0]
    etag = whole.headers["etag"]
    assert etag == f'"{first["sha256"]}"'
    part = admin.get(
        "/api/files/stream/download", params=params, headers={"Range": "bytes=4-11", "If-Range": etag}
    )
    assert (part.status_code, part.content) == (206, CONTENTS[0][4:12])
    assert part.headers["content-range"] == f"bytes 4-11/{len(CONTENTS[0])}"
    stale = admin.get(
        "/api/files/stream/download", params=params, headers={"Range": "bytes=4-11", "If-Range": '"other"'}
    )
    assert (stale.status_code, stale.content) == (
        200,
        CONTENTS[0],
    )  # If-Range not matching: the whole version
    assert (
        admin.get("/api/files/stream/download", params=params, headers={"If-None-Match": etag}).status_code
        == 304
    )
    head = admin.head("/api/files/download", params=params)  # the legacy route takes it too
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(CONTENTS[0])
    current = admin.get("/api/files/stream/download", params={"space_id": space, "uri": uri})
    assert current.content == CONTENTS[2]


def test_restore_is_a_write_under_if_match(admin: httpx.Client, space: str) -> None:
    uri = make_file(admin, space)
    first = admin.get("/api/files/versions", params={"space_id": space, "uri": uri}).json()["versions"][-1]
    etag = admin.get("/api/files", params={"space_id": space, "uri": uri}).headers["etag"]
    params = {"space_id": space, "uri": uri, "version": first["version"]}
    stale = admin.post("/api/files/versions/restore", params=params, headers={"If-Match": '"1"'})
    assert stale.status_code == 412, stale.text
    restored = admin.post("/api/files/versions/restore", params=params, headers={"If-Match": etag})
    assert restored.status_code == 200, restored.text
    assert restored.json()["sha256"] == first["sha256"]
    assert restored.headers["etag"] == f'"{restored.json()["version"]}"' != etag
    assert (
        admin.get("/api/files/stream/download", params={"space_id": space, "uri": uri}).content == CONTENTS[0]
    )
    kept = admin.get("/api/files/versions", params={"space_id": space, "uri": uri}).json()["versions"]
    assert [v["sha256"] for v in kept] == [hashlib.sha256(d).hexdigest() for d in (CONTENTS[2], CONTENTS[1])]
    again = admin.post(
        "/api/files/versions/restore",
        params={**params, "version": kept[0]["version"]},
        headers={"If-Match": etag},
    )
    assert again.status_code == 412  # the node moved on: the ETag read before no longer matches


def test_unknown_versions_and_bad_input(admin: httpx.Client, space: str) -> None:
    uri = make_file(admin, space)
    for method, path in (("GET", "/api/files/stream/download"), ("POST", "/api/files/versions/restore")):
        missing = admin.request(method, path, params={"space_id": space, "uri": uri, "version": 424242})
        assert missing.status_code == 404 and "no version 424242" in missing.json()["detail"], missing.text
        bad = admin.request(method, path, params={"space_id": space, "uri": uri, "version": "latest"})
        assert bad.status_code in (400, 422) and "version" in bad.text
    no_node = admin.get("/api/files/versions", params={"space_id": space, "uri": "http://example.org/none"})
    assert no_node.status_code == 404 and "http://example.org/none" in no_node.json()["detail"]


def test_readers_list_and_download_writers_restore_other_tenants_nothing(
    server: RunningServer, admin: httpx.Client, space: str
) -> None:
    uri = make_file(admin, space)
    first = admin.get("/api/files/versions", params={"space_id": space, "uri": uri}).json()["versions"][-1]
    reader, writer, stranger = (create_user(admin, role) for role in ("reader", "writer", "writer"))
    grant(admin, space, reader, "read")
    grant(admin, space, writer, "write")
    params = {"space_id": space, "uri": uri, "version": first["version"]}

    def as_user(name: str) -> httpx.Client:
        token = login(server, name, PASSWORD)["access_token"]
        return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)

    with as_user(stranger) as other, as_user(reader) as read_only, as_user(writer) as write:
        for response in (
            other.get("/api/files/versions", params={"space_id": space, "uri": uri}),
            other.get("/api/files/stream/download", params=params),
            other.post("/api/files/versions/restore", params=params),
            read_only.post("/api/files/versions/restore", params=params),
        ):
            assert response.status_code == 403, response.text
        assert read_only.get("/api/files/versions", params={"space_id": space, "uri": uri}).status_code == 200
        assert read_only.get("/api/files/stream/download", params=params).content == CONTENTS[0]
        assert (
            admin.get("/api/files/stream/download", params={"space_id": space, "uri": uri}).content
            == CONTENTS[2]
        )
        restored = write.post("/api/files/versions/restore", params=params)
        assert restored.status_code == 200, restored.text
    kept = admin.get("/api/files/versions", params={"space_id": space, "uri": uri}).json()["versions"]
    assert kept[0]["uploader"] == "admin"
    node = admin.get("/api/files", params={"space_id": space, "uri": uri}).json()
    uploader = [v for k, v in node.items() if k.endswith("hasContentUploader")]
    assert writer in str(uploader), node  # the restore is the writer's write


def test_a_server_that_keeps_no_versions_lists_none(local_server: RunningServer) -> None:
    with local_server.client() as api:
        space = f"noversions-{uuid.uuid4().hex[:8]}"
        assert api.post("/api/spaces", json={"space_id": space}).status_code == 201
        uri = make_file(api, space)
        listed = api.get("/api/files/versions", params={"space_id": space, "uri": uri})
        assert listed.status_code == 200 and listed.json() == {"uri": uri, "versions": []}
