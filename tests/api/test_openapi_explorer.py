"""The API explorer: /docs and /redoc from the server's own assets, a login in "Authorize", and an
OpenAPI document that declares upload bodies and every download status, validated by openapi-spec-validator."""

from __future__ import annotations

import re

import httpx
import pytest
from openapi_spec_validator import validate

from tests.fixtures.servers import ADMIN_PASSWORD

DOWNLOADS = [("/api/files/stream/download", m) for m in ("get", "head")] + [
    ("/api/files/download", m) for m in ("get", "head")
]

http = httpx.Client(timeout=120)  # a bound for a hang: the shared machine is slow, not broken


@pytest.fixture(scope="module")
def spec(local_server) -> dict:
    response = http.get(f"{local_server.url}/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_the_document_is_valid_openapi(spec):
    validate(spec)


def test_every_operation_has_a_summary_and_a_description(spec):
    missing = [
        f"{method.upper()} {path}"
        for path, method, op in operations(spec)
        if not op.get("summary") or not op.get("description", "").strip()
    ]
    assert missing == []
    assert len(list(operations(spec))) >= 50


def test_authorize_offers_a_password_login_and_a_token(spec):
    schemes = spec["components"]["securitySchemes"]
    assert schemes["login"]["type"] == "oauth2"
    assert schemes["login"]["flows"]["password"]["tokenUrl"] == "/api/login"
    assert schemes["token"] == {**schemes["token"], "type": "http", "scheme": "bearer"}
    secured = spec["paths"]["/api/spaces"]["get"]["security"]
    assert {"login": []} in secured and {"token": []} in secured


def test_the_password_flow_as_swagger_ui_sends_it_logs_in(local_server):
    """Swagger UI posts grant_type, username, password, scope (and client_id) as a form."""
    form = {
        "grant_type": "password",
        "username": "admin",
        "password": ADMIN_PASSWORD,
        "scope": "",
        "client_id": "",
    }
    reply = http.post(f"{local_server.url}/api/login", data=form)
    assert reply.status_code == 200 and reply.json()["token_type"] == "bearer"
    spaces = http.get(
        f"{local_server.url}/api/spaces", headers={"Authorization": f"Bearer {reply.json()['access_token']}"}
    )
    assert spaces.status_code == 200


@pytest.mark.parametrize("method", ["post", "put"])
def test_stream_upload_declares_raw_and_multipart_bodies(spec, method):
    content = spec["paths"]["/api/files/stream/upload"][method]["requestBody"]["content"]
    assert content["application/octet-stream"]["schema"] == {"type": "string", "format": "binary"}
    multipart = content["multipart/form-data"]["schema"]
    assert multipart["properties"]["file"]["format"] == "binary" and multipart["required"] == ["file"]


def test_legacy_upload_and_tus_patch_declare_their_bodies(spec):
    legacy = spec["paths"]["/api/files/upload"]["post"]["requestBody"]["content"]
    assert list(legacy) == ["multipart/form-data"]
    assert legacy["multipart/form-data"]["schema"]["properties"]["file"]["format"] == "binary"
    tus = spec["paths"]["/api/files/tus/{upload_id}"]["patch"]["requestBody"]["content"]
    assert tus["application/offset+octet-stream"]["schema"]["format"] == "binary"


@pytest.mark.parametrize(("path", "method"), DOWNLOADS)
def test_downloads_declare_every_status_and_their_headers(spec, path, method):
    responses = spec["paths"][path][method]["responses"]
    assert {"200", "206", "304", "404", "412", "416"} <= set(responses)
    assert {"ETag", "Accept-Ranges", "Content-Length"} <= set(responses["200"]["headers"])
    assert {"ETag", "Content-Range", "Accept-Ranges"} <= set(responses["206"]["headers"])
    assert "Content-Range" in responses["416"]["headers"] and "ETag" in responses["304"]["headers"]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_explorer_pages_load_only_from_this_server(local_server, page):
    html = http.get(f"{local_server.url}{page}").text
    external = re.findall(r"""(?:src|href)=["']?(https?://[^"' >]+)""", html)
    assert external == [], f"{page} loads from elsewhere: {external}"
    assets = re.findall(r"""(?:src|href)=["']?(/docs/assets/[^"' >]+)""", html)
    assert any(a.endswith(".js") for a in assets)
    for asset in assets:
        response = http.get(f"{local_server.url}{asset}")
        assert response.status_code == 200 and len(response.content) > 1000, asset
    assert "'/openapi.json'" in html or '"/openapi.json"' in html


def test_swagger_ui_is_wired_to_the_oauth2_redirect_and_keeps_the_login(local_server):
    html = http.get(f"{local_server.url}/docs").text
    assert "/docs/oauth2-redirect" in html and '"persistAuthorization": true' in html
    assert http.get(f"{local_server.url}/docs/oauth2-redirect").status_code == 200


def test_if_match_with_another_etag_is_412(local_server):
    with local_server.client() as api:
        space = f"ifmatch-{id(api) % 100000}"
        assert api.post("/api/spaces", json={"space_id": space}).status_code == 201
        try:
            uri = "http://example.org/if-match"
            node = {"@id": uri, "@type": "http://vital.ai/ontology/vital#FileNode"}
            assert api.post("/api/files", params={"space_id": space}, json=node).status_code == 201
            params = {"space_id": space, "uri": uri}
            etag = api.put("/api/files/stream/upload", params=params, content=b"abc").json()["sha256"]
            url = "/api/files/stream/download"
            assert api.get(url, params=params, headers={"If-Match": f'"{etag}"'}).content == b"abc"
            assert api.get(url, params=params, headers={"If-Match": "*"}).status_code == 200
            stale = api.get(url, params=params, headers={"If-Match": '"0000", W/"' + etag + '"'})
            assert stale.status_code == 412 and stale.headers["etag"] == f'"{etag}"'
            assert "If-Match" in stale.json()["detail"]
        finally:
            api.delete(f"/api/spaces/{space}")
