"""GET /api/files: pages sorted (`sort`) and filtered by name (`name`) on the server, on both graph stores
(embedded pyoxigraph and a SPARQL 1.1 server)."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import FILE_NODE, HAS_NAME
from tests.fixtures.servers import RunningServer

HAS_FILE_NAME = "http://vital.ai/ontology/vital#hasFileName"
FILES = {  # name -> content
    "delta.txt": b"4444",
    "alpha report.pdf": b"1",
    "Charlie.bin": b"333",
    "bravo REPORT.txt": b"22",
}


@pytest.fixture(scope="module")
def sparql_backed_server(server_factory, oxigraph_server) -> RunningServer:
    return server_factory(
        {
            "VITALGRAPH_GRAPH_BACKEND": "sparql",
            "VITALGRAPH_SPARQL_QUERY_URL": oxigraph_server.query_url,
            "VITALGRAPH_SPARQL_UPDATE_URL": oxigraph_server.update_url,
        },
        name="sparql-file-order",
    )


@pytest.fixture(params=["embedded", pytest.param("sparql", marks=pytest.mark.sparql)])
def server(request: pytest.FixtureRequest, local_server: RunningServer) -> RunningServer:
    """Sorting and filtering are the graph store's work: run on each graph backend (not each blob store)."""
    return local_server if request.param == "embedded" else request.getfixturevalue("sparql_backed_server")


@pytest.fixture
def listed(api: httpx.Client, space: str) -> str:
    for index, (name, data) in enumerate(FILES.items()):
        uri = f"http://example.org/{space}/{index}"
        node = {"@id": uri, "@type": FILE_NODE, HAS_NAME: [{"@value": name}]}
        assert api.post("/api/files", params={"space_id": space}, json=node).status_code == 201
        upload = api.post(
            "/api/files/stream/upload",
            params={"space_id": space, "uri": uri, "filename": f"file{index}"},
            content=data,
            headers={"Content-Type": f"type/t{3 - index}"},
        )
        assert upload.status_code == 200
    return space


def _names(api: httpx.Client, space: str, **params: object) -> list[str]:
    response = api.get("/api/files", params={"space_id": space, **params})
    assert response.status_code == 200, response.text
    return [node[HAS_NAME][0]["@value"] for node in response.json()["files"]["@graph"]]


def test_sort_by_name_size_type_and_uri_both_ways(api: httpx.Client, listed: str) -> None:
    by_name = ["alpha report.pdf", "bravo REPORT.txt", "Charlie.bin", "delta.txt"]  # case does not matter
    assert _names(api, listed, sort="name") == by_name
    assert _names(api, listed, sort="-name") == by_name[::-1]
    assert _names(api, listed, sort="size") == by_name  # 1, 2, 3, 4 bytes: numbers, not text
    assert _names(api, listed, sort="-size") == by_name[::-1]
    assert _names(api, listed, sort="type") == [
        "bravo REPORT.txt",
        "Charlie.bin",
        "alpha report.pdf",
        "delta.txt",
    ]
    assert _names(api, listed, sort="uri") == list(FILES)
    assert _names(api, listed, sort="-uri") == list(FILES)[::-1]
    assert _names(api, listed, sort="filename") == list(FILES)


def test_pages_follow_the_order(api: httpx.Client, listed: str) -> None:
    pages = [_names(api, listed, sort="-size", page_size=3, offset=offset) for offset in (0, 3)]
    assert pages == [["delta.txt", "Charlie.bin", "bravo REPORT.txt"], ["alpha report.pdf"]]


def test_name_filter_is_case_insensitive_and_counted(api: httpx.Client, listed: str) -> None:
    response = api.get("/api/files", params={"space_id": listed, "name": "report", "sort": "name"})
    assert response.json()["total_count"] == 2
    assert _names(api, listed, name="report", sort="name") == ["alpha report.pdf", "bravo REPORT.txt"]
    assert _names(api, listed, name="FILE2") == ["Charlie.bin"]  # the file name counts too
    assert _names(api, listed, name="zzz") == []
    assert _names(api, listed, name='"quotes" \\ and } braces') == []  # text, never SPARQL


@pytest.mark.parametrize("sort", ["colour", "--name", "name;", "-", "size desc"])
def test_unknown_sort_is_400_naming_the_parameter(api: httpx.Client, space: str, sort: str) -> None:
    response = api.get("/api/files", params={"space_id": space, "sort": sort})
    assert response.status_code == 400
    assert "'sort'" in response.json()["detail"] and "name" in response.json()["detail"]
