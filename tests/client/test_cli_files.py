"""`vitalgraph files upload|download|list|delete` against a real server."""

from __future__ import annotations

import hashlib
import os

import pytest
from typer.testing import CliRunner

from tests.fixtures.servers import ADMIN_PASSWORD
from vitalgraph.cli import app
from vitalgraph.client import VitalGraphClient


@pytest.fixture
def env(local_server, monkeypatch) -> dict[str, str]:
    monkeypatch.setenv("VITALGRAPH_CLIENT_SERVER_URL", local_server.url)
    monkeypatch.setenv("VITALGRAPH_CLIENT_USERNAME", "admin")
    monkeypatch.setenv("VITALGRAPH_CLIENT_PASSWORD", ADMIN_PASSWORD)
    with VitalGraphClient() as client:
        space = f"cli-{os.urandom(4).hex()}"
        client.spaces.create_space(space)
        yield {"space": space}
        client.spaces.delete_space(space)


def test_upload_list_download_delete(env, tmp_path):
    runner = CliRunner()
    source = tmp_path / "report.pdf"
    source.write_bytes(os.urandom(1_500_000))
    uri = "http://example.org/cli/report"

    uploaded = runner.invoke(app, ["files", "upload", env["space"], uri, str(source), "--create"])
    assert uploaded.exit_code == 0, uploaded.output
    assert "uploaded 1500000 bytes" in uploaded.output

    listed = runner.invoke(app, ["files", "list", env["space"]])
    assert listed.exit_code == 0 and uri in listed.output and "report.pdf" in listed.output

    target = tmp_path / "copy.pdf"
    downloaded = runner.invoke(app, ["files", "download", env["space"], uri, str(target)])
    assert downloaded.exit_code == 0, downloaded.output
    assert "sha256 verified" in downloaded.output and target.read_bytes() == source.read_bytes()

    deleted = runner.invoke(app, ["files", "delete", env["space"], uri])
    assert deleted.exit_code == 0 and "deleted 1 file" in deleted.output
    missing = runner.invoke(app, ["files", "download", env["space"], uri, str(target)])
    assert missing.exit_code == 1 and "not found" in missing.output


def test_upload_with_a_known_sha256_sends_no_bytes_when_the_space_holds_them(env, tmp_path):
    runner = CliRunner()
    source = tmp_path / "data.bin"
    source.write_bytes(os.urandom(300_000))
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    first, second = "http://example.org/cli/first", "http://example.org/cli/second"
    sent = runner.invoke(
        app, ["files", "upload", env["space"], first, str(source), "--create", "--sha256", sha]
    )
    assert sent.exit_code == 0 and "uploaded 300000 bytes" in sent.output, sent.output
    reused = runner.invoke(
        app, ["files", "upload", env["space"], second, str(source), "--create", "--sha256", sha]
    )
    assert reused.exit_code == 0 and "reused 300000 bytes" in reused.output, reused.output
    with VitalGraphClient() as client:
        nodes = {uri: client.files.get_file(env["space"], uri) for uri in (first, second)}
        assert nodes[first].blobKey == nodes[second].blobKey
        assert client.files.download_file_content(env["space"], None, second) == source.read_bytes()
    wrong = runner.invoke(app, ["files", "upload", env["space"], second, str(source), "--sha256", "0" * 64])
    assert wrong.exit_code == 1 and "digest mismatch" in wrong.output, wrong.output


def test_bad_credentials_and_missing_settings(env, monkeypatch):
    runner = CliRunner()
    wrong = runner.invoke(app, ["files", "--password", "wrong", "list", env["space"]])
    assert wrong.exit_code == 1 and "wrong username or password" in wrong.output
    monkeypatch.delenv("VITALGRAPH_CLIENT_PASSWORD")
    unset = runner.invoke(app, ["files", "list", env["space"]])
    assert unset.exit_code == 2 and "no credentials" in unset.output
    assert "--token" in unset.output and "VITALGRAPH_TOKEN" in unset.output
    assert "VITALGRAPH_CLIENT_PASSWORD" in unset.output


def test_a_token_from_the_flag_or_vitalgraph_token(env, monkeypatch):
    runner = CliRunner()
    monkeypatch.delenv("VITALGRAPH_CLIENT_PASSWORD")
    with VitalGraphClient(password=ADMIN_PASSWORD) as admin:
        token = admin.api_tokens.create_token("cli").token
    assert runner.invoke(app, ["files", "--token", token, "list", env["space"]]).exit_code == 0
    monkeypatch.setenv("VITALGRAPH_TOKEN", token)
    assert runner.invoke(app, ["files", "list", env["space"]]).exit_code == 0
    monkeypatch.setenv("VITALGRAPH_TOKEN", "not-a-token")
    refused = runner.invoke(app, ["files", "list", env["space"]])
    assert refused.exit_code == 1 and "--token" in refused.output and "VITALGRAPH_TOKEN" in refused.output


def test_an_unreachable_server_names_the_option(env):
    from tests.fixtures.servers import free_port

    result = CliRunner().invoke(
        app, ["files", "--server-url", f"http://127.0.0.1:{free_port()}", "list", "x"]
    )
    assert result.exit_code == 1 and "--server-url" in result.output
    assert "VITALGRAPH_CLIENT_SERVER_URL" in result.output


def test_help_lists_the_exit_statuses():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for status in ("0 done", "1 failed", "2 a missing or invalid setting", "130 interrupted"):
        assert status in " ".join(result.output.split()), status
