"""The export page in real Chromium: sizes side by side, gate numbers, downloads, the confirm for flagged exports,
how to load each format, and the install hint when the extra is missing."""

from __future__ import annotations

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from .conftest import FORMATS, download, lossy_under_uint8, new_run_with_snapshot, read_snapshot, require_extra

pytestmark = [pytest.mark.browser, pytest.mark.slow]
READY_MS = 300_000  # the first visit converts with TensorFlow (tens of seconds on two cores)


def open_export_page(page, server, run_id: str) -> None:
    page.goto(f"{server.url}/runs/{run_id}/export")
    page.wait_for_function("() => document.querySelector('#status').textContent === 'Ready.'", timeout=READY_MS)
    assert page.locator("#error").text_content() == ""


def saved_download(page, selector: str) -> bytes:
    with page.expect_download() as info:
        page.click(selector)
    with open(info.value.path(), "rb") as f:
        return f.read()


def test_the_page_shows_every_format_with_sizes_gate_numbers_downloads_and_how_to_load_it(trained, page):
    require_extra()
    open_export_page(page, trained.server, trained.run_id)
    rows = page.locator("#formats tbody tr")
    assert [rows.nth(i).get_attribute("data-format") for i in range(rows.count())] == list(FORMATS)
    for fmt in FORMATS:
        row = page.locator(f"#formats tr[data-format='{fmt}']")
        cells = row.locator("td").all_text_contents()
        assert cells[1].endswith("KB"), (fmt, cells)           # the download's size
        assert cells[3].endswith("%"), (fmt, cells)            # its validation accuracy
        assert row.get_attribute("data-status") == ("reference" if fmt == "tfjs" else "passed"), (fmt, cells)
    assert "quantized in" in page.locator("#formats tr[data-format='uint8'] td").nth(2).text_content()
    assert "validation split (48 of 48 images" in page.locator("#gate-note").text_content()
    snippets = page.locator("#snippets").text_content()
    for call in ("tf.loadLayersModel(", "tf_keras.models.load_model(", "tf.saved_model.load(", "serve(image=",
                 "tf.lite.Interpreter(", f"shapes-{trained.run_id}-s{trained.seq}-keras.h5"):
        assert call in snippets
    assert page.locator("#extra-hint").is_hidden()

    body = saved_download(page, "#formats tr[data-format='uint8'] a[data-format='uint8']")
    with trained.server.client() as client:
        assert body == download(client, trained.run_id, "uint8", seq=trained.seq).content


def test_a_flagged_export_downloads_only_after_the_user_accepts_the_loss(trained, no_extra_server, page):
    model_raw, weights = read_snapshot(trained.snapshot_dir())
    with no_extra_server.client() as client:
        config = client.get(f"/api/runs/{trained.run_id}").json()["config"]
        run_id = new_run_with_snapshot(client, "shapes", config, model_raw, lossy_under_uint8(model_raw, weights))
    open_export_page(page, no_extra_server, run_id)
    row = page.locator("#formats tr[data-format='uint8']")
    assert row.get_attribute("data-status") == "flagged"
    assert "flagged" in row.text_content()
    link = row.locator("a[data-format='uint8']")
    assert link.get_attribute("aria-disabled") == "true"
    with pytest.raises(PlaywrightTimeout):  # a click on the unconfirmed link downloads nothing
        with page.expect_download(timeout=1_500):
            link.click(force=True, timeout=1_000)  # forced: Playwright itself would not click an aria-disabled link
    row.locator("input[data-confirm='uint8']").check()
    assert row.locator("a[data-format='uint8']").get_attribute("aria-disabled") is None
    body = saved_download(page, "#formats tr[data-format='uint8'] a[data-format='uint8']")
    with no_extra_server.client() as client:
        assert body == download(client, run_id, "uint8", confirm="true").content

    # Without the extra: the TensorFlow formats say what they need, and the page says how to install it.
    assert page.locator("#extra-hint").is_visible()
    assert "make export-extra" in page.locator("#extra-hint").text_content()
    assert "needs the export extra" in page.locator("#formats tr[data-format='keras']").text_content()
