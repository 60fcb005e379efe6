"""File versions (FILE_VERSIONS_KEPT) on both blob stores: kept and trimmed at N, read by range,
restored as a new write, under concurrent replaces and a restore racing an upload, across a crash
between the commit's steps, and with shared (deduplicated) blobs let go in every order. After each
test the store holds exactly the blobs that nodes and versions reference: none lost, no orphan."""

from __future__ import annotations

import hashlib
import itertools
import os
import random
from collections.abc import AsyncIterator

import anyio
import pytest

from tests.services.test_one_writer_per_node import add_latency
from vitalgraph.config import load_settings
from vitalgraph.errors import (
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
    StorageUnavailableError,
)
from vitalgraph.graph.base import graph_uri
from vitalgraph.model import FileNode
from vitalgraph.model.vocab import VG_BLOB_KEY
from vitalgraph.services.container import Services
from vitalgraph.services.file_versions import VERSION_OF
from vitalgraph.services.files import parse_if_match
from vitalgraph.services.graphs import TriplePattern

pytestmark = pytest.mark.anyio
SPACE = "versions"
KEPT = 3


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
async def services(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[Services]:
    extra = request.getfixturevalue("s3_settings") if request.param == "s3" else {}
    started = await Services.start(
        load_settings(
            DATA_DIR=tmp_path, ADMIN_PASSWORD="pw", GC_INTERVAL_SECONDS=0, FILE_VERSIONS_KEPT=KEPT, **extra
        ),
        collect_garbage=False,
    )
    await started.spaces.create(SPACE)
    yield started
    await started.stop()


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def new_node(services: Services) -> str:
    uri = f"http://example.org/versions/{os.urandom(6).hex()}"
    await services.files.create_files(SPACE, None, [FileNode(URI=uri)])
    return uri


async def upload(services: Services, uri: str, data: bytes, user: str = "alice") -> int:
    target = await services.files.upload_target(SPACE, None, uri)
    result = await services.files.upload_content(
        target, chunks(data), content_type="text/plain", filename=f"{len(data)}.txt", uploader=user
    )
    assert result.version is not None
    return result.version


async def read(
    services: Services, uri: str, version: int | None = None, first: int = 0, last: int = -1
) -> bytes:
    content = await services.files.open_content(SPACE, None, uri, version)
    try:
        end = content.size - 1 if last < 0 else last
        data = b"".join([c async for c in content.read_range(first, end)]) if content.size else b""
    finally:
        await content.close()
    if first == 0 and last < 0:
        assert hashlib.sha256(data).hexdigest() == content.sha256
    return data


async def versions(services: Services, uri: str) -> list[bytes]:
    """The kept contents, newest first."""
    return [await read(services, uri, v.number) for v in await services.files.list_versions(SPACE, None, uri)]


async def exists(services: Services, uri: str) -> bool:
    return bool(await services.graph.existing(graph_uri(SPACE, "default"), [uri]))


async def assert_exactly_referenced(services: Services) -> None:
    """The store holds the blobs that nodes and versions name, and nothing else: 0 lost, 0 orphans."""
    rows = await services.graph.select(
        f"SELECT DISTINCT ?key WHERE {{ GRAPH ?g {{ ?s <{VG_BLOB_KEY}> ?key }} }}"
    )
    referenced = {row["key"].value for row in rows}  # type: ignore[attr-defined]
    stored = {stat.key async for stat in services.blobs.list_keys("spaces/")}
    assert stored == referenced


async def test_versions_are_kept_trimmed_at_n_and_go_with_the_node(services):
    uri = await new_node(services)
    contents = [f"content {n}\n".encode() * (n + 1) for n in range(6)]
    for n, data in enumerate(contents):
        await upload(services, uri, data, user=f"user{n}")
        assert await versions(services, uri) == contents[max(0, n - KEPT) : n][::-1]
        await assert_exactly_referenced(services)
    kept = await services.files.list_versions(SPACE, None, uri)
    assert [v.uploader for v in kept] == ["user4", "user3", "user2"]
    assert [v.size for v in kept] == [len(contents[n]) for n in (4, 3, 2)]
    assert [v.sha256 for v in kept] == [hashlib.sha256(contents[n]).hexdigest() for n in (4, 3, 2)]
    assert all(v.modified is not None and v.content_type == "text/plain" for v in kept)
    assert kept[0].number > kept[1].number > kept[2].number
    # a metadata update keeps the versions as they are
    node = await services.files.get_file(SPACE, None, uri)
    node.name = "renamed"
    await services.files.update_files(SPACE, None, [node])
    assert await versions(services, uri) == contents[2:5][::-1]
    # a version reads by range, like the file
    assert await read(services, uri, kept[2].number, 3, 9) == contents[2][3:10]

    with pytest.raises(NotFoundError, match="no version 999"):
        await services.files.open_content(SPACE, None, uri, 999)
    await services.files.delete_files(SPACE, None, [uri])
    await assert_exactly_referenced(services)
    assert [k async for k in services.blobs.list_keys("spaces/")] == []


async def test_restore_is_a_new_write_and_keeps_what_it_replaces(services):
    uri = await new_node(services)
    for data in (b"one", b"two", b"three"):
        await upload(services, uri, data)
    one, two = reversed(await services.files.list_versions(SPACE, None, uri))
    node_version = (await services.files.get_file(SPACE, None, uri)).nodeVersion

    with pytest.raises(PreconditionFailedError):  # a stale If-Match changes nothing
        await services.files.restore_version(SPACE, None, uri, one.number, if_match=parse_if_match('"1"'))
    assert await read(services, uri) == b"three"

    result = await services.files.restore_version(
        SPACE, None, uri, one.number, if_match=parse_if_match(f'"{node_version}"'), uploader="bob"
    )
    assert (result.version, result.sha256) == (node_version + 1, hashlib.sha256(b"one").hexdigest())
    node = await services.files.get_file(SPACE, None, uri)
    assert (await read(services, uri), node.contentUploader, node.fileName) == (b"one", "bob", "3.txt")
    assert node.blobKey == one.blob_key  # no byte copied
    assert await versions(services, uri) == [b"three", b"two", b"one"]
    await assert_exactly_referenced(services)

    with pytest.raises(NotFoundError, match=f"no version {node_version + 5}"):
        await services.files.restore_version(SPACE, None, uri, node_version + 5)
    assert two.number in [v.number for v in await services.files.list_versions(SPACE, None, uri)]


async def test_concurrent_replaces_lose_and_duplicate_no_version(services):
    services.files.versions.kept = 50
    add_latency(services.graph, random.Random(int.from_bytes(os.urandom(4))))
    uri = await new_node(services)
    first = b"first"
    await upload(services, uri, first)
    racers = [f"racer {n}".encode() for n in range(8)]
    async with anyio.create_task_group() as group:
        for data in racers:
            group.start_soon(upload, services, uri, data)
    kept = await versions(services, uri)
    current = await read(services, uri)
    assert sorted([current, *kept]) == sorted([first, *racers])  # each content once: none lost or doubled
    numbers = [v.number for v in await services.files.list_versions(SPACE, None, uri)]
    assert len(set(numbers)) == len(numbers) == len(racers)
    await assert_exactly_referenced(services)


async def test_a_restore_racing_an_upload(services):
    add_latency(services.graph, random.Random(int.from_bytes(os.urandom(4))))
    for _round in range(4):
        uri = await new_node(services)
        await upload(services, uri, b"old")
        await upload(services, uri, b"current")
        (old,) = await services.files.list_versions(SPACE, None, uri)
        async with anyio.create_task_group() as group:
            group.start_soon(upload, services, uri, b"new")
            group.start_soon(services.files.restore_version, SPACE, None, uri, old.number)
        now = await read(services, uri)
        assert now in (b"old", b"new")
        kept = await versions(services, uri)
        # whichever landed last is the content, and every other content is a version, once
        assert sorted([now, *kept]) == sorted([b"old", b"current", b"new", b"old"])
        assert b"current" in kept
        await assert_exactly_referenced(services)


async def test_a_crash_between_the_commits_steps_loses_nothing(services, monkeypatch):
    uri = await new_node(services)
    for data in (b"a", b"b", b"c", b"d"):
        await upload(services, uri, data)
    assert await versions(services, uri) == [b"c", b"b", b"a"]

    # the store fails the commit's one update: neither the node nor its versions change
    real_update = services.graph.update

    async def failing(update: str) -> None:
        if "isVersionOf" in update:
            raise StorageUnavailableError("graph store down")
        await real_update(update)

    monkeypatch.setattr(services.graph, "update", failing)
    with pytest.raises(StorageUnavailableError):
        await upload(services, uri, b"e")
    monkeypatch.setattr(services.graph, "update", real_update)
    assert (await read(services, uri), await versions(services, uri)) == (b"d", [b"c", b"b", b"a"])

    # the server dies after the commit, before it releases anything: gc removes what nobody names
    async def crashed(keys, *, reason: str) -> int:
        return 0

    monkeypatch.setattr(services.files.releaser, "release", crashed)
    await upload(services, uri, b"f")
    monkeypatch.undo()
    assert (await read(services, uri), await versions(services, uri)) == (b"f", [b"d", b"c", b"b"])
    report = await services.maintenance.collect_garbage(stale_upload_seconds=0, orphan_min_age_seconds=0)
    assert report.orphan_blobs_removed == 2  # the bytes of "e" (refused) and of "a" (its version dropped)
    assert (await read(services, uri), await versions(services, uri)) == (b"f", [b"d", b"c", b"b"])
    await assert_exactly_referenced(services)


async def test_shared_blobs_held_by_versions_let_go_in_every_order(services):
    shared, other = os.urandom(64 * 1024), b"other content"
    steps = ("delete first", "delete second", "replace second", "trim first")
    for order in itertools.permutations(steps):
        services.files.versions.kept = KEPT
        first, second = await new_node(services), await new_node(services)
        await upload(services, first, shared)
        await upload(services, first, other)  # `shared` is now first's version
        await upload(services, second, shared)  # dedup: second adopts the blob first's version holds
        key = (await services.files.get_file(SPACE, None, second)).blobKey
        assert key == (await services.files.list_versions(SPACE, None, first))[0].blob_key
        holders = {"first's version", "second"}  # what references the shared blob
        for step in order:
            if step == "delete first" and await exists(services, first):
                await services.files.delete_files(SPACE, None, [first])
                holders.discard("first's version")
            elif step == "delete second":
                await services.files.delete_files(SPACE, None, [second])
                holders -= {"second", "second's version"}
            elif step == "replace second" and "second" in holders:
                await upload(services, second, other)
                holders = (holders - {"second"}) | {"second's version"}
            elif step == "trim first" and await exists(services, first):
                services.files.versions.kept = 0  # no version kept any more: first's go with its next replace
                await upload(services, first, b"trimmed")
                services.files.versions.kept = KEPT
                holders.discard("first's version")
            if holders & {"second", "second's version"}:
                assert shared in [await read(services, second), *await versions(services, second)]
            if "first's version" in holders:
                assert (await versions(services, first))[-1] == shared
            in_store = {stat.key async for stat in services.blobs.list_keys("spaces/")}
            assert (key in in_store) == bool(holders), (order, step)
            await assert_exactly_referenced(services)
        if await exists(services, first):
            await services.files.delete_files(SPACE, None, [first])
        await assert_exactly_referenced(services)


async def test_versions_off_keeps_none_and_drops_those_kept_before(services):
    uri = await new_node(services)
    for data in (b"1", b"2", b"3"):
        await upload(services, uri, data)
    assert len(await services.files.list_versions(SPACE, None, uri)) == 2
    services.files.versions.kept = 0
    assert len(await services.files.list_versions(SPACE, None, uri)) == 2  # kept until the next replace
    await upload(services, uri, b"4")
    assert await services.files.list_versions(SPACE, None, uri) == []
    await assert_exactly_referenced(services)


async def test_version_records_cannot_be_written_through_raw_triples_or_objects(services):
    uri = await new_node(services)
    await upload(services, uri, b"1")
    await upload(services, uri, b"2")
    triples, _ = await services.triples.list(
        SPACE, None, TriplePattern(predicate=VERSION_OF), page_size=10, offset=0
    )
    (subject,) = {t.subject.value for t in triples}
    with pytest.raises(InvalidInputError):
        await services.triples.delete(SPACE, None, TriplePattern(subject=subject))
    with pytest.raises(InvalidInputError):
        await services.objects.delete(SPACE, None, [subject])
    assert await versions(services, uri) == [b"1"]
