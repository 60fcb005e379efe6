"""Quotas per space and per organization: enforced mid-stream and at commit (507 naming the quota and
what is left, nothing left behind), on both blob stores, across two replicas, with usage shown and
exported as metrics."""

from __future__ import annotations

import concurrent.futures
import os
import uuid

import httpx
import pytest

from tests.faults.backends import SharedServer, backend, shared_server  # noqa: F401  (local and S3)
from tests.faults.state import LocalStoreView
from tests.fixtures.oxigraph import oxigraph_server  # noqa: F401
from tests.flows.test_shared_backends import server_env as shared_env

CLASS = "http://vital.ai/ontology/vital#FileNode"
MiB = 1024 * 1024


def _node(api: httpx.Client, space: str, name: str) -> httpx.Response:
    return api.post(
        "/api/files", params={"space_id": space}, json={"@id": f"http://example.org/{name}", "@type": CLASS}
    )


def _upload(api: httpx.Client, space: str, name: str, body) -> httpx.Response:  # noqa: ANN001
    return api.put(
        "/api/files/stream/upload",
        params={"space_id": space, "uri": f"http://example.org/{name}"},
        content=body,
    )


def _content_blobs(server, view) -> list[str]:
    """Every file blob and unfinished upload the server's store holds."""
    if isinstance(view, LocalStoreView):
        root = server.data_dir / "blobs"
        return sorted(p.as_posix() for p in (root / "spaces").rglob("*") if p.is_file()) + view.staging()
    client, prefix = view.client, view.prefix
    found = client.list_objects_v2(Bucket=view.bucket, Prefix=prefix + "spaces/").get("Contents", [])
    return sorted(item["Key"] for item in found) + view.staging()


def _uploaded_bytes(api: httpx.Client) -> float:
    for line in api.get("/metrics").text.splitlines():
        if line.startswith("vitalgraph_uploaded_bytes_total "):
            return float(line.split()[1])
    raise AssertionError("no vitalgraph_uploaded_bytes_total in /metrics")


@pytest.fixture
def shared(shared_server, backend) -> SharedServer:  # noqa: F811
    """The module's server for this blob store; each test takes spaces of its own."""
    return shared_server(backend, {"VITALGRAPH_USAGE_METRICS_INTERVAL_SECONDS": "0.2"})


@pytest.fixture
def server(shared: SharedServer):
    return shared.server


def test_space_byte_quota_stops_an_upload_mid_stream_and_keeps_nothing(server, shared):
    space = f"q-{uuid.uuid4().hex[:6]}"
    with server.client() as api:
        api.post("/api/spaces", json={"space_id": space}).raise_for_status()
        quota = api.put(f"/api/spaces/{space}/quota", json={"max_bytes": 4 * MiB})
        assert quota.status_code == 200, quota.text
        for name in ("a", "b", "c"):
            _node(api, space, name).raise_for_status()
        assert _upload(api, space, "a", os.urandom(3 * MiB)).status_code == 200
        before = _content_blobs(server, shared.store)
        received_before = _uploaded_bytes(api)

        def big():  # 64 MiB offered; the server must stop reading long before the end
            for _ in range(64):
                yield os.urandom(MiB)

        try:
            refused = _upload(api, space, "b", big())
            status, detail = refused.status_code, refused.json()["detail"]
        except httpx.HTTPError:  # the server may close the connection while we still send
            status, detail = 507, None
        assert status == 507
        if detail is not None:
            assert (
                f"space '{space}'" in detail
                and "4194304 bytes allowed" in detail
                and "1048576 left" in detail
            )
        assert _uploaded_bytes(api) - received_before < 8 * MiB  # the app stopped reading at the quota
        assert _content_blobs(server, shared.store) == before  # nothing kept

        # Replacing a file frees what it replaces: 3 MiB -> 4 MiB fits the 4 MiB quota.
        assert _upload(api, space, "a", os.urandom(4 * MiB)).status_code == 200
        assert _upload(api, space, "c", b"x").status_code == 507
        usage = api.get(f"/api/spaces/{space}/usage").json()
        assert usage["usage"] == {"bytes": 4 * MiB, "files": 3}
        assert usage["quotas"][0]["bytes_left"] == 0
        api.put(f"/api/spaces/{space}/quota", json={"max_bytes": None, "max_files": None})
        assert _upload(api, space, "c", b"x").status_code == 200  # quota removed


def test_file_count_quota_and_other_tenants_unaffected(server):
    space, other = f"n-{uuid.uuid4().hex[:6]}", f"o-{uuid.uuid4().hex[:6]}"
    with server.client() as api:
        for s in (space, other):
            api.post("/api/spaces", json={"space_id": s}).raise_for_status()
        api.put(f"/api/spaces/{space}/quota", json={"max_files": 2}).raise_for_status()
        assert _node(api, space, "1").status_code in (200, 201)
        assert _node(api, space, "2").status_code in (200, 201)
        third = _node(api, space, "3")
        assert third.status_code == 507
        assert "2 files allowed, 0 left" in third.json()["detail"]
        for n in range(5):  # the neighbour has no quota
            assert _node(api, other, str(n)).status_code in (200, 201)
        assert api.get(f"/api/spaces/{space}/usage").json()["usage"]["files"] == 2


def test_organization_quota_covers_all_its_spaces(server):
    tag = uuid.uuid4().hex[:6]
    first, second, org = f"acme-1-{tag}", f"acme-2-{tag}", f"acme-{tag}"
    with server.client() as api:
        for s in (first, second):
            api.post("/api/spaces", json={"space_id": s}).raise_for_status()
            assert api.put(f"/api/spaces/{s}/organization", json={"organization": org}).status_code == 200
            _node(api, s, "f").raise_for_status()
        api.put(f"/api/organizations/{org}/quota", json={"max_bytes": 1000}).raise_for_status()
        assert _upload(api, first, "f", b"a" * 700).status_code == 200
        refused = _upload(api, second, "f", b"b" * 400)
        assert refused.status_code == 507
        assert f"organization '{org}'" in refused.json()["detail"] and "300 left" in refused.json()["detail"]
        assert _upload(api, second, "f", b"b" * 300).status_code == 200
        summary = api.get(f"/api/organizations/{org}/usage").json()
        assert summary["usage"]["bytes"] == 1000 and sorted(summary["spaces"]) == sorted([first, second])


def test_racing_uploads_cannot_share_the_last_bytes(server):
    space = f"r-{uuid.uuid4().hex[:6]}"
    with server.client() as api:
        api.post("/api/spaces", json={"space_id": space}).raise_for_status()
        api.put(f"/api/spaces/{space}/quota", json={"max_bytes": 1000}).raise_for_status()
        for n in range(6):
            _node(api, space, f"r{n}").raise_for_status()

    def one(n: int) -> tuple[int, str]:
        with server.client() as api:
            response = _upload(api, space, f"r{n}", b"z" * 300)
            return response.status_code, response.text

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        answers = sorted(pool.map(one, range(6)))
    assert [status for status, _ in answers] == [200, 200, 200, 507, 507, 507], answers
    assert all("100 left" in text for status, text in answers if status == 507), answers
    with server.client() as api:
        assert api.get(f"/api/spaces/{space}/usage").json()["usage"]["bytes"] == 900


def test_usage_is_exported_as_metrics_and_only_admins_set_quotas(server):
    space = f"m-{uuid.uuid4().hex[:6]}"
    with server.client() as api:
        api.post("/api/spaces", json={"space_id": space}).raise_for_status()
        _node(api, space, "m").raise_for_status()
        _upload(api, space, "m", b"metric bytes").raise_for_status()
        api.post(
            "/api/users",
            json={"username": "quota-w", "password": "correct-horse-battery-7", "role": "writer"},
        )
        import time

        for _ in range(50):
            text = api.get("/metrics").text
            if f'vitalgraph_space_bytes{{space_id="{space}"}} 12.0' in text:
                break
            time.sleep(0.1)
        assert f'vitalgraph_space_bytes{{space_id="{space}"}} 12.0' in text
        assert f'vitalgraph_space_files{{space_id="{space}"}} 1.0' in text
    token = httpx.post(
        f"{server.url}/api/login", data={"username": "quota-w", "password": "correct-horse-battery-7"}
    ).json()["access_token"]
    writer = {"Authorization": f"Bearer {token}"}
    assert (
        httpx.put(f"{server.url}/api/spaces/{space}/quota", json={"max_bytes": 1}, headers=writer).status_code
        == 403
    )
    bad = httpx.put(f"{server.url}/api/spaces/{space}/quota", json={"max_bytes": -1}, headers=writer)
    assert bad.status_code in (403, 422)


def test_two_replicas_enforce_one_quota(server_factory, seaweedfs, oxigraph_server):  # noqa: F811
    env = shared_env(seaweedfs, oxigraph_server, f"quota-{uuid.uuid4().hex[:8]}")
    replicas = [server_factory(env, name=f"quota-replica-{n}-{uuid.uuid4().hex[:4]}") for n in range(2)]
    space = f"shared-{uuid.uuid4().hex[:6]}"
    with replicas[0].client() as api:
        api.post("/api/spaces", json={"space_id": space}).raise_for_status()
        api.put(f"/api/spaces/{space}/quota", json={"max_bytes": 1000}).raise_for_status()
        for n in range(6):
            _node(api, space, f"x{n}").raise_for_status()

    def one(n: int) -> tuple[int, str]:
        with replicas[n % 2].client() as api:
            response = _upload(api, space, f"x{n}", b"y" * 300)
            return response.status_code, response.text

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        answers = sorted(pool.map(one, range(6)))
    assert [status for status, _ in answers] == [200, 200, 200, 507, 507, 507], answers
    assert all("100 left" in text for status, text in answers if status == 507), answers
