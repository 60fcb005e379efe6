"""Every JSON body is read within one size limit and one depth limit (issue 12, finding 5).

A body nested 10 000 levels deep, or nested deeper than the limit in a way the decoder survives but
the JSON-LD reader would not, answers 400 naming the limit on every route that reads JSON; a body
over the size limit answers 413 naming it. Nothing is stored.
"""

from __future__ import annotations

import json

import pytest
from fastapi.params import Form
from fastapi.routing import APIRoute

from tests.api.conftest import FILE_NODE
from vitalgraph.api.app import create_app
from vitalgraph.api.json_body import MAX_JSON_BODY_BYTES, MAX_JSON_DEPTH, BoundedBodyRoute, json_depth
from vitalgraph.config import Settings

JSON = {"Content-Type": "application/json"}


def deep_array(depth: int) -> str:
    return "[" * depth + "]" * depth


def embedded_nodes(depth: int) -> dict:
    """A FileNode holding a FileNode holding ... `depth` times: two JSON levels per node."""
    node: dict = {"@id": "http://example.org/leaf", "@type": FILE_NODE}
    for level in range(depth):
        node = {"@id": f"http://example.org/n{level}", "@type": FILE_NODE, "http://example.org/p": node}
    return node


def json_routes(space: str) -> list[tuple[str, str]]:
    """(method, path) of every route that reads a JSON body."""
    return [
        ("POST", f"/api/files?space_id={space}"),
        ("PUT", f"/api/files?space_id={space}"),
        ("POST", f"/api/graphs/kgtypes?space_id={space}"),
        ("PUT", f"/api/graphs/kgtypes?space_id={space}"),
        ("POST", f"/api/graphs/kgentities?space_id={space}"),
        ("PUT", f"/api/graphs/kgentities?space_id={space}"),
        ("POST", f"/api/graphs/sparql/{space}/query"),
        ("POST", "/api/spaces"),
        ("PUT", f"/api/spaces/{space}/grants/nobody"),
        ("POST", "/api/users"),
        ("PATCH", "/api/users/nobody"),
        ("POST", "/api/tokens"),
        ("POST", "/api/refresh"),
        ("POST", "/api/logout"),
    ]


def api_routes(routes: list) -> list[APIRoute]:
    """Every APIRoute, also those of included routers (FastAPI keeps them on the router included)."""
    found = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            found += api_routes(included.routes)
        elif isinstance(route, APIRoute):
            found.append(route)
    return found


def test_every_route_with_a_model_body_reads_it_through_the_limits() -> None:
    """A new route with a model or form body must sit on a BoundedBodyRoute router, or this fails."""
    routes = api_routes(create_app(Settings()).routes)
    with_body = [r for r in routes if r.body_field is not None]
    assert len(with_body) >= 8, [r.path for r in routes]
    assert any(isinstance(r.body_field.field_info, Form) for r in with_body)  # the login form too
    for route in with_body:
        assert isinstance(route, BoundedBodyRoute), f"{route.path} reads its body outside the limits"


@pytest.mark.parametrize("body", [deep_array(10_000), json.dumps({"query": json.loads(deep_array(500))})])
def test_deep_json_is_refused_with_400_naming_the_limit_everywhere(local_server, body: str) -> None:
    with local_server.client() as api:
        space = api.post("/api/spaces", json={"space_id": f"deep-{len(body)}"}).json()["space_id"]
        for method, path in json_routes(space):
            response = api.request(method, path, content=body, headers=JSON)
            assert response.status_code == 400, (method, path, response.text)
            assert f"nested too deeply: more than {MAX_JSON_DEPTH} levels" in response.json()["detail"], (
                method,
                path,
            )
        api.delete(f"/api/spaces/{space}")


def test_embedded_nodes_past_the_depth_limit_answer_400_and_store_nothing(local_server) -> None:
    """300 embedded nodes parse, but used to overflow the JSON-LD reader's stack (500)."""
    with local_server.client() as api:
        space = api.post("/api/spaces", json={"space_id": "deep-embedded"}).json()["space_id"]
        response = api.post("/api/files", params={"space_id": space}, json=embedded_nodes(300))
        assert response.status_code == 400, response.text
        assert f"nested too deeply: more than {MAX_JSON_DEPTH} levels" in response.json()["detail"]
        assert api.get("/api/files", params={"space_id": space}).json()["total_count"] == 0
        # at the limit it is accepted: 31 nodes inside one another (63 levels)
        nested = embedded_nodes(31)
        assert json_depth(nested) <= MAX_JSON_DEPTH
        response = api.post("/api/files", params={"space_id": space}, json=nested)
        assert response.status_code == 201, response.text
        api.delete(f"/api/spaces/{space}")


def test_an_oversized_json_body_is_refused_with_413_naming_the_limit(local_server) -> None:
    body = b'{"space_id": "' + b"x" * MAX_JSON_BODY_BYTES + b'"}'
    with local_server.client() as api:
        space = api.post("/api/spaces", json={"space_id": "big-json"}).json()["space_id"]
        for method, path in [("POST", "/api/spaces"), ("POST", f"/api/files?space_id={space}")]:
            response = api.request(method, path, content=body, headers=JSON)
            assert response.status_code == 413, response.text
            assert f"over {MAX_JSON_BODY_BYTES} bytes" in response.json()["detail"]
        # sent chunked, without a Content-Length to refuse early
        response = api.post("/api/spaces", content=iter([body[:1000], body[1000:]]), headers=JSON)
        assert response.status_code == 413, response.text
        assert f"over {MAX_JSON_BODY_BYTES} bytes" in response.json()["detail"]
        assert api.get("/api/files", params={"space_id": space}).json()["total_count"] == 0
        api.delete(f"/api/spaces/{space}")


def test_json_depth_counts_levels() -> None:
    assert json_depth(1) == 0
    assert json_depth([]) == 1
    assert json_depth({"a": [1, {"b": []}]}) == 4
    assert json_depth(json.loads(deep_array(900))) == MAX_JSON_DEPTH + 1  # stops at the limit


def test_malformed_json_on_a_model_route_names_the_problem(local_server) -> None:
    with local_server.client() as api:
        response = api.post("/api/spaces", content=b'{"space_id": ', headers=JSON)
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]
