"""FileService.copy_content on the real services: the copy goes through the same commit as an
upload (attach_content), a damaged source is caught by its checksum and changes nothing, and
hasFileURL is the person-facing download URL built from PUBLIC_BASE_URL."""

from __future__ import annotations

import hashlib

import pytest

from vitalgraph.config import load_settings
from vitalgraph.errors import NotFoundError, StorageIntegrityError
from vitalgraph.model import FileNode
from vitalgraph.services.container import Services

pytestmark = pytest.mark.anyio


async def _bytes(*pieces: bytes):
    for piece in pieces:
        yield piece


@pytest.fixture
async def services(tmp_path):
    settings = load_settings(
        DATA_DIR=tmp_path, ADMIN_PASSWORD="pw", PUBLIC_BASE_URL="https://graph.example.com/"
    )
    started = await Services.start(settings)
    await started.spaces.create("a")
    await started.spaces.create("b")
    await started.files.create_files("a", None, [FileNode(URI="http://x/src", name="src.txt")])
    await started.files.create_files("b", "g", [FileNode(URI="http://x/dst")])
    await started.files.upload_content(
        await started.files.upload_target("a", None, "http://x/src"),
        _bytes(b"original"),
        content_type="text/plain",
        filename=None,
    )
    yield started
    await started.stop()


async def test_copy_commits_like_an_upload(services: Services) -> None:
    result = await services.files.copy_content(("a", None, "http://x/src"), ("b", "g", "http://x/dst"))
    assert (result.size, result.sha256, result.content_type) == (
        8,
        hashlib.sha256(b"original").hexdigest(),
        "text/plain",
    )
    node = await services.files.get_file("b", "g", "http://x/dst")
    assert node.fileLength == 8 and node.fileName == "src.txt"
    assert (
        node.fileURL
        == "https://graph.example.com/api/files/stream/download?space_id=b&graph_id=g&uri=http%3A%2F%2Fx%2Fdst"
    )
    source = await services.files.get_file("a", None, "http://x/src")
    assert source.blobKey != node.blobKey  # a key of the target's own: deleting one leaves the other
    await services.files.delete_files("a", None, ["http://x/src"])
    content = await services.files.open_content("b", "g", "http://x/dst")
    assert b"".join([c async for c in content.read_range(0, 7)]) == b"original"


async def test_a_damaged_source_is_refused_and_nothing_changes(services: Services) -> None:
    await services.files.upload_content(
        await services.files.upload_target("b", "g", "http://x/dst"),
        _bytes(b"previous"),
        content_type=None,
        filename=None,
    )
    before = await services.files.get_file("b", "g", "http://x/dst")
    keys_before = sorted([s.key async for s in services.blobs.list_keys()])
    source = await services.files.get_file("a", None, "http://x/src")
    (services.blobs.root / source.blobKey).write_bytes(b"bitrot!!")  # same size, other bytes
    with pytest.raises(StorageIntegrityError, match="damaged"):
        await services.files.copy_content(("a", None, "http://x/src"), ("b", "g", "http://x/dst"))
    after = await services.files.get_file("b", "g", "http://x/dst")
    assert (after.blobKey, after.sha256) == (before.blobKey, before.sha256)
    assert sorted([s.key async for s in services.blobs.list_keys()]) == keys_before


async def test_copy_needs_both_nodes_and_content(services: Services) -> None:
    with pytest.raises(NotFoundError, match="http://x/none"):
        await services.files.copy_content(("a", None, "http://x/src"), ("b", "g", "http://x/none"))
    await services.files.create_files("a", None, [FileNode(URI="http://x/empty")])
    with pytest.raises(NotFoundError, match="no content yet"):
        await services.files.copy_content(("a", None, "http://x/empty"), ("b", "g", "http://x/dst"))
