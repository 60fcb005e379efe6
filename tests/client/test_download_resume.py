"""`download_file_stream(..., resume=True)`, sync and async, on the part files an interrupted run leaves
(NAME.part and NAME.part.etag); the interruption itself, with a real process and SIGINT, is in
test_cli_resume.py."""

from __future__ import annotations

import asyncio
import hashlib
import os

import pytest

from tests.fixtures.servers import ADMIN_PASSWORD
from vitalgraph.client import AsyncVitalGraphClient, ChecksumMismatchError, VitalGraphClient
from vitalgraph.client._transfer import continuation
from vitalgraph.client.models import ContentInfo
from vitalgraph.model import FileNode

CONTENT = os.urandom(3 * 1024 * 1024 + 5)
URI = "http://example.org/resume/unit"
SHA = hashlib.sha256(CONTENT).hexdigest()


def info(size: int = 100, sha: str = "a" * 64) -> ContentInfo:
    return ContentInfo(uri=URI, size=size, sha256=sha, content_type="application/octet-stream")


@pytest.mark.parametrize(
    ("kept", "kept_etag", "first_try", "expected"),
    [
        (0, None, True, (0, False)),  # nothing kept: a plain download
        (40, '"' + "a" * 64 + '"', True, (40, False)),  # same content: continue
        (100, '"' + "a" * 64 + '"', True, (100, False)),  # all of it was there: only the check is left
        (40, '"' + "b" * 64 + '"', True, (0, True)),  # the file changed: start over
        (140, '"' + "a" * 64 + '"', True, (0, True)),  # more than the file: not ours to continue
        (40, '"' + "a" * 64 + '"', False, (0, True)),  # it changed between HEAD and GET: start over
    ],
)
def test_what_to_keep(kept, kept_etag, first_try, expected):
    assert continuation(kept, kept_etag, info(), first_try) == expected


@pytest.fixture(scope="module")
def space(local_server):
    with VitalGraphClient(local_server.url, username="admin", password=ADMIN_PASSWORD) as client:
        name = f"resume-unit-{os.urandom(3).hex()}"
        client.spaces.create_space(name)
        client.files.create_file(name, [FileNode(URI, name="unit.bin")])
        client.files.upload_file_stream(name, None, URI, CONTENT)
        yield name
        client.spaces.delete_space(name)


def leave_part(path, data: bytes, sha: str) -> None:
    path.with_name(path.name + ".part").write_bytes(data)
    path.with_name(path.name + ".part.etag").write_text(f'"{sha}"\n')


def download(local_server, space, path, kind: str):
    credentials = {"username": "admin", "password": ADMIN_PASSWORD}
    if kind == "sync":
        with VitalGraphClient(local_server.url, **credentials) as client:
            return client.files.download_file_stream(space, None, URI, path, resume=True)

    async def run():
        async with AsyncVitalGraphClient(local_server.url, **credentials) as client:
            return await client.files.download_file_stream(space, None, URI, path, resume=True)

    return asyncio.run(run())


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_continues_from_the_kept_bytes(local_server, space, tmp_path, kind):
    target = tmp_path / "unit.bin"
    leave_part(target, CONTENT[:1_000_000], SHA)
    result = download(local_server, space, target, kind)
    assert (result.continued_from, result.started_over, result.resumed) == (1_000_000, False, 0)
    assert target.read_bytes() == CONTENT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["unit.bin"]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_starts_over_when_the_etag_is_another(local_server, space, tmp_path, kind):
    target = tmp_path / "unit.bin"
    leave_part(target, b"old version " * 1000, "0" * 64)
    result = download(local_server, space, target, kind)
    assert (result.continued_from, result.started_over) == (0, True)
    assert target.read_bytes() == CONTENT


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_kept_bytes_that_do_not_match_fail_and_are_removed(local_server, space, tmp_path, kind):
    target = tmp_path / "unit.bin"
    leave_part(target, b"\0" * 1_000_000, SHA)
    with pytest.raises(ChecksumMismatchError):
        download(local_server, space, target, kind)
    assert list(tmp_path.iterdir()) == []  # nothing left to continue from wrongly next time


def test_resume_needs_a_path(local_server, space):
    import io

    with VitalGraphClient(local_server.url, username="admin", password=ADMIN_PASSWORD) as client:
        with pytest.raises(TypeError, match="needs a path"):
            client.files.download_file_stream(space, None, URI, io.BytesIO(), resume=True)
