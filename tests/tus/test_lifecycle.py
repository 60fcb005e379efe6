"""Uploads across a server restart, expiry and garbage collection, and CORS for browsers."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from tests.tus.conftest import make_target, multipart_uploads, server_env, staged_files

MiB = 1024 * 1024
DATA = os.urandom(7 * MiB + 5)


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def launch(server_factory):
    """Start a server of the test's own; the same `name` again means the same data dir."""
    prefix = f"tus-{uuid.uuid4().hex[:8]}"
    return lambda env, name="data": server_factory(env, name=f"{prefix}-{name}")


def test_an_upload_survives_a_server_restart(store, request, launch):
    env = server_env(store, request)
    first = launch(env)
    with first.client() as client:
        target = make_target(first, client)
        url = target.new_upload(len(DATA))
        assert target.patch(url, 0, DATA[: 6 * MiB]).status_code == 204
    first.stop()

    second = launch(env)  # same data dir, same store: a new process that never saw the upload
    with second.client() as client:
        target.client = client
        url = url.replace(first.url, second.url)
        head = target.head(url)
        assert head.status_code == 200, head.text
        assert head.headers["upload-offset"] == str(6 * MiB)
        assert target.patch(url, 6 * MiB, DATA[6 * MiB :]).status_code == 204
        download = target.download()
        # the running SHA-256 was lost with the first process: recomputed from the staged bytes
        assert download.headers["etag"] == f'"{hashlib.sha256(DATA).hexdigest()}"'
        assert download.content == DATA


def test_expired_upload_is_410_and_gc_removes_the_rest(request, launch):
    env = server_env(
        "local", request, VITALGRAPH_TUS_UPLOAD_EXPIRY_SECONDS="1", VITALGRAPH_GC_INTERVAL_SECONDS="0"
    )
    server = launch(env)
    with server.client() as client:
        target = make_target(server, client)
        touched, untouched = target.new_upload(len(DATA)), target.new_upload(len(DATA))
        for url in (touched, untouched):
            assert target.patch(url, 0, DATA[:MiB]).status_code == 204
        time.sleep(1.2)
        assert target.head(touched).status_code == 410
        assert target.patch(touched, MiB, DATA[MiB:]).status_code == 404
        assert staged_files(server, touched) == []
    server.stop()
    assert staged_files(server, untouched) != []
    result = subprocess.run(
        [sys.executable, "-m", "vitalgraph.cli", "gc", "--data-dir", str(server.data_dir)],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "removed 1 expired resumable uploads" in result.stdout
    assert staged_files(server, untouched) == []
    assert list((server.data_dir / "tus").iterdir()) == []


def test_periodic_gc_removes_expired_uploads_and_their_staged_bytes(store, request, launch):
    server = launch(
        server_env(
            store, request, VITALGRAPH_TUS_UPLOAD_EXPIRY_SECONDS="2", VITALGRAPH_GC_INTERVAL_SECONDS="1"
        )
    )
    with server.client() as client:
        target = make_target(server, client)
        expiring = target.new_upload(len(DATA))
        assert target.patch(expiring, 0, DATA[: 5 * MiB + 1]).status_code == 204  # S3: one part sent
        assert staged_files(server, expiring) != []
        if store == "s3":
            assert len(multipart_uploads(server, request)) == 1
        deadline = time.monotonic() + 15
        while staged_files(server, expiring) and time.monotonic() < deadline:
            live = target.new_upload(10)  # young uploads must survive the same runs
            time.sleep(0.5)
        assert staged_files(server, expiring) == []
        assert multipart_uploads(server, request) == []
        assert list((server.data_dir / "tus").glob(f"{expiring.rsplit('/', 1)[-1]}*")) == []
        assert target.head(live).status_code == 200


def test_cors_preflight_and_exposed_headers(request, launch):
    origin = "https://app.example.com"
    server = launch(
        server_env("local", request, VITALGRAPH_CORS_ALLOW_ORIGINS=f"{origin}, https://other.example")
    )
    preflight = httpx.options(
        f"{server.url}/api/files/tus/",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization,tus-resumable,upload-offset,content-type,upload-checksum",
        },
    )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == origin
    assert "PATCH" in preflight.headers["access-control-allow-methods"]
    assert "upload-offset" in preflight.headers["access-control-allow-headers"].lower()
    refused = httpx.options(
        f"{server.url}/api/files/tus/",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "PATCH"},
    )
    assert "access-control-allow-origin" not in refused.headers

    with server.client() as client:
        target = make_target(server, client)
        response = target.create(100, headers={"Origin": origin})
        assert response.status_code == 201
        assert response.headers["access-control-allow-origin"] == origin
        exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
        assert {"location", "upload-offset", "upload-length", "upload-expires", "tus-resumable"} <= exposed


def test_no_cors_headers_unless_configured(local_server):
    preflight = httpx.options(
        f"{local_server.url}/api/files/tus/",
        headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "PATCH"},
    )
    assert "access-control-allow-origin" not in preflight.headers
