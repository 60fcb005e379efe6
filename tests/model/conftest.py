"""Fixtures for the graph-object model tests: the golden VitalSigns files and the same
objects built with our model."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from vitalgraph.model import (
    Edge_hasEntityKGFrame,
    Edge_hasKGDocumentFileNode,
    Edge_hasKGSlot,
    FileNode,
    GraphObject,
    KGEntity,
    KGEntityType,
    KGFrame,
    KGURISlot,
)

# Golden files written by VitalSigns itself, kept in the repository (see tests/fixtures/vitalsigns/README.md).
FIXTURES_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "vitalsigns"

FILE_URI = "http://example.org/space1/file/abc123"
ENTITY_URI = "http://example.org/space1/org/acme"
ORGANIZATION_TYPE_URI = "http://vital.ai/ontology/haley-ai-kg#OrganizationEntity"


def build_fixture_objects() -> dict[str, GraphObject]:
    """The objects the golden files describe, built in Python (fixture name -> object)."""
    return {
        "FileNode": FileNode(
            URI=FILE_URI,
            name="report.pdf",
            fileName="report.pdf",
            fileURL="s3://bucket/space1/abc123",
            fileLength=1048576,
            fileType="application/pdf",
            timestamp=1767225600000,
            active=True,
            expirationDate=datetime(2027, 1, 1, tzinfo=UTC),
        ),
        "KGEntity": KGEntity(URI=ENTITY_URI, name="Acme Corp", kGEntityType=ORGANIZATION_TYPE_URI),
        "KGEntityType": KGEntityType(
            URI=ORGANIZATION_TYPE_URI, name="Organization", kGraphDescription="An organization"
        ),
        "KGFrame": KGFrame(URI="urn:frame:1", name="Acme documents", kGFrameType="urn:kgtype:DocumentFrame"),
        "KGURISlot": KGURISlot(
            URI="urn:slot:1", kGSlotType="urn:kgtype:DocumentFileURISlot", uriSlotValue=FILE_URI
        ),
        "Edge_hasEntityKGFrame": Edge_hasEntityKGFrame(
            URI="urn:edge:1", edgeSource=ENTITY_URI, edgeDestination="urn:frame:1"
        ),
        "Edge_hasKGSlot": Edge_hasKGSlot(
            URI="urn:edge:2", edgeSource="urn:frame:1", edgeDestination="urn:slot:1"
        ),
        "Edge_hasKGDocumentFileNode": Edge_hasKGDocumentFileNode(
            URI="urn:edge:3", edgeSource="urn:doc:1", edgeDestination=FILE_URI
        ),
    }


FIXTURE_NAMES = sorted(build_fixture_objects())


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The golden files; missing ones are a broken checkout, so the test fails (it never skips)."""
    assert (FIXTURES_DIR / "properties.json").is_file(), (
        f"VitalSigns golden fixtures missing from {FIXTURES_DIR}"
    )
    return FIXTURES_DIR


@pytest.fixture(scope="session")
def load_json(fixtures_dir: Path) -> Callable[[str], Any]:
    def load(file_name: str) -> Any:
        return json.loads((fixtures_dir / file_name).read_text(encoding="utf-8"))

    return load


@pytest.fixture(scope="session")
def load_nt_triples(fixtures_dir: Path) -> Callable[[str], set[ox.Triple]]:
    def load(file_name: str) -> set[ox.Triple]:
        text = (fixtures_dir / file_name).read_text(encoding="utf-8")
        return {quad.triple for quad in ox.parse(text, format=ox.RdfFormat.N_TRIPLES)}

    return load


@pytest.fixture(scope="session")
def property_tables(load_json: Callable[[str], Any]) -> dict[str, Any]:
    return load_json("properties.json")


@pytest.fixture
def fixture_objects() -> dict[str, GraphObject]:
    return build_fixture_objects()
