"""`vitalgraph upgrade --check` and `vitalgraph upgrade` on a data folder written by the previous
release (tests/fixtures/store_v1), and the refusal of a store newer than this code."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.fixtures.servers import start_server
from vitalgraph.services.migrations import CURRENT_FORMAT

FIXTURE = Path(__file__).parent.parent / "fixtures" / "store_v1" / "data"


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITALGRAPH_")}
    env["VITALGRAPH_ADMIN_PASSWORD"] = "fixture-admin"
    return subprocess.run(
        [sys.executable, "-m", "vitalgraph.cli", *args], capture_output=True, text=True, timeout=120, env=env
    )


@pytest.fixture
def old_data(tmp_path) -> Path:
    assert (FIXTURE / "graph" / "CURRENT").exists(), f"the format-1 data folder is missing: {FIXTURE}"
    shutil.copytree(FIXTURE, tmp_path / "data")
    return tmp_path / "data"


def test_check_says_what_would_change_and_changes_nothing(old_data):
    before = sorted(p.name for p in (old_data / "blobs").rglob("*"))
    checked = _cli("upgrade", "--check", "--data-dir", str(old_data))
    assert checked.returncode == 3, checked.stdout + checked.stderr
    assert "would run format 2: spaces get an immutable identity" in checked.stdout
    assert sorted(p.name for p in (old_data / "blobs").rglob("*")) == before
    assert _cli("upgrade", "--check", "--data-dir", str(old_data)).returncode == 3  # still pending

    done = _cli("upgrade", "--data-dir", str(old_data))
    assert done.returncode == 0, done.stderr
    assert "migrated: format 2" in done.stdout
    again = _cli("upgrade", "--check", "--data-dir", str(old_data))
    assert again.returncode == 0 and f"at format {CURRENT_FORMAT}" in again.stdout

    server = start_server(old_data, {"VITALGRAPH_ADMIN_PASSWORD": "fixture-admin"})
    try:
        login = httpx.post(f"{server.url}/api/login", data={"username": "admin", "password": "fixture-admin"})
        token = login.json()["access_token"]
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as api:
            response = api.get(  # the upgraded data serves
                "/api/files/stream/download",
                params={"space_id": "alpha", "uri": "http://example.org/alpha/report"},
            )
    finally:
        server.stop()
    assert response.content == b"report bytes, format 1\n"


def test_a_newer_store_is_refused_naming_both_versions(old_data):
    newer = CURRENT_FORMAT + 5
    marker = old_data / "blobs" / "vitalgraph-store" / f"format-{newer}"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(f'{{"format": {newer}}}')
    for args in (["upgrade", "--check"], ["upgrade"]):
        result = _cli(*args, "--data-dir", str(old_data))
        assert result.returncode == 1
        assert f"format {newer}" in result.stderr and f"up to {CURRENT_FORMAT}" in result.stderr
    serve = subprocess.run(
        [sys.executable, "-m", "vitalgraph.cli", "serve", "--data-dir", str(old_data), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("VITALGRAPH_")}},
    )
    assert serve.returncode != 0
    assert f"format {newer}" in serve.stderr and f"up to {CURRENT_FORMAT}" in serve.stderr
