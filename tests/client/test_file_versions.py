"""`client.files.list_file_versions`, `download_*(version=)` and `restore_file_version` on every client
kind (sync, async, and both mocks, which run the real services), and the CLI's `files versions`,
`files download --version` and `files restore`."""

from __future__ import annotations

import hashlib
import os

import pytest
from typer.testing import CliRunner

from tests.client.conftest import make_file, make_space
from tests.client.harness import Facade
from tests.fixtures.servers import ADMIN_PASSWORD, RunningServer
from vitalgraph.cli import app
from vitalgraph.client import VitalGraphClient
from vitalgraph.client.errors import NotFoundError, PreconditionFailedError

KEPT = 2
CONTENTS = [b"first draft\n", b"second draft\n" * 50, b"final\n" * 7]


@pytest.fixture(scope="session")
def versions_server(server_factory) -> RunningServer:
    return server_factory({"VITALGRAPH_FILE_VERSIONS_KEPT": str(KEPT)}, name="client-versions")


@pytest.fixture(scope="session")
def versioned(new_client, versions_server: RunningServer) -> Facade:
    return new_client(versions_server, server_settings={"FILE_VERSIONS_KEPT": KEPT}).open()


def test_versions_list_download_and_restore(versioned: Facade, tmp_path) -> None:
    space = make_space(versioned)
    uri = make_file(versioned, space)
    for data in CONTENTS:
        versioned.files.upload_file_stream(space, None, uri, data)
    listed = versioned.files.list_file_versions(space, uri)
    assert listed.uri == uri
    assert [v.sha256 for v in listed.versions] == [hashlib.sha256(d).hexdigest() for d in CONTENTS[1::-1]]
    assert all(v.uploader == "admin" and v.modified is not None for v in listed.versions)
    second, first = listed.versions

    assert versioned.files.download_file_content(space, None, uri, version=first.version) == CONTENTS[0]
    result = versioned.files.download_file_stream(
        space, None, uri, tmp_path / "v.bin", version=second.version
    )
    assert (tmp_path / "v.bin").read_bytes() == CONTENTS[1] and result.sha256 == second.sha256
    resumed = versioned.files.download_file_stream(
        space, None, uri, tmp_path / "r.bin", version=first.version, resume=True
    )
    assert (tmp_path / "r.bin").read_bytes() == CONTENTS[0] and resumed.size == first.size
    assert b"".join(versioned.files.iter_file(space, None, uri, version=second.version)) == CONTENTS[1]
    with pytest.raises(NotFoundError, match="no version 12345"):
        versioned.files.download_file_content(space, None, uri, version=12345)

    node_version = versioned.files.get_file(space, uri).nodeVersion
    with pytest.raises(PreconditionFailedError):
        versioned.files.restore_file_version(space, uri, first.version, if_match=node_version - 1)
    restored = versioned.files.restore_file_version(space, uri, first.version, if_match=node_version)
    assert (restored.sha256, restored.version) == (first.sha256, node_version + 1)
    assert versioned.files.download_file_content(space, None, uri) == CONTENTS[0]
    after = versioned.files.list_file_versions(space, uri).versions
    assert [v.sha256 for v in after] == [hashlib.sha256(d).hexdigest() for d in (CONTENTS[2], CONTENTS[1])]
    versioned.spaces.delete_space(space)


def test_a_server_keeping_no_versions_lists_none(client: Facade, space: str) -> None:
    uri = make_file(client, space)
    client.files.upload_file_stream(space, None, uri, b"one")
    client.files.upload_file_stream(space, None, uri, b"two")
    assert client.files.list_file_versions(space, uri).versions == []


def test_cli_lists_downloads_and_restores_versions(
    versions_server: RunningServer, monkeypatch, tmp_path
) -> None:
    monkeypatch.setenv("VITALGRAPH_CLIENT_SERVER_URL", versions_server.url)
    monkeypatch.setenv("VITALGRAPH_CLIENT_USERNAME", "admin")
    monkeypatch.setenv("VITALGRAPH_CLIENT_PASSWORD", ADMIN_PASSWORD)
    runner = CliRunner()
    space, uri = f"cli-{os.urandom(4).hex()}", "http://example.org/cli/versioned"
    with VitalGraphClient() as client:
        client.spaces.create_space(space)
    for n, data in enumerate(CONTENTS):
        source = tmp_path / f"draft{n}.txt"
        source.write_bytes(data)
        uploaded = runner.invoke(app, ["files", "upload", space, uri, str(source), "--create"])
        assert uploaded.exit_code == 0, uploaded.output
    with VitalGraphClient() as client:
        second, first = client.files.list_file_versions(space, uri).versions

    listed = runner.invoke(app, ["files", "versions", space, uri])
    assert listed.exit_code == 0, listed.output
    assert "2 version(s)" in listed.output and first.sha256 in listed.output and "draft0.txt" in listed.output

    target = tmp_path / "old.txt"
    downloaded = runner.invoke(
        app, ["files", "download", space, uri, str(target), "--version", str(first.version)]
    )
    assert downloaded.exit_code == 0 and target.read_bytes() == CONTENTS[0], downloaded.output

    restored = runner.invoke(app, ["files", "restore", space, uri, str(first.version)])
    assert restored.exit_code == 0 and f"restored version {first.version}" in restored.output, restored.output
    missing = runner.invoke(app, ["files", "restore", space, uri, "99999"])
    assert missing.exit_code == 1 and "no version 99999" in missing.output, missing.output
    with VitalGraphClient() as client:
        assert client.files.download_file_content(space, None, uri) == CONTENTS[0]
        client.spaces.delete_space(space)
