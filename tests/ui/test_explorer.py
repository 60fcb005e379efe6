"""The API explorer as a person uses it (issue 13): in Chromium with no network beyond the server,
/docs loads, "Authorize" logs in with a username and password, and "Try it out" uploads a file."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest

from tests.fixtures.servers import ADMIN_PASSWORD
from tests.ui.test_webapp import _admin_api

pytestmark = pytest.mark.browser

FILE_NODE = "http://vital.ai/ontology/vital#FileNode"
UPLOAD = "#operations-files-stream_upload_api_files_stream_upload_post"


@pytest.mark.timeout(300)
def test_a_person_logs_in_and_uploads_a_file_from_the_docs_page(browser, ui_server, tmp_path: Path) -> None:
    space, uri = f"explorer-{uuid.uuid4().hex[:6]}", "http://example.org/explorer/report"
    with _admin_api(ui_server) as api:
        api.post("/api/spaces", json={"space_id": space}).raise_for_status()
        api.post(
            "/api/files", params={"space_id": space}, json={"@id": uri, "@type": FILE_NODE}
        ).raise_for_status()
    source = tmp_path / "report.txt"
    source.write_bytes(b"uploaded from Swagger UI\n" * 1000)

    context = browser.new_context()
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.set_default_timeout(30_000)
    page.goto(ui_server.url + "/docs")

    # Authorize: the OAuth2 password flow against /api/login
    page.locator("button.authorize").first.click()
    page.locator("#oauth_username").fill("admin")
    page.locator("#oauth_password").fill(ADMIN_PASSWORD)
    page.locator(".auth-container").filter(has=page.locator("#oauth_username")).locator(
        "button.authorize"
    ).click()
    page.get_by_role("button", name="Logout").first.wait_for()
    page.locator("button.btn-done").first.click()

    # Try it out: the raw upload with a file picked from disk
    operation = page.locator(UPLOAD)
    operation.locator(".opblock-summary").first.click()
    space_input = operation.locator('tr[data-param-name="space_id"] input')
    for _ in range(3):  # "Try it out" until the fields are editable
        operation.locator("button.try-out__btn").click()
        page.wait_for_timeout(1000)
        if space_input.is_enabled():
            break
    space_input.fill(space)
    operation.locator('tr[data-param-name="uri"] input').fill(uri)
    operation.locator('input[type="file"]').first.set_input_files(str(source))
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "200", operation.locator(".live-responses-table").inner_text()
    context.close()

    with _admin_api(ui_server) as api:
        node = api.get("/api/files", params={"space_id": space, "uri": uri}).json()
        stored = api.get("/api/files/stream/download", params={"space_id": space, "uri": uri})
    assert stored.content == source.read_bytes(), node
    assert hashlib.sha256(stored.content).hexdigest() == hashlib.sha256(source.read_bytes()).hexdigest()
    own = ui_server.url + "/"
    assert [u for u in requested if not u.startswith((own, "data:", "blob:"))] == []
