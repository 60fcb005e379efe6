"""The older client's graphs, objects and triples groups on the real services: concurrent creates,
and raw writes that would reach a FileNode (whose facts and bytes the file service owns)."""

from __future__ import annotations

import asyncio

import pyoxigraph as ox
import pytest

from vitalgraph.config import load_settings
from vitalgraph.errors import ConflictError, InvalidInputError
from vitalgraph.model import FileNode, GraphObject
from vitalgraph.services.container import Services
from vitalgraph.services.graphs import TriplePattern

pytestmark = pytest.mark.anyio
FILE = "http://x/file"


async def _bytes(data: bytes):
    yield data


@pytest.fixture
async def services(tmp_path):
    started = await Services.start(load_settings(DATA_DIR=tmp_path, ADMIN_PASSWORD="pw"))
    await started.spaces.create("s")
    await started.files.create_files("s", "g", [FileNode(URI=FILE, name="f")])
    await started.files.upload_content(
        await started.files.upload_target("s", "g", FILE), _bytes(b"bytes"), content_type=None, filename=None
    )
    yield started
    await started.stop()


async def test_two_creates_of_one_graph_give_one_conflict(services: Services) -> None:
    results = await asyncio.gather(
        services.graphs.create("s", "urn:g"), services.graphs.create("s", "urn:g"), return_exceptions=True
    )
    assert sorted(type(r).__name__ for r in results) == ["ConflictError", "GraphInfo"]
    with pytest.raises(ConflictError):
        await services.graphs.create("s", "urn:g")


async def test_raw_writes_cannot_touch_a_file_node(services: Services) -> None:
    before = await services.files.get_file("s", "g", FILE)
    name = ox.NamedNode("http://vital.ai/ontology/vital-core#hasName")
    with pytest.raises(InvalidInputError, match="FileNode"):
        await services.triples.add("s", "g", [ox.Triple(ox.NamedNode(FILE), name, ox.Literal("renamed"))])
    with pytest.raises(InvalidInputError, match="FileNode|set by the server"):
        await services.triples.delete("s", "g", TriplePattern(subject=FILE))
    with pytest.raises(InvalidInputError, match="FileNode"):
        await services.triples.delete("s", "g", TriplePattern(subject=FILE, predicate=str(name.value)))
    make_file = ox.Triple(
        ox.NamedNode("http://x/other"),
        ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
        ox.NamedNode(FileNode.class_uri),
    )
    with pytest.raises(InvalidInputError, match="would become a FileNode"):
        await services.triples.add("s", "g", [make_file])
    impostor = GraphObject(FILE, class_uri="http://example.org/Thing")
    with pytest.raises(InvalidInputError, match="FileNode"):
        await services.objects.update("s", "g", [impostor])
    with pytest.raises(InvalidInputError, match="FileNode"):
        await services.objects.delete("s", "g", [FILE])
    after = await services.files.get_file("s", "g", FILE)
    assert (after.blobKey, after.sha256, after.name) == (before.blobKey, before.sha256, before.name)
