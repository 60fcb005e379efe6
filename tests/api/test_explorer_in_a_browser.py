"""/docs and /redoc render in a real browser (headless Chromium) that can reach nothing but the server."""

from __future__ import annotations

import shutil
import subprocess

import pytest

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="needs Chromium (Debian package `chromium`, installed by .ci/run)"
)


def rendered(url: str, tmp_path) -> str:
    """The DOM after the page's scripts ran; every host but 127.0.0.1 fails to resolve (no network)."""
    run = subprocess.run(
        [
            str(BROWSER),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


def test_swagger_ui_renders_the_operations_and_the_authorize_button(local_server, tmp_path):
    dom = rendered(f"{local_server.url}/docs", tmp_path)
    assert 'class="swagger-ui' in dom
    assert "opblock" in dom and "/api/files/stream/upload" in dom  # the operations were drawn
    assert "Authorize" in dom and "btn authorize" in dom


def test_redoc_renders_the_reference(local_server, tmp_path):
    dom = rendered(f"{local_server.url}/redoc", tmp_path)
    assert "/api/files/stream/download" in dom and "VitalGraph" in dom
