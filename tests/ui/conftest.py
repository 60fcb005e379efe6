"""The web app in a real browser: Debian's Chromium driven by Playwright for Python.

The browser is the distribution's (`apt-get install chromium`, done by .ci/run); Playwright's own
browser download is never used. Without /usr/bin/chromium these tests skip, naming the package.
They run in `make test`; .ci/run installs Chromium first and makes its absence a failure.
Every page runs behind a dead proxy (`--proxy-server=127.0.0.1:9`): loopback is never proxied, so
the app works only if everything it loads comes from the server itself.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.servers import ADMIN_PASSWORD, RunningServer

CHROMIUM = os.environ.get("VITALGRAPH_TEST_CHROMIUM", "/usr/bin/chromium")
REQUIRE_CHROMIUM_ENV = "VITALGRAPH_TEST_REQUIRE_CHROMIUM"  # set by .ci/run: no Chromium fails, not skips
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
MiB = 1024 * 1024
# Screenshots go to a temporary folder; `make ui-screenshots` sends them to docs/ui/ for docs/ui.md.
SCREENSHOT_DIR_ENV = "VITALGRAPH_UI_SCREENSHOTS"


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        reason = "Chromium is not installed (Debian package 'chromium': apt-get install chromium)"
        if os.environ.get(REQUIRE_CHROMIUM_ENV) == "1":  # CI installed it: a skip would hide a broken stage
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")  # type: ignore[return-value]


# Module scope, not session: while Playwright's sync API runs, its event loop is the thread's running
# loop, and every async test after it in the same worker would fail ("another loop is running").
@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path,
            args=["--no-sandbox", "--proxy-server=127.0.0.1:9", "--disable-dev-shm-usage"],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def ui_server(server_factory) -> RunningServer:
    """The server the browser talks to. Access tokens live 15 s, so the app refreshes its session
    several times during every test, uploads included."""
    return server_factory(
        {
            "VITALGRAPH_MAX_STREAMING_FILE_SIZE": str(1024 * MiB),
            "VITALGRAPH_ACCESS_TOKEN_TTL_SECONDS": "15",
            "VITALGRAPH_LOGIN_MAX_FAILURES": "0",
        },
        name="ui",
    )


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    folder = os.environ.get(SCREENSHOT_DIR_ENV)
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


class App:
    """One browser page on the app, recording every URL it requests."""

    def __init__(self, page, server: RunningServer, screenshots: Path) -> None:
        self.page = page
        self.server = server
        self.screenshots = screenshots
        self.requested: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda request: self.requested.append(request.url))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.set_default_timeout(30_000)

    def open(self) -> App:
        self.page.goto(self.server.url + "/")
        return self

    def sign_in(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> App:
        page = self.page
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="Sign out").wait_for()
        page.locator("main h1").first.wait_for()  # the view the app was showing, rendered
        return self

    def create_space(self, space_id: str) -> App:
        page = self.page
        page.get_by_role("link", name="VitalGraph").click()
        page.get_by_role("heading", name="Spaces", exact=True).wait_for()
        page.get_by_label("Space id").fill(space_id)
        page.get_by_role("button", name="Create space").click()
        page.get_by_role("link", name=space_id, exact=True).click()
        page.get_by_role("heading", name=f"Files in '{space_id}'").wait_for()
        return self

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.screenshots / f"{name}.png"))

    def external_requests(self) -> list[str]:
        own = self.server.url + "/"
        return [u for u in self.requested if not (u.startswith(own) or u.startswith(("blob:", "data:")))]


@pytest.fixture
def new_app(browser, ui_server: RunningServer, screenshots: Path) -> Iterator:
    contexts = []

    def make(viewport: dict | None = None, **options: object) -> App:
        context = browser.new_context(viewport=viewport or DESKTOP, accept_downloads=True, **options)
        contexts.append(context)
        return App(context.new_page(), ui_server, screenshots)

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def prefixed(server_factory) -> Iterator:
    """A server reached only through a reverse proxy under /vg/ (PUBLIC_BASE_URL says so)."""
    from tests.fixtures.servers import free_port
    from tests.ui.prefix_proxy import PrefixProxy

    port = free_port()
    server = server_factory({"VITALGRAPH_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}/vg"}, name="ui-prefixed")
    proxy = PrefixProxy(server.url, port).start()
    yield server, proxy
    proxy.stop()
