"""`vitalgraph backup|verify|audit|restore` against a real server, as an operator types them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.fixtures.servers import ADMIN_PASSWORD, start_server

URI = "http://example.org/cli/report"


def _cli(*args: str, server=None, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VITALGRAPH_")}
    if server is not None:
        env.update(
            VITALGRAPH_CLIENT_SERVER_URL=server.url,
            VITALGRAPH_CLIENT_USERNAME="admin",
            VITALGRAPH_CLIENT_PASSWORD=ADMIN_PASSWORD,
        )
    return subprocess.run(
        [sys.executable, "-m", "vitalgraph.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_backup_verify_audit_and_offline_restore(server_factory, tmp_path):
    backups = tmp_path / "backups"
    server = server_factory({"VITALGRAPH_BACKUP_ROOT": str(backups)}, name="ops-cli")
    with server.client() as api:
        api.post("/api/spaces", json={"space_id": "cli"}).raise_for_status()
        node = {"@id": URI, "@type": "http://vital.ai/ontology/vital#FileNode"}
        api.post("/api/files", params={"space_id": "cli"}, json=node).raise_for_status()
        api.put("/api/files/stream/upload", params={"space_id": "cli", "uri": URI}, content=b"q3 numbers")

    done = _cli("backup", "nightly", server=server)
    assert done.returncode == 0, done.stderr
    assert "1 blobs (1 copied" in done.stdout
    checked = _cli("verify", "--orphan-min-age-seconds", "0", server=server)
    assert checked.returncode == 0 and checked.stdout.strip().endswith("ok"), checked.stdout + checked.stderr
    trail = _cli("audit", "--action", "admin.", server=server)
    actions = [json.loads(line)["action"] for line in trail.stdout.splitlines()]
    assert actions[:2] == ["admin.backup", "admin.verify"], trail.stdout + trail.stderr

    # A disk dies: rebuild an empty data folder from the backup, then serve it.
    fresh = tmp_path / "fresh"
    rebuilt = _cli("restore", str(backups / "nightly"), "--offline", "--data-dir", str(fresh))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "spaces cli" in rebuilt.stdout
    again = _cli("restore", str(backups / "nightly"), "--offline", "--data-dir", str(fresh))
    assert again.returncode == 1 and "already has spaces" in again.stderr
    revived = start_server(fresh)
    try:
        with revived.client() as api:
            got = api.get("/api/files/stream/download", params={"space_id": "cli", "uri": URI})
        assert got.content == b"q3 numbers"
    finally:
        revived.stop()


def test_errors_name_the_problem_and_exit_nonzero(server_factory, tmp_path):
    server = server_factory({"VITALGRAPH_BACKUP_ROOT": str(tmp_path / "b")}, name="ops-cli-errors")
    outside = _cli("backup", "../escape", server=server)
    assert outside.returncode == 1 and "outside BACKUP_ROOT" in outside.stderr
    nothing = _cli("restore", "never-made", "--space", "x", server=server)
    assert nothing.returncode == 1 and "no backup found" in nothing.stderr
    no_server = _cli("verify", "--server-url", "http://127.0.0.1:9", "--api-key", "x")
    assert no_server.returncode == 1 and "connection" in no_server.stderr.lower()


def test_quota_commands(server_factory):
    server = server_factory(name="ops-cli-quota")
    with server.client() as api:
        api.post("/api/spaces", json={"space_id": "quota-cli"}).raise_for_status()
    done = _cli(
        "quota",
        "set",
        "--space",
        "quota-cli",
        "--max-bytes",
        "2M",
        "--max-files",
        "10",
        "--join",
        "acme",
        server=server,
    )
    assert done.returncode == 0, done.stderr
    shown = json.loads(_cli("quota", "show", "--space", "quota-cli", server=server).stdout)
    assert shown["organization"] == "acme"
    assert shown["quotas"][0]["max_bytes"] == 2 * 1024 * 1024 and shown["quotas"][0]["max_files"] == 10
    org = _cli("quota", "set", "--organization", "acme", "--max-bytes", "1G", server=server)
    assert json.loads(org.stdout)["spaces"] == ["quota-cli"]
    bad = _cli("quota", "set", "--space", "quota-cli", "--max-bytes", "lots", server=server)
    assert bad.returncode == 2 and "whole number of bytes" in bad.stderr
