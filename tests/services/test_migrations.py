"""Store format and start-up migrations, on a data folder written by the previous version.

tests/fixtures/store_v1/data was written by tests/fixtures/make_store_v1.py with the code of store
format 1: spaces alpha (writer1 manages it) and beta, files with content, an entity, and a
resumable upload half done.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import anyio
import pytest

from vitalgraph.config import load_settings
from vitalgraph.errors import StorageUnavailableError
from vitalgraph.graph.base import graph_uri
from vitalgraph.services.accounts import Role
from vitalgraph.services.auth import Principal
from vitalgraph.services.blob_keys import space_blob_prefix
from vitalgraph.services.container import Services
from vitalgraph.services.migrations import CURRENT_FORMAT, MIGRATIONS, blob_format, graph_format, migrate

pytestmark = pytest.mark.anyio
FIXTURE = Path(__file__).parent.parent / "fixtures" / "store_v1" / "data"
TUS_UPLOAD = "6cb32bbc566b4c0d8e69e35b52d5d6b7"


async def chunks(data: bytes):
    yield data


async def read_all(services: Services, space: str, graph: str | None, uri: str) -> bytes:
    content = await services.files.open_content(space, graph, uri)
    data = b"".join([c async for c in content.read_range(0, content.size - 1)])
    assert hashlib.sha256(data).hexdigest() == content.sha256
    return data


@pytest.fixture
def data_dir(tmp_path) -> Path:
    assert (FIXTURE / "graph" / "CURRENT").exists(), f"the format-1 data folder is missing: {FIXTURE}"
    target = tmp_path / "data"
    shutil.copytree(FIXTURE, target)
    return target


def settings(data_dir: Path, **more):
    return load_settings(DATA_DIR=data_dir, ADMIN_PASSWORD="fixture-admin", GC_INTERVAL_SECONDS=0, **more)


async def test_a_format_1_data_folder_is_migrated_on_start_and_keeps_working(data_dir):
    services = await Services.start(settings(data_dir))
    try:
        assert await graph_format(services.graph) == CURRENT_FORMAT == 5
        assert await blob_format(services.blobs) == CURRENT_FORMAT
        alpha, beta = await services.spaces.get("alpha"), await services.spaces.get("beta")
        assert (alpha.uid, beta.uid) == ("alpha", "beta")  # old spaces keep their graphs' and blobs' names

        report = await read_all(services, "alpha", None, "http://example.org/alpha/report")
        assert report == b"report bytes, format 1\n"
        assert await read_all(services, "beta", "docs", "http://example.org/beta/doc") == b"beta doc\n"
        entities = await services.graph.get_objects(
            graph_uri("alpha", "default"), ["http://example.org/alpha/acme"]
        )
        assert [e.name for e in entities] == ["Acme"]
        await services.access.check_user_may_write("writer1", "alpha")  # the grant survived

        # the resumable upload begun before the upgrade finishes into the same space
        progress = await services.tus.status(TUS_UPLOAD, "writer1")
        assert (progress.offset, progress.upload.space_uid) == (5, "alpha")
        done = await services.tus.append(TUS_UPLOAD, "writer1", 5, chunks(b"done!"))
        assert done.result is not None
        assert await read_all(services, "alpha", None, "http://example.org/alpha/empty") == b"half_done!"

        # metadata updates work on nodes written without a version
        [updated] = await services.files.update_files(
            "alpha", None, [await services.files.get_file("alpha", None, "http://example.org/alpha/report")]
        )
        assert updated.version == 1

        # format 4: new bytes identical to an old node's share its blob, which outlives the old node
        from vitalgraph.model import FileNode

        old_uri, copy_uri = "http://example.org/alpha/report", "http://example.org/alpha/copy"
        await services.files.create_files("alpha", None, [FileNode(URI=copy_uri)])
        await services.files.upload_content(
            await services.files.upload_target("alpha", None, copy_uri),
            chunks(b"report bytes, format 1\n"),
            content_type=None,
            filename=None,
        )
        old_key = (await services.files.get_file("alpha", None, old_uri)).blobKey
        assert (await services.files.get_file("alpha", None, copy_uri)).blobKey == old_key
        await services.files.delete_files("alpha", None, [old_uri])
        assert await read_all(services, "alpha", None, copy_uri) == b"report bytes, format 1\n"

        # a space deleted and created anew is another space, with graphs and blobs of its own
        await services.access.delete_space("alpha")
        assert [k async for k in services.blobs.list_keys(space_blob_prefix("alpha"))] == []
        again = await services.access.create_space(Principal("writer1", Role.WRITER), "alpha", None, "")
        assert again.uid.startswith("alpha~") and len(again.uid) == len("alpha~") + 32
        assert await services.files.list_files("alpha", None, page_size=10, offset=0, file_filter=None) == (
            [],
            0,
        )
    finally:
        await services.stop()

    again = await Services.start(settings(data_dir))  # a second start has nothing left to migrate
    try:
        assert await migrate(again.graph, again.blobs, data_dir) == []
        assert (await again.spaces.get("beta")).uid == "beta"
    finally:
        await again.stop()


async def test_files_written_before_versions_existed_keep_versions_once_migrated(data_dir):
    """Format 5: a file last written by an older format (no node version, no uploader) keeps its old
    content as a version when replaced; the version downloads, restores, and goes with the node."""
    services = await Services.start(settings(data_dir, FILE_VERSIONS_KEPT=2))
    try:
        doc = "http://example.org/beta/doc"
        assert await services.files.list_versions("beta", "docs", doc) == []
        await services.files.upload_content(
            await services.files.upload_target("beta", "docs", doc),
            chunks(b"beta doc, format 5\n"),
            content_type=None,
            filename=None,
            uploader="writer1",
        )
        (old,) = await services.files.list_versions("beta", "docs", doc)
        assert (old.number, old.uploader, old.size) == (0, None, len(b"beta doc\n"))
        content = await services.files.open_content("beta", "docs", doc, old.number)
        assert b"".join([c async for c in content.read_range(0, content.size - 1)]) == b"beta doc\n"
        await content.close()
        await services.files.restore_version("beta", "docs", doc, old.number)
        assert await read_all(services, "beta", "docs", doc) == b"beta doc\n"
        await services.files.delete_files("beta", "docs", [doc])
        beta = await services.spaces.get("beta")
        assert [k async for k in services.blobs.list_keys(space_blob_prefix(beta.uid))] == []
    finally:
        await services.stop()


async def test_replicas_starting_together_migrate_once(data_dir):
    services = await Services.start(settings(data_dir), collect_garbage=False)
    try:
        await services.graph.update(  # back to format 1, as if never migrated
            "DELETE WHERE { GRAPH <urn:vitalgraph:system> { <urn:vitalgraph:store> ?p ?o } }"
        )
        assert await services.blobs.delete(f"vitalgraph-store/format-{CURRENT_FORMAT}")
        results: list[list[str]] = []

        async def start_replica() -> None:
            results.append(await migrate(services.graph, services.blobs, data_dir))

        async with anyio.create_task_group() as group:
            for _ in range(3):
                group.start_soon(start_replica)
        assert sorted(len(r) for r in results) == [0, 0, len(MIGRATIONS)]  # one replica ran every step
        assert await graph_format(services.graph) == CURRENT_FORMAT
    finally:
        await services.stop()


async def test_a_store_written_by_a_newer_version_is_refused(data_dir):
    services = await Services.start(settings(data_dir), collect_garbage=False)
    await services.graph.update(
        "DELETE WHERE { GRAPH <urn:vitalgraph:system> { <urn:vitalgraph:store> ?p ?o } };\n"
        "INSERT DATA { GRAPH <urn:vitalgraph:system> { <urn:vitalgraph:store> <urn:vitalgraph:formatVersion> 99 } }"
    )
    await services.stop()
    with pytest.raises(StorageUnavailableError, match="format 99.*newer VitalGraph"):
        await Services.start(settings(data_dir))


def test_a_server_on_the_local_store_never_imports_the_s3_client(tmp_path):
    """Migrating a fresh data folder imported boto (a second of CPU at every start): the S3 step asks
    the blob store for its capability instead."""
    import subprocess
    import sys

    script = (
        "import asyncio, sys\n"
        "from vitalgraph.config import load_settings\n"
        "from vitalgraph.services.container import Services\n"
        "async def main():\n"
        f"    s = await Services.start(load_settings(DATA_DIR={str(tmp_path)!r}, ADMIN_PASSWORD='pw'),"
        " collect_garbage=False)\n"
        "    await s.stop()\n"
        "asyncio.run(main())\n"
        "print(sorted(m for m in sys.modules if m.startswith(('botocore', 'aiobotocore', 'vitalgraph.blobs.s3'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
