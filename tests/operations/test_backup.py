"""Backup, restore and verify on both blob stores.

A backup taken while uploads, replacements, deletes and metadata writes stream in must restore into
an empty server with every write acknowledged before the backup began, every file byte-exact, and
no node whose bytes are missing (an upload committing meanwhile is wholly in or wholly out)."""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid

import httpx
import pytest

from tests.faults.backends import backend  # noqa: F401  (local and S3)

SPACE = "archive"
CLASS = "http://vital.ai/ontology/vital#FileNode"


def _uri(n: int) -> str:
    return f"http://example.org/archive/{n}"


def _create(api: httpx.Client, space: str, n: int, name: str = "f") -> None:
    node = {"@id": _uri(n), "@type": CLASS, "http://vital.ai/ontology/vital-core#hasName": name}
    response = api.post("/api/files", params={"space_id": space}, json=node)
    assert response.status_code in (200, 201), response.text


def _upload(api: httpx.Client, space: str, n: int, data: bytes) -> None:
    response = api.put("/api/files/stream/upload", params={"space_id": space, "uri": _uri(n)}, content=data)
    assert response.status_code == 200, response.text


def _download(api: httpx.Client, space: str, n: int) -> bytes:
    response = api.get("/api/files/stream/download", params={"space_id": space, "uri": _uri(n)})
    assert response.status_code == 200, response.text
    return response.content


def _files(api: httpx.Client, space: str) -> dict[str, dict]:
    response = api.get("/api/files", params={"space_id": space, "page_size": 1000})
    assert response.status_code == 200, response.text
    return {node["@id"]: node for node in response.json()["files"]["@graph"]}


def _value(node: dict, property_suffix: str) -> str:
    return next(v for k, v in node.items() if k.endswith(property_suffix))[0]["@value"]


def _servers(server_factory, backend, tmp_path, tag: str):  # noqa: F811
    env = {**backend.env, "VITALGRAPH_BACKUP_ROOT": str(tmp_path / "backups")}
    if backend.name == "s3":  # the restored server gets a bucket prefix of its own
        env_b = {**env, "VITALGRAPH_S3_PREFIX": env["VITALGRAPH_S3_PREFIX"] + "-restored"}
    else:
        env_b = env
    return server_factory(env, name=f"{tag}-a"), lambda: server_factory(env_b, name=f"{tag}-b")


def _destination(backend) -> str:  # noqa: F811
    if backend.name == "s3":
        return f"s3://{backend.env['VITALGRAPH_S3_BUCKET']}/backups-{uuid.uuid4().hex[:8]}"
    return f"run-{uuid.uuid4().hex[:8]}"


def test_backup_while_writing_then_restore_into_an_empty_server(server_factory, backend, tmp_path):  # noqa: F811
    source, make_target = _servers(server_factory, backend, tmp_path, f"bk-{backend.name}")
    contents: dict[int, bytes] = {}
    with source.client() as api:
        assert api.post("/api/spaces", json={"space_id": SPACE}).status_code == 201
        for n in range(12):
            _create(api, SPACE, n)
            contents[n] = os.urandom(64 * 1024 + n)
            _upload(api, SPACE, n, contents[n])
    acknowledged_before = dict(contents)

    stop = threading.Event()
    churn_errors: list[str] = []

    def churn() -> None:  # replace, delete, re-create, rename while the backup runs
        with source.client() as api:
            n = 100
            while not stop.is_set():
                try:
                    _create(api, SPACE, n)
                    _upload(api, SPACE, n, os.urandom(32 * 1024))
                    _upload(api, SPACE, n % 12, os.urandom(16 * 1024))  # replace an old file
                    renamed = {
                        "@id": _uri(n),
                        "@type": CLASS,
                        "http://vital.ai/ontology/vital-core#hasName": f"renamed {n}",
                    }
                    metadata = api.put("/api/files", params={"space_id": SPACE}, json=renamed)
                    assert metadata.status_code == 200, metadata.text  # a metadata write keeps the content
                    api.delete("/api/files", params={"space_id": SPACE, "uri": _uri(n - 1)})
                    n += 1
                except AssertionError as exc:
                    churn_errors.append(str(exc))

    writer = threading.Thread(target=churn)
    writer.start()
    time.sleep(0.3)
    destination = _destination(backend)
    try:
        with source.client(timeout=300) as api:
            report = api.post("/api/admin/backup", json={"destination": destination})
    finally:
        stop.set()
        writer.join()
    assert report.status_code == 200, report.text
    assert report.json()["missing"] == [] and report.json()["corrupt"] == []
    assert not churn_errors, churn_errors[:3]

    target = make_target()
    with target.client(timeout=300) as api:
        restored = api.post("/api/admin/restore", json={"source": destination})
        assert restored.status_code == 200, restored.text
        files = _files(api, SPACE)
        # Files 0..11 existed before the backup started: all there (maybe replaced meanwhile).
        for n in acknowledged_before:
            assert _uri(n) in files
        # Every node in the snapshot reads back byte-exact with the SHA-256 it records.
        for uri, node in files.items():
            if not any(k.endswith("hasFileSHA256") for k in node):
                continue  # created, not yet uploaded when the snapshot was taken: no bytes to check
            n = int(uri.rsplit("/", 1)[1])
            data = _download(api, SPACE, n)
            recorded = _value(node, "hasFileSHA256")
            assert hashlib.sha256(data).hexdigest() == recorded, uri
        verified = api.get("/api/admin/verify", params={"orphan_min_age_seconds": 0}).json()
    assert verified["ok"], verified["orphaned"]


def test_backups_are_incremental_and_restore_refuses_a_populated_server(server_factory, backend, tmp_path):  # noqa: F811
    source, _ = _servers(server_factory, backend, tmp_path, f"inc-{backend.name}")
    destination = _destination(backend)
    with source.client() as api:
        api.post("/api/spaces", json={"space_id": SPACE})
        for n in range(3):
            _create(api, SPACE, n)
            _upload(api, SPACE, n, os.urandom(10_000))
        first = api.post("/api/admin/backup", json={"destination": destination}).json()
        _create(api, SPACE, 3)
        _upload(api, SPACE, 3, b"new")
        second = api.post("/api/admin/backup", json={"destination": destination}).json()
        again = api.post("/api/admin/restore", json={"source": destination})
    assert first["blobs_copied"] == 3
    assert second["blobs_copied"] == 1 and second["blobs_already_there"] == 3
    assert second["snapshot_id"] != first["snapshot_id"]
    assert again.status_code == 409 and "already has spaces" in again.json()["detail"]


def test_file_versions_are_backed_up_and_restored(server_factory, backend, tmp_path):  # noqa: F811
    """A version is one more reference to a blob: the backup copies its bytes, the restore brings it back."""
    env = {**backend.env, "VITALGRAPH_FILE_VERSIONS_KEPT": "2"}
    source, make_target = _servers(
        lambda e, name: server_factory({**e, **env}, name=name), backend, tmp_path, f"ver-{backend.name}"
    )
    contents = [os.urandom(20_000 + n) for n in range(3)]
    destination = _destination(backend)
    with source.client() as api:
        assert api.post("/api/spaces", json={"space_id": SPACE}).status_code == 201
        _create(api, SPACE, 0)
        for data in contents:
            _upload(api, SPACE, 0, data)
        report = api.post("/api/admin/backup", json={"destination": destination}).json()
    assert report["blobs"] == 3 and report["missing"] == []
    with make_target().client(timeout=300) as api:
        assert api.post("/api/admin/restore", json={"source": destination}).status_code == 200
        params = {"space_id": SPACE, "uri": _uri(0)}
        kept = api.get("/api/files/versions", params=params).json()["versions"]
        assert [v["sha256"] for v in kept] == [hashlib.sha256(d).hexdigest() for d in contents[1::-1]]
        for version, data in zip(kept, contents[1::-1], strict=True):
            got = api.get("/api/files/stream/download", params={**params, "version": version["version"]})
            assert got.content == data
        assert _download(api, SPACE, 0) == contents[2]
        assert api.get("/api/admin/verify", params={"orphan_min_age_seconds": 0}).json()["ok"]


def test_restore_one_space_into_a_running_server(server_factory, tmp_path):
    server = server_factory({"VITALGRAPH_BACKUP_ROOT": str(tmp_path / "b")}, name="one-space")
    with server.client() as api:
        for space in ("keep", "lose"):
            api.post("/api/spaces", json={"space_id": space})
            _create(api, space, 1, name=space)
            _upload(api, space, 1, space.encode() * 1000)
        api.put("/api/spaces/lose/grants/admin", json={"level": "read"})
        assert api.post("/api/admin/backup", json={"destination": "daily"}).status_code == 200
        api.delete("/api/spaces/lose").raise_for_status()
        _upload(api, "keep", 1, b"changed after the backup")

        clash = api.post("/api/admin/restore", json={"source": "daily", "spaces": ["keep"]})
        assert clash.status_code == 409 and "keep" in clash.json()["detail"]
        restored = api.post("/api/admin/restore", json={"source": "daily", "spaces": ["lose"]})
        assert restored.status_code == 200, restored.text
        assert restored.json()["spaces"] == ["lose"]
        assert _download(api, "lose", 1) == b"lose" * 1000
        assert _download(api, "keep", 1) == b"changed after the backup"  # untouched
        assert api.get("/api/spaces/lose").status_code == 200
        unknown = api.post("/api/admin/restore", json={"source": "daily", "spaces": ["never"]})
        assert unknown.status_code == 404


def test_verify_finds_missing_corrupt_and_orphaned_blobs_without_changing_anything(server_factory):
    server = server_factory(name="verify")
    with server.client() as api:
        api.post("/api/spaces", json={"space_id": "v"})
        for n in range(3):
            _create(api, "v", n)
            _upload(api, "v", n, f"content {n}".encode() * 100)
        clean = api.get("/api/admin/verify", params={"orphan_min_age_seconds": 0}).json()
        assert clean["ok"] and clean["blobs_checked"] == 3
        keys = {
            n: _value(node, "hasBlobKey")
            for n, node in ((int(u.rsplit("/", 1)[1]), node) for u, node in _files(api, "v").items())
        }
        blobs = server.data_dir / "blobs"
        (blobs / keys[0]).unlink()
        (blobs / keys[1]).write_bytes(b"tampered")
        stray = blobs / "spaces" / "stray-blob"
        stray.parent.mkdir(parents=True, exist_ok=True)
        stray.write_bytes(b"nobody's")
        report = api.get("/api/admin/verify", params={"orphan_min_age_seconds": 0}).json()
        assert report["missing"] == [keys[0]]
        assert report["corrupt"] == [keys[1]]
        assert report["orphaned"] == ["spaces/stray-blob"]
        assert not report["ok"]
        assert stray.exists() and (blobs / keys[1]).read_bytes() == b"tampered"  # nothing changed
        young = api.get("/api/admin/verify", params={"orphan_min_age_seconds": 3600}).json()
        assert young["orphaned"] == []


@pytest.mark.parametrize("where", ["../outside", "/etc/vitalgraph-backup", "ftp://host/x", "s3:///no-bucket"])
def test_backup_locations_are_confined(server_factory, tmp_path, where):
    server = server_factory({"VITALGRAPH_BACKUP_ROOT": str(tmp_path / "root")})
    with server.client() as api:
        response = api.post("/api/admin/backup", json={"destination": where})
    assert response.status_code == 400, response.text
    assert not (tmp_path / "outside").exists()


def test_only_admins_back_up(server_factory):
    server = server_factory(name="admins-only")
    with server.client() as api:
        api.post(
            "/api/users", json={"username": "bob", "password": "correct-horse-battery-7", "role": "writer"}
        )
    token = httpx.post(
        f"{server.url}/api/login", data={"username": "bob", "password": "correct-horse-battery-7"}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    for method, path, body in [
        ("POST", "/api/admin/backup", {"destination": "x"}),
        ("POST", "/api/admin/restore", {"source": "x"}),
        ("GET", "/api/admin/verify", None),
    ]:
        assert httpx.request(method, server.url + path, json=body, headers=headers).status_code == 403
