"""The export page of detection and landmarks runs in real Chromium: the gate's box and point numbers per format
(the TensorFlow formats scored by the same code), and the JavaScript snippet, run as the page shows it against the
unzipped download, decodes boxes and points as `browsertrain predict` does."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
from PIL import Image
from support import ROOT
from support.annotated_sets import POINT_NAMES
from support.exports import FORMATS, cli, download, members, require_extra, static_files, unzip
from support.task_snapshots import ANCHORS, DETECTION, INPUT_SIZE, LANDMARKS, spread_head_bias, task_run

pytestmark = [pytest.mark.browser, pytest.mark.slow]
READY_MS = 300_000  # the first visit converts with TensorFlow (tens of seconds on two cores)
POINT_LINE = re.compile(r"^(\w+): (-?[\d.]+), (-?[\d.]+)$")
BOX_LINE = re.compile(r"^(\w+) ([\d.]+)%: x (-?\d+), y (-?\d+), w (\d+), h (\d+)$")


def open_export_page(page, server, run_id: str) -> dict:
    """The page once ready, and its JavaScript snippet's text."""
    page.goto(f"{server.url}/runs/{run_id}/export")
    page.wait_for_function("() => document.querySelector('#status').textContent === 'Ready.'", timeout=READY_MS)
    assert page.locator("#error").text_content() == ""
    return page.locator("#snippets code").all_text_contents()[0]


def run_snippet(page, server, run_id: str, js: str, image: Image.Image, tmp_path) -> list[str]:
    """The snippet, run in a page beside the unzipped uint8 download and `image`: what it prints."""
    site = tmp_path / "site"
    site.mkdir()
    with server.client() as client:
        unzip(download(client, run_id, "uint8", confirm="true").content, site)
    shutil.copy(ROOT / "node_modules" / "@tensorflow" / "tfjs" / "dist" / "tf.min.js", site / "tf.min.js")
    image.save(site / "image.png")
    (site / "index.html").write_text('<!doctype html><script src="tf.min.js"></script><img id="image" src="image.png">')
    with static_files(site) as url:
        page.goto(f"{url}/index.html")
        page.wait_for_function("() => document.getElementById('image').complete && window.tf !== undefined")
        return page.evaluate(
            "async () => { const printed = []; const console = { log: (line) => printed.push(line) };"
            "const image = document.getElementById('image');\n" + js + "\nreturn printed; }"
        )


def test_a_landmarks_snippet_prints_the_named_points_in_the_images_pixels_through_the_letterbox(
    task_server, page, tmp_path
):
    run_id = task_run(task_server, tmp_path, "points", LANDMARKS, {"numPoints": 5}, spoil=spread_head_bias)
    js = open_export_page(page, task_server, run_id)
    assert "function decodePoints(" in js and "fillRect" in js
    printed = run_snippet(page, task_server, run_id, js, Image.new("RGB", (96, 48), (90, 120, 150)), tmp_path)
    matches = [POINT_LINE.match(line) for line in printed]
    assert all(matches) and [m.group(1) for m in matches] == list(POINT_NAMES), printed
    # 96x48 letterboxed onto 64: scale 2/3, 16-px bars; the head puts point k at sigmoid(bias) of the input.
    shares = 1 / (1 + np.exp(-np.linspace(-2, 2, 2 * len(POINT_NAMES))))
    for k, m in enumerate(matches):
        assert float(m.group(2)) == pytest.approx(shares[2 * k] * INPUT_SIZE * 1.5, abs=1.5), printed
        assert float(m.group(3)) == pytest.approx((shares[2 * k + 1] * INPUT_SIZE - 16) * 1.5, abs=1.5), printed


def test_a_detection_export_page_gates_every_format_on_boxes_and_its_snippet_finds_predicts_boxes(
    task_server, page, tmp_path
):
    require_extra()
    run_id = task_run(task_server, tmp_path, "boxes", DETECTION, {"numClasses": 1, "numAnchors": len(ANCHORS)})
    js = open_export_page(page, task_server, run_id)
    for fmt in FORMATS:
        cells = page.locator(f"#formats tr[data-format='{fmt}'] td").all_text_contents()
        assert re.fullmatch(r"[01]\.\d{3}", cells[4]) or fmt == "tfjs", (fmt, cells)  # box agreement
    with task_server.client() as client:
        summary = client.get(f"/api/runs/{run_id}/exports").json()
    rows = {row["format"]: row for row in summary["formats"]}
    for fmt in ("keras", "savedmodel", "tflite"):
        assert rows[fmt]["gate"]["box_agreement"] > 0.99 and rows[fmt]["verdict"]["status"] == "passed", rows[fmt]
    assert 0 <= rows["tflite-dynamic"]["gate"]["box_agreement"] <= 1
    with task_server.client() as client:
        tflite = members(download(client, run_id, "tflite").content)
    assert json.loads(tflite["metadata.json"])["task_metadata"]["anchors"] == ANCHORS

    image = Image.new("RGB", (120, 80), (200, 180, 160))
    printed = run_snippet(page, task_server, run_id, js, image, tmp_path)
    image.save(tmp_path / "photo.png")
    result = cli("predict", run_id, str(tmp_path / "photo.png"), "--json", "--server", task_server.url, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    boxes = json.loads(result.stdout.strip().splitlines()[-1])["predictions"][0]["boxes"]
    matches = [BOX_LINE.match(line) for line in printed]
    assert all(matches) and len(matches) == len(boxes), (printed, boxes)
    # An untrained head scores its boxes alike (~50%), so the order of ties is free: compare them by place.
    shown = sorted((m.group(1), *(int(v) for v in m.groups()[2:])) for m in matches)
    predicted = sorted((b["label"], *(round(b[k]) for k in "xywh")) for b in boxes)
    for printed_box, box in zip(shown, predicted):
        assert printed_box[0] == box[0] and np.allclose(printed_box[1:], box[1:], atol=1), (shown, predicted)
    assert sorted(float(m.group(2)) for m in matches) == pytest.approx(sorted(b["score"] * 100 for b in boxes), abs=0.2)
