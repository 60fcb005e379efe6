"""1 GiB from the browser (issue 15): the web app uploads it over tus, the session refreshing itself on
the way (access tokens live 15 s here), while the server's memory stays flat; the stored file is
byte-exact. Unthrottled: Chromium and the server share this machine's cores."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.ui.conftest import MiB
from tests.ui.test_webapp import _files_by_name, _upload_item, _write

# A throughput-and-memory bound: the measurements stage of .ci/run, beside the other peak-memory tests.
pytestmark = [pytest.mark.browser, pytest.mark.measurement]

GIB = 1024 * MiB
# What the server may grow by while 1 GiB streams through it: a few chunks and buffers, never the file.
FLAT = 80 * MiB


@pytest.mark.timeout(900)
def test_a_gibibyte_from_the_browser_keeps_server_memory_flat(new_app, tmp_path: Path) -> None:
    app = new_app().open().sign_in().create_space("ui-gibibyte")
    source = tmp_path / "gibibyte.bin"
    expected_sha = _write(source, GIB)
    rss_before = rss_peak = app.server.rss()
    started = time.monotonic()
    app.page.set_input_files("#file-picker", [str(source)])
    item = _upload_item(app, "gibibyte.bin")
    item.wait_for()
    while (state := item.get_attribute("data-state")) != "done":
        assert state not in ("failed", "cancelled"), item.inner_text()
        rss_peak = max(rss_peak, app.server.rss())
        app.page.wait_for_timeout(200)
    took = time.monotonic() - started
    print(
        f"1 GiB from Chromium in {took:.1f} s ({GIB / MiB / took:.0f} MiB/s): server RSS "
        f"{rss_before / MiB:.0f} MiB before, peak {rss_peak / MiB:.0f} MiB (+{(rss_peak - rss_before) / MiB:.0f})"
    )
    assert rss_peak - rss_before < FLAT, (rss_before, rss_peak)
    assert _files_by_name(app, "ui-gibibyte")["gibibyte.bin"]["sha256"] == expected_sha
