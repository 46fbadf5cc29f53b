"""The export page in real Chromium: sizes side by side, gate numbers, downloads, the confirm for flagged exports,
how to load each format, and the install hint when the extra is missing."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from support import ROOT
from support.exports import (
    FORMATS,
    download,
    lossy_under_uint8,
    new_run_with_snapshot,
    read_snapshot,
    require_extra,
    static_files,
    unzip,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
HERE = Path(__file__).resolve().parent  # the scripts beside this file
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
        assert cells[1].endswith("KB"), (fmt, cells)  # the download's size
        assert cells[3].endswith("%"), (fmt, cells)  # its validation accuracy
        assert row.get_attribute("data-status") == ("reference" if fmt == "tfjs" else "passed"), (fmt, cells)
    assert "quantized in" in page.locator("#formats tr[data-format='uint8'] td").nth(2).text_content()
    assert "validation split (48 of 48 images" in page.locator("#gate-note").text_content()
    snippets = page.locator("#snippets").text_content()
    for call in (
        "tf.loadLayersModel(",
        "tf_keras.models.load_model(",
        "tf.saved_model.load(",
        "serve(image=",
        "tf.lite.Interpreter(",
        f'folder = "shapes-{trained.run_id}-s{trained.seq}-keras"',
        "model.h5",
        "getUserDefinedMetadata()",
        ".drawImage(image, 0, 0, input.width, input.height)",
    ):
        assert call in snippets
    assert "resizeBilinear" not in snippets  # it differs from training's canvas resize by up to 28 levels at 32 px
    assert page.locator("#labels").text_content().endswith("circle, square, triangle.")
    assert page.locator("#extra-hint").is_hidden()

    body = saved_download(page, "#formats tr[data-format='uint8'] a[data-format='uint8']")
    bare = saved_download(page, "#formats tr[data-format='tflite'] a[data-raw='tflite']")
    with trained.server.client() as client:
        assert body == download(client, trained.run_id, "uint8", seq=trained.seq).content
        assert bare == download(client, trained.run_id, "tflite", seq=trained.seq, raw="true").content
    assert bare[4:8] == b"TFL3"


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
    # a click on the unconfirmed link downloads nothing
    with pytest.raises(PlaywrightTimeout), page.expect_download(timeout=1_500):
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


SNIPPET_LINE = re.compile(r"^(.+): (\d+\.\d)%$")
SAMPLE_IMAGE = sorted((ROOT / "datasets" / "shapes" / "triangle").glob("*.png"))[0]


def printed_labels(printed: list[str]) -> dict[str, float]:
    """'label: 97.1%' lines as {label: percent}."""
    matches = [SNIPPET_LINE.match(line) for line in printed]
    assert len(printed) == 3 and all(matches), printed
    return {m.group(1): float(m.group(2)) for m in matches}


def test_the_pages_snippets_run_as_written_print_the_class_names(trained, page, tmp_path):
    """The TensorFlow.js snippet runs in Chromium against the unzipped uint8 download beside a page that loads tfjs;
    the three Python snippets run against the unzipped Keras, SavedModel and TFLite downloads; all print names."""
    require_extra()
    open_export_page(page, trained.server, trained.run_id)
    js, keras, savedmodel, tflite = page.locator("#snippets code").all_text_contents()
    site, python_dir = tmp_path / "site", tmp_path / "python"
    site.mkdir()
    python_dir.mkdir()
    with trained.server.client() as client:
        unzip(download(client, trained.run_id, "uint8", seq=trained.seq).content, site)
        for fmt in ("keras", "savedmodel", "tflite"):
            unzip(download(client, trained.run_id, fmt, seq=trained.seq).content, python_dir)
    shutil.copy(ROOT / "node_modules" / "@tensorflow" / "tfjs" / "dist" / "tf.min.js", site / "tf.min.js")
    for folder in (site, python_dir):
        shutil.copy(SAMPLE_IMAGE, folder / "image.png")
    (site / "index.html").write_text('<!doctype html><script src="tf.min.js"></script><img id="image" src="image.png">')

    with static_files(site) as url:
        page.goto(f"{url}/index.html")
        page.wait_for_function("document.getElementById('image').complete && window.tf !== undefined")
        # The snippet as the page shows it; a local `console` collects what it prints.
        printed = page.evaluate(
            "async () => { const printed = []; const console = { log: (line) => printed.push(line) };"
            "const image = document.getElementById('image');\n" + js + "\nreturn printed; }"
        )
    shown = printed_labels(printed)
    assert set(shown) == {"circle", "square", "triangle"}
    assert sum(shown.values()) == pytest.approx(100, abs=0.2)

    job = {"snippets": {"keras": keras, "savedmodel": savedmodel, "tflite": tflite}, "cwd": str(python_dir)}
    (tmp_path / "job.json").write_text(json.dumps(job))
    result = subprocess.run(
        [sys.executable, str(HERE / "labels_tensorflow.py"), str(tmp_path / "job.json")],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for name, text in json.loads(result.stdout.strip().splitlines()[-1])["printed"].items():
        assert set(printed_labels(text.splitlines())) == {"circle", "square", "triangle"}, name
