"""The whole file workflow in a real Chromium: sign in, create a space, upload three files at once (one
of 200 MiB) with progress, survive a dropped network and a reload, download byte-exact, delete, attach
to an organization, query; on a phone; by keyboard only; loading nothing from elsewhere."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import httpx
import pytest

from tests.fixtures.servers import ADMIN_PASSWORD
from tests.ui.conftest import PHONE, App, MiB

pytestmark = pytest.mark.browser

BIG = 200 * MiB
THROTTLE_BYTES_PER_SECOND = 12 * MiB


def _write(path: Path, size: int) -> str:
    """A file of random bytes, written 8 MiB at a time; returns its SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        left = size
        while left:
            block = os.urandom(min(left, 8 * MiB))
            digest.update(block)
            out.write(block)
            left -= len(block)
    return digest.hexdigest()


def _sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while block := source.read(MiB):
            digest.update(block)
    return digest.hexdigest()


def _throttle(app: App, upload_bytes_per_second: int) -> None:
    """Slow the page's uploads (Chromium's own network emulation), so progress and a break mid-upload
    can be seen: on loopback 200 MiB would be done before a test could look."""
    cdp = app.page.context.new_cdp_session(app.page)
    cdp.send("Network.enable")
    _network(cdp, offline=False, upload_bytes_per_second=upload_bytes_per_second)
    return cdp


def _network(cdp, *, offline: bool, upload_bytes_per_second: int = -1) -> None:
    conditions = {"offline": offline, "latency": 0, "downloadThroughput": -1}
    cdp.send("Network.emulateNetworkConditions", {**conditions, "uploadThroughput": upload_bytes_per_second})


def _admin_api(server) -> httpx.Client:
    """An API client signed in as admin now: tokens live only 15 s on the browser tests' server."""
    tokens = httpx.post(server.url + "/api/login", data={"username": "admin", "password": ADMIN_PASSWORD})
    tokens.raise_for_status()
    headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    return httpx.Client(base_url=server.url, headers=headers, timeout=60)


def _upload_item(app: App, name: str):
    return app.page.locator(f'#upload-list li[data-name="{name}"]')


def _files_by_name(app: App, space_id: str) -> dict[str, dict]:
    with _admin_api(app.server) as api:
        page = api.get("/api/files", params={"space_id": space_id, "page_size": 100}).json()
    nodes = page["files"]["@graph"]
    return {
        node["http://vital.ai/ontology/vital-core#hasName"][0]["@value"]: {
            "uri": node["@id"],
            "sha256": (node.get("http://vitalgraph.ai/ontology/vitalgraph#hasFileSHA256") or [{}])[0].get(
                "@value"
            ),
        }
        for node in nodes
    }


@pytest.mark.timeout(900)
def test_the_whole_workflow_on_a_desktop(new_app, tmp_path: Path) -> None:
    app = new_app().open()
    page = app.page
    app.shot("desktop-sign-in")
    app.sign_in()
    app.create_space("ui-workflow")
    app.shot("desktop-files-empty")

    # --- three files at once, one of 200 MiB, throttled so progress is visible ---------------------
    big, notes, picture = tmp_path / "big.bin", tmp_path / "notes.txt", tmp_path / "picture.png"
    big_sha = _write(big, BIG)
    notes.write_text("Quarterly notes\n" * 2000)
    picture.write_bytes(_png())
    cdp = _throttle(app, THROTTLE_BYTES_PER_SECOND)
    rss_before = app.server.rss()
    rss_peak = rss_before
    page.set_input_files("#file-picker", [str(big), str(notes), str(picture)])
    item = _upload_item(app, "big.bin")
    item.wait_for()

    seen: list[int] = []
    while len(seen) < 5:  # progress events arrive: the bytes sent grow step by step
        page.wait_for_function(
            "([el, last]) => Number(el.dataset.sent || 0) > last",
            arg=[item.element_handle(), seen[-1] if seen else 0],
        )
        seen.append(int(item.get_attribute("data-sent")))
        rss_peak = max(rss_peak, app.server.rss())
    assert seen == sorted(seen) and seen[-1] < BIG
    assert re.search(r"/s, .* left", item.locator(".meta").inner_text()), item.inner_text()
    app.shot("desktop-uploading")
    _upload_item(app, "notes.txt").and_(page.locator('[data-state="done"]')).wait_for()
    _upload_item(app, "picture.png").and_(page.locator('[data-state="done"]')).wait_for()

    # --- the network drops mid-upload; the upload goes on by itself once it is back -------------------
    page.wait_for_function("el => Number(el.dataset.sent) > 40 * 1024 * 1024", arg=item.element_handle())
    _network(cdp, offline=True)
    page.context.set_offline(True)  # navigator.onLine too
    item.and_(page.locator('[data-state="offline"]')).wait_for()
    sent_when_cut = int(item.get_attribute("data-sent"))
    app.shot("desktop-upload-offline")
    page.context.set_offline(False)
    _network(cdp, offline=False, upload_bytes_per_second=4 * THROTTLE_BYTES_PER_SECOND)
    while item.get_attribute("data-state") != "done":
        rss_peak = max(rss_peak, app.server.rss())
        page.wait_for_timeout(250)
    assert sent_when_cut < BIG
    # The server streams: its memory does not grow with the file (200 MiB here).
    assert rss_peak - rss_before < 80 * MiB, (rss_before, rss_peak)
    cdp.detach()

    files = _files_by_name(app, "ui-workflow")
    assert files["big.bin"]["sha256"] == big_sha
    assert files["notes.txt"]["sha256"] == _sha256(notes)
    assert files["picture.png"]["sha256"] == _sha256(picture)
    page.get_by_role("button", name="Clear finished").click()
    page.get_by_role("row", name=re.compile("big.bin")).wait_for()
    app.shot("desktop-files")

    # --- downloads through short-lived links, handled by the browser's download manager -------------
    for name, path in (("notes.txt", notes), ("big.bin", big)):
        with page.expect_download() as caught:
            page.get_by_role("button", name=f"Download {name}").click()
        download = caught.value
        assert download.suggested_filename == name
        assert _sha256(download.path()) == _sha256(path)
        assert "/api/files/signed?token=" in download.url
        assert "Bearer" not in download.url

    # --- preview and metadata -------------------------------------------------------------------------
    page.get_by_role("button", name="Preview picture.png").click()
    page.get_by_role("img", name="Preview of picture.png").wait_for()
    assert page.evaluate("() => document.querySelector('.preview img').naturalWidth") == 2
    app.shot("desktop-preview")
    page.get_by_role("button", name="Close").click()
    page.get_by_role("button", name="Preview notes.txt").click()
    assert page.locator(".preview pre").inner_text().startswith("Quarterly notes\nQuarterly notes")
    page.get_by_role("button", name="Close").click()
    page.get_by_role("button", name="Details of notes.txt").click()
    page.get_by_label("Name", exact=True).fill("Q3 notes")
    app.shot("desktop-details")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("row", name=re.compile("Q3 notes")).wait_for()
    assert "Q3 notes" in _files_by_name(app, "ui-workflow")

    # --- sorted and filtered by the server ------------------------------------------------------------
    page.get_by_role("button", name=re.compile("^Sort by Size")).click()
    page.wait_for_function(
        "() => document.querySelector('th[aria-sort=ascending]')?.textContent.includes('Size')"
    )
    page.wait_for_function(
        "() => document.querySelector('table[aria-label=Files] tbody tr td')?.textContent === 'picture.png'"
    )
    page.get_by_label("Filter by name").fill("big")
    page.wait_for_function("() => document.querySelectorAll('table[aria-label=Files] tbody tr').length === 1")

    # --- attach the big file to an organization, then query it ----------------------------------------
    page.get_by_role("link", name="Entities").click()
    page.get_by_label("New organization's name").fill("Acme Corporation")
    page.get_by_role("button", name="Create organization").click()
    page.get_by_label("File to attach").select_option(label="big.bin")
    page.get_by_role("button", name="Attach", exact=True).click()
    page.get_by_role("list", name="Files attached to Acme Corporation").get_by_text("big.bin").wait_for()
    app.shot("desktop-entities")
    with _admin_api(app.server) as api:
        orgs = api.get("/api/graphs/kgentities", params={"space_id": "ui-workflow"}).json()
        org_uri = orgs["entities"]["@graph"][0]["@id"]
        attached = api.get(
            "/api/graphs/kgentities/files", params={"space_id": "ui-workflow", "entity_uri": org_uri}
        ).json()
    assert attached["file_uris"] == [files["big.bin"]["uri"]]

    page.get_by_role("link", name="Query").click()
    page.get_by_label("Example queries").select_option(label="Organizations and their files")
    page.get_by_role("button", name="Run query").click()
    results = page.get_by_role("table", name="Query results")
    results.get_by_text(files["big.bin"]["uri"]).wait_for()
    assert "Acme Corporation" in results.inner_text()
    app.shot("desktop-query")
    page.get_by_label("SPARQL query (read-only)").fill("SELECT ?s WHERE { ?s ?p }")
    page.get_by_role("button", name="Run query").click()
    alert = page.get_by_role("alert").filter(has_text="SPARQL")
    alert.wait_for()
    assert "400" not in alert.inner_text() and "refused" in alert.inner_text()

    # --- delete a file, after a confirmation naming it ------------------------------------------------
    page.get_by_role("link", name="Files").click()
    page.get_by_role("button", name="Delete picture.png").click()
    assert "picture.png" in page.locator("#confirm-text").inner_text()
    page.locator("#confirm-ok").click()
    page.get_by_role("row", name=re.compile("picture.png")).wait_for(state="detached")
    assert "picture.png" not in _files_by_name(app, "ui-workflow")

    assert app.external_requests() == [], "the page loaded something from elsewhere"
    assert app.errors == []


def _png() -> bytes:
    """A 2x1 PNG, written by hand-free means: zlib and the PNG chunk layout from the standard library."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 2, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00\x00\x00\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def _focused_name(app: App) -> str:
    return app.page.evaluate(
        """() => {
            const el = document.activeElement;
            const label = el.labels && el.labels[0] ? el.labels[0].textContent : "";
            return (el.getAttribute("aria-label") || label || el.textContent || "").trim();
        }"""
    )


def _tab_to(app: App, name: str, limit: int = 80) -> None:
    """Press Tab until the focused control's accessible name is `name` (it must be reachable)."""
    seen = []
    for _ in range(limit):
        app.page.keyboard.press("Tab")
        focused = _focused_name(app)
        if focused == name:
            return
        seen.append(focused)
    raise AssertionError(f"{name!r} is not reachable by Tab; focus went through {seen}")


def _choose_files_by_keyboard(app: App, path: str, attempts: int = 3) -> None:
    """Tab to the file input and open the browser's chooser with Space. A list that finishes loading
    re-renders the panel and can take the focus away between the Tab and the Space (seen on a loaded
    machine): then the focus is found again by Tab and Space pressed again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(attempts):
        if _focused_name(app) != "choose files to upload":
            _tab_to(app, "choose files to upload")
        try:
            with app.page.expect_file_chooser(timeout=10_000) as chooser:
                app.page.keyboard.press("Space")  # the browser's own file input: Space opens the chooser
        except PlaywrightTimeout:
            if attempt + 1 == attempts:
                raise
            continue
        chooser.value.set_files(path)
        return


def test_keyboard_only(new_app, tmp_path: Path) -> None:
    app = new_app().open()
    page, keys = app.page, app.page.keyboard
    page.get_by_label("Username").wait_for()
    assert _focused_name(app) == "Username"  # the sign-in form takes the focus
    keys.type("admin")
    keys.press("Tab")
    keys.type("test-admin-password")
    keys.press("Enter")
    page.get_by_role("heading", name="Spaces", exact=True).wait_for()

    _tab_to(app, "Space id")
    keys.type("ui-keys")
    keys.press("Enter")
    page.get_by_role("link", name="ui-keys", exact=True).wait_for()
    _tab_to(app, "ui-keys")
    keys.press("Enter")
    page.get_by_role("heading", name="Files in 'ui-keys'").wait_for()

    report = tmp_path / "report.txt"
    report.write_text("typed, not clicked\n")
    _choose_files_by_keyboard(app, str(report))
    _upload_item(app, "report.txt").and_(page.locator('[data-state="done"]')).wait_for()
    page.get_by_role("button", name="Download report.txt").wait_for()

    _tab_to(app, "Download report.txt")
    with page.expect_download() as caught:
        keys.press("Enter")
    assert Path(caught.value.path()).read_text() == "typed, not clicked\n"

    _tab_to(app, "Details of report.txt")
    keys.press("Enter")
    page.wait_for_function("() => document.activeElement.labels?.[0]?.textContent === 'Name'")
    keys.press("Escape")  # closes the dialog

    _tab_to(app, "Delete report.txt")
    keys.press("Enter")
    assert _focused_name(app) == "Cancel"  # the safe choice is focused first
    keys.press("Tab")
    assert _focused_name(app) == "Delete"
    keys.press("Enter")
    page.get_by_text("No files yet").wait_for()

    _tab_to(app, "Query")
    keys.press("Enter")
    _tab_to(app, "Run query")
    keys.press("Enter")
    page.get_by_role("table", name="Query results").wait_for()
    app.shot("desktop-keyboard-query")
    assert app.errors == []


def test_phone(new_app, tmp_path: Path) -> None:
    app = new_app(viewport=PHONE, is_mobile=True, has_touch=True).open()
    page = app.page
    app.shot("phone-sign-in")
    app.sign_in()
    app.shot("phone-spaces")
    app.create_space("ui-phone")
    photo = tmp_path / "photo.png"
    photo.write_bytes(_png())
    page.set_input_files("#file-picker", [str(photo)])
    _upload_item(app, "photo.png").and_(page.locator('[data-state="done"]')).wait_for()
    app.shot("phone-upload-done")
    page.get_by_role("button", name="Clear finished").click()
    page.get_by_role("button", name="Download photo.png").wait_for()
    app.shot("phone-files")

    def no_sideways_scrolling() -> None:
        width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"the page is wider than the phone: {width}"

    no_sideways_scrolling()
    with page.expect_download() as caught:
        page.get_by_role("button", name="Download photo.png").tap()
    assert Path(caught.value.path()).read_bytes() == _png()

    page.get_by_role("link", name="Entities").tap()
    page.get_by_label("New organization's name").fill("Phone Co")
    page.get_by_role("button", name="Create organization").tap()
    page.get_by_role("button", name="Attach", exact=True).tap()
    page.get_by_role("list", name="Files attached to Phone Co").get_by_text("photo.png").wait_for()
    no_sideways_scrolling()
    app.shot("phone-entities")
    page.get_by_role("button", name="Detach photo.png from Phone Co").tap()
    page.locator("#confirm-ok").tap()
    page.get_by_text("No files attached.").wait_for()
    page.get_by_role("button", name="Attach", exact=True).tap()  # and back, for the query below
    page.get_by_role("list", name="Files attached to Phone Co").get_by_text("photo.png").wait_for()

    page.get_by_role("link", name="Query").tap()
    page.get_by_role("button", name="Run query").tap()
    page.get_by_role("table", name="Query results").wait_for()
    app.shot("phone-query")
    assert app.external_requests() == []


def test_an_ended_session_asks_to_sign_in_and_keeps_the_work(new_app) -> None:
    app = new_app().open().sign_in().create_space("ui-session")
    page = app.page
    page.get_by_role("link", name="Query").click()
    query = "SELECT (COUNT(*) AS ?triples) WHERE { ?s ?p ?o }"
    page.get_by_label("SPARQL query (read-only)").fill(query)

    refresh = page.evaluate("() => JSON.parse(sessionStorage.getItem('vitalgraph.session')).refresh")
    assert httpx.post(app.server.url + "/api/logout", json={"refresh_token": refresh}).status_code == 200

    page.get_by_role("button", name="Run query").click()
    dialog = page.get_by_role("dialog", name="Sign in to VitalGraph")
    dialog.wait_for()
    assert "nothing you were doing is lost" in dialog.inner_text()
    app.shot("desktop-session-ended")
    page.get_by_label("Password").fill("wrong password!")
    page.get_by_role("button", name="Sign in").click()
    dialog.get_by_role("alert").filter(has_text="wrong username or password").wait_for()
    page.get_by_label("Password").fill("test-admin-password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("table", name="Query results").wait_for()  # the query ran once signed in again
    assert page.get_by_label("SPARQL query (read-only)").input_value() == query


def test_the_session_is_refreshed_before_it_expires_and_sign_out_revokes_it(new_app) -> None:
    app = new_app().open().sign_in()
    page = app.page
    read = "() => JSON.parse(sessionStorage.getItem('vitalgraph.session'))"
    first = page.evaluate(read)
    # Tokens live 15 s on this server: the app renews them after about 12 s.
    page.wait_for_function(f"(old) => ({read})().access !== old", arg=first["access"], timeout=30_000)
    renewed = page.evaluate(read)
    page.get_by_role("link", name="VitalGraph").click()
    page.get_by_role("heading", name="Spaces", exact=True).wait_for()
    assert not page.get_by_role("dialog", name="Sign in to VitalGraph").is_visible()

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("dialog", name="Sign in to VitalGraph").wait_for()
    assert page.evaluate("() => sessionStorage.getItem('vitalgraph.session')") is None
    refused = httpx.get(app.server.url + "/api/me", headers={"Authorization": f"Bearer {renewed['access']}"})
    assert refused.status_code == 401  # signing out revoked the session on the server


def test_after_a_reload_the_same_file_resumes_from_the_servers_offset(new_app, tmp_path: Path) -> None:
    app = new_app().open().sign_in().create_space("ui-reload")
    page = app.page
    movie = tmp_path / "movie.bin"
    movie_sha = _write(movie, 48 * MiB)
    _throttle(app, 4 * MiB)
    page.set_input_files("#file-picker", [str(movie)])
    item = _upload_item(app, "movie.bin")
    page.wait_for_function("el => Number(el.dataset.sent || 0) > 20 * 1024 * 1024", arg=item.element_handle())
    page.reload()
    page.get_by_role("heading", name="Files in 'ui-reload'").wait_for()  # still signed in, same view

    offsets: list[int] = []
    creations: list[str] = []

    def watch(request) -> None:
        if request.method == "PATCH":
            offsets.append(int(request.headers["upload-offset"]))
        if request.method == "POST" and request.url.endswith("/api/files/tus/"):
            creations.append(request.url)

    page.on("request", watch)
    page.set_input_files("#file-picker", [str(movie)])
    item = _upload_item(app, "movie.bin")
    item.and_(page.locator('[data-state="done"]')).wait_for(timeout=120_000)
    assert creations == [], "a new upload was created instead of resuming"
    assert offsets and offsets[0] > 8 * MiB, offsets
    files = _files_by_name(app, "ui-reload")
    assert list(files) == ["movie.bin"]  # one node: the one the first upload created
    assert files["movie.bin"]["sha256"] == movie_sha


def test_behind_a_reverse_proxy_under_a_path_prefix(browser, prefixed, tmp_path: Path) -> None:
    server, proxy = prefixed
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    try:
        page = context.new_page()
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(proxy.url)
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill("test-admin-password")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_label("Space id").fill("ui-prefixed")
        page.get_by_role("button", name="Create space").click()
        page.get_by_role("link", name="ui-prefixed", exact=True).click()
        data = tmp_path / "through-the-proxy.bin"
        data_sha = _write(data, 9 * MiB)  # more than one tus chunk
        page.set_input_files("#file-picker", [str(data)])
        page.locator('#upload-list li[data-name="through-the-proxy.bin"][data-state="done"]').wait_for()
        with page.expect_download() as caught:
            page.get_by_role("button", name="Download through-the-proxy.bin").click()
        assert caught.value.url.startswith(proxy.url + "api/files/signed?")
        assert _sha256(caught.value.path()) == data_sha
        page.get_by_role("link", name="Query").click()
        page.get_by_role("button", name="Run query").click()
        page.get_by_role("table", name="Query results").get_by_text("through-the-proxy.bin").wait_for()
        outside = [u for u in requested if not u.startswith((proxy.url, "blob:", "data:"))]
        assert outside == [], "requests that missed the prefix"
    finally:
        context.close()


def test_admins_grant_access_and_a_reader_sees_only_that(new_app) -> None:
    admin = new_app().open().sign_in().create_space("ui-grants")
    page = admin.page
    with _admin_api(admin.server) as api:
        created = api.post(
            "/api/users", json={"username": "rita", "password": "purple-monkey-dishwasher", "role": "reader"}
        )
        assert created.status_code in (201, 409)
    page.get_by_role("link", name="Access").click()
    grant_form = page.get_by_role("form", name="Grant access")
    grant_form.get_by_label("Username").fill("rita")
    grant_form.get_by_label("Permission").select_option("read")
    page.get_by_role("button", name="Grant").click()
    page.get_by_role("table", name="Grants").get_by_role("cell", name="rita", exact=True).wait_for()
    admin.shot("desktop-access")
    grant_form.get_by_label("Username").fill("nobody-here")
    page.get_by_role("button", name="Grant").click()
    refused = page.get_by_role("alert").filter(has_text="nobody-here")
    refused.wait_for()
    assert "404" not in refused.inner_text()

    reader = new_app().open().sign_in("rita", "purple-monkey-dishwasher")
    reader.page.get_by_role("link", name="ui-grants", exact=True).wait_for()
    assert reader.page.get_by_role("link", name="ui-workflow").count() == 0  # not granted: not listed
    reader.page.get_by_role("button", name="Delete space ui-grants").click()
    reader.page.locator("#confirm-ok").click()
    words = reader.page.get_by_role("alert").filter(has_text="manage")
    words.wait_for()
    assert words.inner_text().startswith("You are not allowed to do that: user 'rita' needs 'manage'")
    reader.page.get_by_role("link", name="ui-grants", exact=True).click()
    reader.page.get_by_role("heading", name="Files in 'ui-grants'").wait_for()
    assert reader.page.get_by_role("link", name="Access").count() == 0  # admins only

    page.get_by_role("button", name="Revoke rita's access").click()
    page.locator("#confirm-ok").click()
    page.get_by_role("table", name="Grants").get_by_role("cell", name="rita", exact=True).wait_for(
        state="detached"
    )
    page.get_by_role("link", name="Spaces", exact=True).click()
    page.get_by_role("link", name="ui-grants", exact=True).wait_for()
    admin.shot("desktop-spaces")

    page.get_by_role("button", name="Delete space ui-grants").click()
    assert "'ui-grants'" in page.locator("#confirm-title").inner_text()
    assert "every file in it" in page.locator("#confirm-text").inner_text()
    page.locator("#confirm-ok").click()
    page.get_by_role("link", name="ui-grants", exact=True).wait_for(state="detached")
    with _admin_api(admin.server) as api:
        assert api.get("/api/spaces/ui-grants").status_code == 404


def test_cancel_ends_the_upload_and_removes_the_empty_node(new_app, tmp_path: Path) -> None:
    app = new_app().open().sign_in().create_space("ui-cancel")
    page = app.page
    slow = tmp_path / "slow.bin"
    _write(slow, 16 * MiB)
    _throttle(app, 1 * MiB)
    page.set_input_files("#file-picker", [str(slow)])
    item = _upload_item(app, "slow.bin")
    page.wait_for_function("el => Number(el.dataset.sent || 0) > 1024 * 1024", arg=item.element_handle())
    page.get_by_role("row", name=re.compile("slow.bin")).wait_for()  # listed, without content yet
    upload_urls: list[str] = []
    page.on("request", lambda r: upload_urls.append(r.url) if r.method == "DELETE" else None)
    page.get_by_role("button", name="Cancel the upload of slow.bin").click()
    item.and_(page.locator('[data-state="cancelled"]')).wait_for()
    page.get_by_role("row", name=re.compile("slow.bin")).wait_for(state="detached")
    assert _files_by_name(app, "ui-cancel") == {}
    tus_url = next(u for u in upload_urls if "/api/files/tus/" in u)
    with _admin_api(app.server) as api:
        gone = api.head(tus_url, headers={"Tus-Resumable": "1.0.0"})
    assert gone.status_code in (404, 410)  # terminated on the server, staged bytes gone


def test_an_upload_waits_for_a_new_sign_in_and_then_finishes(new_app, tmp_path: Path) -> None:
    app = new_app().open().sign_in().create_space("ui-upload-session")
    page = app.page
    data = tmp_path / "long.bin"
    data_sha = _write(data, 24 * MiB)
    _throttle(app, 2 * MiB)
    page.set_input_files("#file-picker", [str(data)])
    item = _upload_item(app, "long.bin")
    page.wait_for_function("el => Number(el.dataset.sent || 0) > 2 * 1024 * 1024", arg=item.element_handle())

    refresh = page.evaluate("() => JSON.parse(sessionStorage.getItem('vitalgraph.session')).refresh")
    assert httpx.post(app.server.url + "/api/logout", json={"refresh_token": refresh}).status_code == 200
    dialog = page.get_by_role("dialog", name="Sign in to VitalGraph")
    dialog.wait_for(timeout=60_000)  # the next chunk is refused: the upload asks for a new sign-in
    assert item.get_attribute("data-state") == "waiting"
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    item.and_(page.locator('[data-state="done"]')).wait_for(timeout=120_000)
    assert _files_by_name(app, "ui-upload-session")["long.bin"]["sha256"] == data_sha


# A one-page PDF (PDFium reads it without a cross-reference table).
HELLO_PDF = b"\n".join(
    [
        b"%PDF-1.1",
        b"1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj",
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj",
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 144]/Contents 4 0 R"
        b"/Resources<</Font<</F1<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>>>>>>>endobj",
        b"4 0 obj<</Length 44>>stream",
        b"BT /F1 24 Tf 50 60 Td (Hello PDF) Tj ET",
        b"endstream endobj",
        b"trailer<</Root 1 0 R>>",
        b"%%EOF",
        b"",
    ]
)


def test_a_pdf_is_previewed_inside_the_page(new_app, tmp_path: Path) -> None:
    app = new_app().open().sign_in().create_space("ui-pdf")
    page = app.page
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    hello = tmp_path / "hello.pdf"
    hello.write_bytes(HELLO_PDF)
    page.set_input_files("#file-picker", [str(hello)])
    _upload_item(app, "hello.pdf").and_(page.locator('[data-state="done"]')).wait_for()
    page.get_by_role("button", name="Preview hello.pdf").click()
    frame = page.locator('.preview iframe[title="PDF hello.pdf"]')
    frame.wait_for()
    assert frame.get_attribute("src").startswith("blob:")
    page.wait_for_timeout(1500)  # the viewer draws the page
    app.shot("desktop-preview-pdf")
    assert violations == []


def test_an_empty_file_uploads_too(new_app, tmp_path: Path) -> None:
    app = new_app().open().sign_in().create_space("ui-empty")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    app.page.set_input_files("#file-picker", [str(empty)])
    _upload_item(app, "empty.txt").and_(app.page.locator('[data-state="done"]')).wait_for()
    assert _files_by_name(app, "ui-empty")["empty.txt"]["sha256"] == hashlib.sha256(b"").hexdigest()


@pytest.mark.s3
def test_on_the_s3_store_downloads_use_presigned_s3_urls(
    browser, server_factory, seaweedfs, tmp_path: Path
) -> None:
    server = server_factory(seaweedfs.server_env("ui-s3", S3_PART_SIZE=str(5 * MiB)), name="ui-s3")
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    try:
        app = App(context.new_page(), server, tmp_path)
        app.open().sign_in().create_space("ui-s3")
        data = tmp_path / "on-s3.bin"
        data_sha = _write(data, 11 * MiB)  # three S3 parts through tus
        app.page.set_input_files("#file-picker", [str(data)])
        _upload_item(app, "on-s3.bin").and_(app.page.locator('[data-state="done"]')).wait_for()
        with app.page.expect_download() as caught:
            app.page.get_by_role("button", name="Download on-s3.bin").click()
        assert "X-Amz-Signature=" in caught.value.url
        assert caught.value.suggested_filename == "on-s3.bin"
        assert _sha256(caught.value.path()) == data_sha
        assert app.errors == []
    finally:
        context.close()
