"""GET /: the web app for browsers, a JSON summary for clients that ask for JSON; the app's files under /ui/."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.fixtures.servers import RunningServer
from vitalgraph.api.routes.ui import STATIC_DIR, wants_json


def test_json_clients_get_name_version_links_and_health(local_server: RunningServer) -> None:
    response = httpx.get(local_server.url + "/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "VitalGraph" and re.fullmatch(r"\d+\.\d+\.\d+", body["version"])
    assert body["links"]["docs"] == local_server.url + "/docs"
    assert body["links"]["app"] == local_server.url + "/"
    assert body["health"]["ready"] is True and body["health"]["checks"] == {"blobs": "ok", "graph": "ok"}
    assert httpx.get(body["links"]["openapi"]).status_code == 200


def test_browsers_get_the_app_with_a_strict_policy(local_server: RunningServer) -> None:
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = httpx.get(local_server.url + "/", headers={"Accept": accept})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "ui/app.js" in response.text
    for path in ("app.js", "app.css", "vendor/tus.min.js"):
        asset = httpx.get(f"{local_server.url}/ui/{path}")
        assert asset.status_code == 200 and len(asset.content) > 100


def test_ui_folder_redirects_to_the_app_relatively(local_server: RunningServer) -> None:
    for path, location in (("/ui", "./"), ("/ui/", "../")):
        response = httpx.get(local_server.url + path)
        assert response.status_code == 307 and response.headers["location"] == location


@pytest.mark.parametrize(
    ("accept", "json"),
    [
        ("application/json", True),
        ("application/json, text/html;q=0.5", True),
        ("text/html, application/json;q=0.9", False),
        ("*/*", False),
        (None, False),
        ("application/json;q=0, text/html", False),
        ("application/json;q=bogus", False),
    ],
)
def test_content_negotiation(accept: str | None, json: bool) -> None:
    assert wants_json(accept) is json


def test_the_app_uses_only_relative_urls() -> None:
    """So it works unchanged behind a reverse proxy that serves it under a path prefix."""
    for path in STATIC_DIR.glob("*.*"):
        text = path.read_text()
        absolute = re.findall(
            r"""(?:src|href|action)=["']/|["'`]/api/|https?://(?!vital\.ai|vitalgraph\.ai|www\.w3\.org)""",
            text,
        )
        assert absolute == [], f"{path.name} uses an absolute URL: {absolute}"
