"""The article's debugging tips as tools, in real Chromium: overfit, input preview, batch-size finder and LR range
test, the leak watchdog, evaluation stored with the run, the LR log, and run comparison."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile

import httpx
import numpy as np
import pytest
from PIL import Image
from support import ROOT, start_server
from support.train_page import train_url, wait_for_phase

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OVERFIT_TARGET_LOSS = 0.01  # static/js/train/overfit.js
FINDER_CANDIDATES = [8, 16, 24, 32, 48, 64]  # static/js/train/batch_finder.js


def cli_json(*args: str, data_dir) -> tuple[int, dict, str]:
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "train", "--json", "--data-dir", str(data_dir), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = result.stdout.strip().splitlines()
    return result.returncode, json.loads(lines[-1]) if lines else {}, result.stderr


def item_pixels(server, item_id: int, size: int | None = None) -> np.ndarray:
    """The dataset file as Pillow decodes it (RGB), optionally resized with a box filter (area average)."""
    raw = httpx.get(f"{server.url}/api/datasets/shapes/items/{item_id}").content
    image = Image.open(io.BytesIO(raw)).convert("RGB")
    if size is not None and image.size != (size, size):
        image = image.resize((size, size), Image.BOX)
    return np.asarray(image, dtype=np.int16)


def test_cli_overfit_memorises_16_sample_images_and_the_run_page_says_so(tmp_path, page):
    data = tmp_path / "data"
    code, summary, stderr = cli_json("--dataset", "shapes", "--overfit", "16", "--backend", "wasm", data_dir=data)
    assert code == 0, stderr
    assert summary["reason"] == "converged"
    assert summary["final_loss"] < OVERFIT_TARGET_LOSS, summary["final_loss"]
    assert summary["train_accuracy"] == 1.0
    assert summary["train_items"] == 16 and summary["val_items"] == 0
    predictions = summary["overfit"]["predictions"]
    assert len(predictions) == 16 and all(p["predicted"] == p["label"] for p in predictions)
    assert {p["label"] for p in predictions} == {"circle", "square", "triangle"}

    server = start_server(data)
    try:
        run = httpx.get(f"{server.url}/api/runs/{summary['run_id']}").json()
        assert run["kind"] == "sanity" and run["status"] == "finished"
        assert run["config"]["overfit"]["images"] == 16 and run["config"]["batchSize"] == 16
        page.goto(f"{server.url}/runs/{summary['run_id']}")
        page.wait_for_selector("body[data-ready=true]")
        assert "memorised 16 images" in page.inner_text("#overfit-verdict")
        assert page.locator("#overfit-predictions figure.right").count() == 16
        assert page.is_hidden("#resume-link"), "a sanity run must not offer to resume as a plain run"
    finally:
        server.stop()


def test_overfit_says_plainly_when_the_model_cannot_overfit(server, page):
    # The same picture under three labels: no model can tell them apart, as when a pipeline bug feeds one image.
    png = io.BytesIO()
    Image.new("RGB", (64, 64), (40, 90, 160)).save(png, "PNG")
    members = {f"{label}/{i}.png": png.getvalue() for label in ("a", "b", "c") for i in range(6)}
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    response = httpx.post(
        f"{server.url}/api/datasets",
        files={"file": ("same.zip", archive.getvalue(), "application/zip")},
        data={"name": "same"},
        timeout=60,
    )
    assert response.status_code == 201, response.text

    page.goto(train_url(server, dataset="same", overfit=16, backend="wasm"))
    state = wait_for_phase(page)
    assert state["phase"] == "done", state["error"]
    assert state["summary"]["reason"] == "not_converged"
    assert state["summary"]["final_loss"] > 0.5
    assert state["summary"]["epochs"] < 100, "it should give up once the loss stops falling, not run all 300 epochs"
    verdict = page.inner_text("#overfit-verdict")
    assert "could NOT overfit 16 images" in verdict and "no longer falling" in verdict and "bug in the data" in verdict
    assert page.get_attribute("#overfit-verdict", "class") == "error"


CANVAS_PIXELS = """() => [...document.querySelectorAll('#preview-grid canvas')].map((canvas) => {
  const rgba = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const rgb = [];
  for (let i = 0; i < rgba.length; i += 4) rgb.push(rgba[i], rgba[i + 1], rgba[i + 2]);
  return { id: Number(canvas.dataset.itemId), width: canvas.width, height: canvas.height, rgb,
    label: canvas.nextElementSibling.textContent };
})"""


def preview(page, server, **params) -> tuple[dict, list[dict]]:
    if not any(key.startswith("augment.") for key in params):
        params = {"augmentMode": "off", **params}  # small sets are augmented by default; show the plain inputs
    query = "&".join(f"{k}={v}" for k, v in {"dataset": "shapes", "backend": "wasm", **params}.items())
    page.goto(f"{server.url}/train?{query}")
    wait_for_phase(page, ("ready",))
    page.click("#preview-inputs")
    state = wait_for_phase(page)
    assert state["phase"] == "done", state["error"]
    return state, page.evaluate(CANVAS_PIXELS)


def test_preview_grid_draws_the_resized_inputs_from_the_tensor(server, page):
    manifest = httpx.get(f"{server.url}/api/datasets/shapes").json()
    labels = {item["id"]: item["label"] for item in manifest["items"]}

    state, canvases = preview(page, server, inputSize=32, batchSize=32)
    assert len(canvases) == len(state["preview"]["items"]) == 32, "the preview shows the first batch (32) whole"
    assert "first 32 training inputs" in page.inner_text("#preview-caption")
    for canvas, shown in zip(canvases, state["preview"]["items"]):
        assert (canvas["width"], canvas["height"]) == (32, 32), "the grid must show the network's input size"
        assert canvas["id"] == shown["item_id"] and canvas["label"] == shown["label"] == labels[canvas["id"]]
        rgb = np.array(canvas["rgb"], dtype=np.int16).reshape(32, 32, 3)
        # The canvas holds exactly the tensor's pixels: its channel means equal those the page took from the tensor.
        assert np.abs(rgb.mean(axis=(0, 1)) - shown["mean"]).max() < 1e-6
        # And they are the file shrunk 64 → 32: the same picture as an area-average resize, up to rounding.
        source = item_pixels(server, canvas["id"], size=32)
        assert np.abs(rgb.mean(axis=(0, 1)) - source.mean(axis=(0, 1))).max() < 1.0
        assert np.abs(rgb - source).mean() < 4, "the preview is not this item's image"

    # With flips on, each input is the file itself or its mirror, pixel for pixel, and both occur.
    _, flipped = preview(page, server, **{"augment.flip": 1})
    mirrored = 0
    for canvas in flipped:
        rgb = np.array(canvas["rgb"], dtype=np.int16).reshape(64, 64, 3)
        source = item_pixels(server, canvas["id"])
        if np.array_equal(rgb, source[:, ::-1]) and not np.array_equal(rgb, source):
            mirrored += 1
        else:
            assert np.array_equal(rgb, source), f"item {canvas['id']} is neither the file nor its mirror"
    assert 0 < mirrored < len(flipped), f"{mirrored} of {len(flipped)} previews mirrored"

    # Random crops are redrawn on the canvas from the decoded image: still 64 x 64, no longer the file.
    _, cropped = preview(page, server, **{"augment.crop": 1})
    assert all((canvas["width"], canvas["height"]) == (64, 64) for canvas in cropped)
    changed = sum(
        not np.array_equal(np.array(c["rgb"], dtype=np.int16).reshape(64, 64, 3), item_pixels(server, c["id"]))
        for c in cropped
    )
    assert changed == len(cropped), f"only {changed} of {len(cropped)} previews show a crop"


def test_cli_finds_a_batch_size_then_sweeps_the_learning_rate_at_it(tmp_path):
    code, summary, stderr = cli_json(
        "--dataset", "shapes", "--find-batch-size", "--lr-range-test", "--backend", "wasm", data_dir=tmp_path / "data"
    )
    assert code == 0, stderr
    table = summary["find_batch_size"]["table"]
    assert [row["batch_size"] for row in table] == FINDER_CANDIDATES
    assert all(row["fits"] and row["images_per_second"] > 0 and row["timed_steps"] >= 5 for row in table), table
    assert all(row["peak_bytes"] > 0 and row["first_step_ms"] > 0 for row in table)
    assert [row["peak_bytes"] for row in table] == sorted(row["peak_bytes"] for row in table)
    fastest = max(table, key=lambda row: row["images_per_second"])
    assert summary["batch_size"] == fastest["batch_size"]

    sweep = summary["lr_range_test"]
    assert sweep["batch_size"] == summary["batch_size"]
    assert 10 <= sweep["steps_run"] <= 100 and len(sweep["points"]) == sweep["steps_run"]
    lrs = [point["lr"] for point in sweep["points"]]
    assert lrs == sorted(lrs) and lrs[0] == pytest.approx(1e-5)
    assert summary["suggested_lr"] is not None and 1e-5 < summary["suggested_lr"] < 1
    assert "run_id" not in summary, "a tool run must not record a training run"


LEAKY_RUN = """async () => {
  const { TrainingSession } = await import('/static/js/train/session.js');
  const kept = [];
  let leak = null;
  let session;
  const paused = new Promise((resolve) => {
    session = new TrainingSession({ dataset: 'shapes', config: { epochs: 30, backend: 'wasm', snapshotEvery: 100 } }, {
      onStep: () => { kept.push(tf.ones([256])); },  // the deliberate leak: one 1 KB tensor per step, never disposed
      onLeak: (report) => { leak = report; resolve(); },
    });
  });
  const running = session.run();
  await paused;
  await session.pause();  // resolves once the loop really holds
  const state = session.trainer.state;
  const stepBefore = session.trainer.optimizer.iterations;
  await new Promise((resolve) => setTimeout(resolve, 500));
  const stepAfter = session.trainer.optimizer.iterations;
  session.stop();
  const summary = await running;
  tf.dispose(kept);
  return { leak, state, stepBefore, stepAfter, summary };
}"""


def test_the_leak_watchdog_pauses_a_run_that_leaks_a_tensor_per_step(server, page):
    page.goto(server.url + "/train")
    wait_for_phase(page, ("ready",))
    result = page.evaluate(LEAKY_RUN)
    leak = result["leak"]
    # Measured from the floors of windows of steps, so within a tensor or two over the window of 30 steps.
    assert leak["tensors_per_step"] == pytest.approx(1.0, abs=0.1), leak
    assert leak["bytes_per_step"] == pytest.approx(1024, rel=0.1), leak
    assert re.search(r"[01]\.\d\d tensors \(1,0\d\d bytes\) per step", leak["message"]), leak["message"]
    assert result["state"] == "paused" and result["stepAfter"] == result["stepBefore"], "the run went on"
    assert leak["epoch"] < 10, "caught too late"
    assert result["summary"]["reason"] == "stopped" and result["summary"]["leak"] == leak
    run = httpx.get(f"{server.url}/api/runs/{result['summary']['run_id']}").json()
    assert run["info"]["leak"]["tensors_per_step"] == leak["tensors_per_step"]
    page.goto(f"{server.url}/runs/{run['id']}")
    page.wait_for_selector("body[data-ready=true]")
    assert leak["message"].split(" per step")[0] in page.inner_text("#leak")


def test_a_run_stores_its_evaluation_and_its_confusion_cells_open_the_images(server, page):
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(train_url(server, epochs=2, backend="wasm"))
    state = wait_for_phase(page)
    assert state["phase"] == "done", state["error"]
    page.wait_for_selector("#outcome table.confusion")
    assert not any("/items/" in url for url in requests), "the train page's evaluation should use the local copy"
    assert page.locator("#outcome #top-mistakes img").count() > 0
    summary = state["summary"]
    assert "leak" not in summary, "the watchdog flagged a healthy run"
    evaluation = summary["evaluation"]
    assert evaluation["classes"] == ["circle", "square", "triangle"]
    assert sum(map(sum, evaluation["confusion"])) == evaluation["count"] == summary["val_items"] == 48
    # Computed in the page after the last epoch, with the same weights the last validation pass used.
    assert evaluation["accuracy"] == pytest.approx(summary["val_accuracy"], abs=1e-6)
    assert len(evaluation["per_class_accuracy"]) == 3
    stored = httpx.get(f"{server.url}/api/runs/{summary['run_id']}").json()["summary"]["evaluation"]
    assert stored == evaluation

    page.goto(f"{server.url}/runs/{summary['run_id']}")
    page.wait_for_selector("body[data-ready=true]")
    cells = {key: ids for key, ids in evaluation["cells"].items()}
    assert cells, "two epochs should leave some mistakes to look at"
    key, ids = max(cells.items(), key=lambda kv: len(kv[1]))
    page.click(f"button.cell[data-cell='{key}']")
    page.wait_for_function(f"() => document.querySelectorAll('#cell-items img').length === {len(ids)}")
    shown = page.eval_on_selector_all("#cell-items figure", "nodes => nodes.map(n => Number(n.dataset.itemId))")
    assert shown == ids
    label, predicted = key.split("|")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#cell-items img')].every(i => i.complete && i.naturalWidth === 64)"
    )
    manifest = httpx.get(f"{server.url}/api/datasets/shapes").json()
    assert all(item["label"] == label for item in manifest["items"] if item["id"] in ids)
    assert f"predicted as {predicted}" in page.inner_text("#cell-title")
    mistakes = evaluation["top_mistakes"]
    assert [m["probability"] for m in mistakes] == sorted((m["probability"] for m in mistakes), reverse=True)
    assert page.locator("#top-mistakes figure").count() == len(mistakes)


RUN_WITH_RULE = """async ({ lrSchedule, lr }) => {
  const { TrainingSession } = await import('/static/js/train/session.js');
  const config = { epochs: 3, backend: 'wasm', snapshotEvery: 100, lr, lrSchedule };
  return new TrainingSession({ dataset: 'shapes', config }).run();
}"""


def test_the_run_page_shows_the_lr_rule_and_every_change_and_runs_compare(server, page):
    page.goto(server.url + "/train")
    wait_for_phase(page, ("ready",))
    # Armed at once (armAfter 0) and minDelta 0.99: no epoch counts as an improvement, so with a patience of one epoch
    # (and no step minimum) the rule lowers the rate after every epoch but the first.
    eager_rule = {"armAfter": 0, "patience": 1, "patienceSteps": 0, "minDelta": 0.99}
    eager = page.evaluate(RUN_WITH_RULE, {"lrSchedule": eager_rule, "lr": 0.001})
    plain = page.evaluate(RUN_WITH_RULE, {"lrSchedule": True, "lr": 0.002})

    run = httpx.get(f"{server.url}/api/runs/{eager['run_id']}").json()
    assert run["config"]["lrSchedule"] == {
        "factor": 0.1,
        "smoothing": 0.5,
        "oscillations": 4,
        "minLrFactor": 0.01,
        "cooldown": 0,
        **eager_rule,
    }
    assert [e["lr_reason"] is not None for e in run["epochs"]] == [False, True, True]
    page.goto(f"{server.url}/runs/{eager['run_id']}")
    page.wait_for_selector("body[data-ready=true]")
    assert "multiply the lr by 0.1" in page.inner_text("#lr-rule")
    rows = page.eval_on_selector_all(
        "#lr-changes tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    # The moment the rule armed itself is a row too (the rate unchanged), then each cut.
    assert [row[:3] for row in rows] == [["2", "0.001", "0.001"], ["3", "0.001", "0.0001"], ["4", "0.0001", "0.00001"]]
    assert rows[0][3].startswith("armed") and all(row[3].startswith("plateau") for row in rows[1:])

    page.goto(f"{server.url}/compare?runs={eager['run_id']},{plain['run_id']}")
    page.wait_for_selector("body[data-ready=true]")
    for metric in ("train_loss", "val_loss"):
        assert page.locator(f".chart[data-metric={metric}] polyline").count() == 2
    differing = page.eval_on_selector_all("#config-diff tr.differs", "rows => rows.map(r => r.dataset.key)")
    assert set(differing) == {"lr"} | {f"lrSchedule.{key}" for key in eager_rule}
    assert page.inner_text("#config-diff tr[data-key=lr]").split() == ["lr", "0.001", "0.002"]
