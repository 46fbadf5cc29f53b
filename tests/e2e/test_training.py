"""Training in real Chromium: the CLI, snapshots that reload with the same predictions, the IndexedDB cache, resume."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest
from support import ROOT, start_server
from support.train_page import train_url, wait_for_phase

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHANCE = 1 / 3  # the sample has three balanced classes


def test_cli_trains_the_sample_with_default_settings_well_above_chance(tmp_path):
    data = tmp_path / "data"
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "train", "--dataset", "shapes", "--json", "--data-dir", str(data)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("run_id", "epochs", "final_loss", "val_accuracy", "backend", "images_per_second"):
        assert key in summary
    # Epochs, batch size, input size and augmentation were chosen from the dataset, each with its reason.
    chosen = summary["defaults"]
    assert {"epochs", "batchSize", "inputSize", "augment"} <= set(chosen) and all(d["reason"] for d in chosen.values())
    epochs_run = chosen["epochs"]["value"]
    assert summary["epochs"] == epochs_run and 30 <= epochs_run <= 100
    assert summary["val_accuracy"] > 2.4 * CHANCE, summary  # 0.8: well above chance

    server = start_server(data)
    try:
        run = httpx.get(f"{server.url}/api/runs/{summary['run_id']}").json()
    finally:
        server.stop()
    epochs = run["epochs"]
    assert run["status"] == "finished" and len(epochs) == epochs_run
    assert epochs[-1]["train_loss"] < 0.8 * epochs[0]["train_loss"], "the loss did not fall"
    assert len({e["num_tensors"] for e in epochs}) == 1, "tensor count changed across epochs (a leak)"
    expected = sorted(set(range(5, epochs_run + 1, 5)) | {epochs_run})
    assert [s["epoch"] for s in run["snapshots"]] == expected
    assert run["info"]["backend"] == summary["backend"] and run["info"]["backend_reason"]


def test_cli_fails_clearly_for_an_unknown_dataset(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "train",
            "--dataset",
            "nope",
            "--data-dir",
            str(tmp_path / "d"),
            "--backend",
            "cpu",
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2  # refused before a server or a browser starts (tests/api/test_cli.py times it)
    assert "nope" in result.stderr


PREDICT_IN_PAGE = """async () => {
  const { TrainingSession } = await import('/static/js/train/session.js');
  let inMemory = null, inputs = null;
  const session = new TrainingSession({ dataset: 'shapes', config: { epochs: 4, backend: 'wasm', snapshotEvery: 2 } }, {
    onTrained: async (model, { pixels, split }) => {
      const batch = pixels.batch(split.val.slice(0, 8).map((p) => p.index), 'unit');
      inputs = Array.from(await batch.data());
      inMemory = Array.from(await model.predict(batch).data());
      batch.dispose();
    },
  });
  const summary = await session.run();
  const reloaded = await tf.loadLayersModel(`/api/runs/${summary.run_id}/model.json`);
  const batch = tf.tensor4d(inputs, [8, 64, 64, 3]);
  const fromServer = Array.from(await reloaded.predict(batch).data());
  batch.dispose();
  return { runId: summary.run_id, inputs, inMemory, fromServer };
}"""

PREDICT_IN_NODE = """
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
await tf.setBackend('cpu');
const [url, inputsPath] = process.argv.slice(2);
const model = await tf.loadLayersModel(url);
const inputs = JSON.parse(readFileSync(inputsPath, 'utf8'));
const out = model.predict(tf.tensor4d(inputs, [8, 64, 64, 3]));
process.stdout.write(JSON.stringify(Array.from(await out.data())));
"""


def test_wasm_training_snapshot_reloads_in_the_page_and_in_node_with_the_same_predictions(server, page, tmp_path):
    page.goto(server.url + "/train")
    wait_for_phase(page, ("ready",))
    result = page.evaluate(PREDICT_IN_PAGE)
    run = httpx.get(f"{server.url}/api/runs/{result['runId']}").json()
    assert run["info"]["backend"] == "wasm"  # the wasm backend trains, with our gradient kernels
    assert run["epochs"][-1]["train_loss"] < run["epochs"][0]["train_loss"], "the loss did not fall"
    assert len(result["inMemory"]) == 8 * 3
    assert max(abs(a - b) for a, b in zip(result["inMemory"], result["fromServer"])) < 1e-5

    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps(result["inputs"]))
    script = ROOT / "tests" / "e2e" / ".predict-node.mjs"  # inside the repo so `@tensorflow/tfjs` resolves
    script.write_text(PREDICT_IN_NODE)
    try:
        node = subprocess.run(
            ["node", str(script), f"{server.url}/api/runs/{result['runId']}/model.json", str(inputs)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        script.unlink()
    assert node.returncode == 0, node.stderr
    in_node = json.loads(node.stdout)
    # wasm in the page vs the cpu backend in Node: the same float32 model, different kernels.
    assert max(abs(a - b) for a, b in zip(result["inMemory"], in_node)) < 1e-4


def test_second_run_reads_indexeddb_and_makes_no_item_requests(server, page):
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(train_url(server, epochs=1, backend="wasm"))
    first = wait_for_phase(page)
    assert first["phase"] == "done" and first["sync"]["source"] == "server"
    assert any("/bulk" in url for url in requests)
    assert not any("/items/" in url for url in requests), "the first sync fetched items one by one"

    requests.clear()
    page.goto(train_url(server, epochs=1, backend="wasm"))
    second = wait_for_phase(page)
    assert second["phase"] == "done" and second["sync"]["source"] == "cache"
    assert not any("/items/" in url or "/bulk" in url for url in requests), requests


def test_training_goes_on_when_the_server_stops(tmp_path, browser):
    data = tmp_path / "data"
    data.mkdir()
    server = start_server(data)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(train_url(server, epochs=12, backend="wasm", snapshotEvery=100))
        wait_for_phase(page, until=lambda s: len(s["epochs"]) >= 1)
        server.stop()
        state = wait_for_phase(page)
        assert state["phase"] == "done", state["error"]
        assert [e["epoch"] for e in state["epochs"]] == list(range(12))
        assert any("unreachable" in w or "did not reach" in w for w in state["warnings"])
    finally:
        context.close()
        server.stop()


def test_resume_continues_the_epoch_count_and_the_optimizer_steps(server, browser):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(train_url(server, epochs=12, backend="wasm", snapshotEvery=1))
        before = wait_for_phase(page, until=lambda s: len(s["epochs"]) >= 2)
        page.evaluate("browsertrainControls.stop()")
        stopped = wait_for_phase(page)
        assert stopped["summary"]["reason"] == "stopped"
        run_id = stopped["runId"]
        last_before = stopped["epochs"][-1]
        page.close()  # the tab is gone; a new one resumes from the server's latest snapshot

        snapshot_epoch = httpx.get(f"{server.url}/api/runs/{run_id}").json()["snapshots"][-1]["epoch"]
        assert snapshot_epoch >= len(before["epochs"])
        page = context.new_page()
        page.goto(f"{server.url}/train?resume={run_id}")
        resumed = wait_for_phase(page)
        assert resumed["phase"] == "done", resumed["error"]
        first = resumed["epochs"][0]
        assert first["epoch"] == snapshot_epoch, "the resumed run restarted its epoch count"
        steps_per_epoch = -(-stopped["summary"]["train_items"] // 32)
        assert first["iterations"] >= last_before["iterations"] + steps_per_epoch, "the optimizer step restarted"
        assert resumed["summary"]["epochs"] == 12
        assert (resumed["summary"]["train_items"], resumed["summary"]["val_items"]) == (
            stopped["summary"]["train_items"],
            stopped["summary"]["val_items"],
        )
        run = httpx.get(f"{server.url}/api/runs/{run_id}").json()
        assert run["status"] == "finished" and run["epochs_done"] == 12
    finally:
        context.close()
