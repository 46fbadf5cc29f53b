"""A pretrained start in real Chromium: a backbone run trains, its snapshot reloads with the same predictions, its tfjs
export runs on its own in Node, and the CLI records the choice in the run config."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import httpx
import pytest
from support import ROOT, start_server
from support.train_page import wait_for_phase

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHANCE = 1 / 3  # the sample has three balanced classes

# Trains in the page with a backbone, predicts 8 validation images with the model in memory, then reloads the run's
# latest snapshot from the server and predicts them again.
TRAIN_AND_RELOAD = """async (config) => {
  const { TrainingSession } = await import('/static/js/train/session.js');
  let inMemory = null, inputs = null, size = null, tuned = null;
  const session = new TrainingSession({ dataset: 'shapes', config: { backend: 'wasm', ...config } }, {
    onTrained: async (model, { pixels, split, inputs: runInputs }) => {
      size = runInputs.config.inputSize;
      const batch = pixels.batch(split.val.slice(0, 8).map((p) => p.index), runInputs.config.normalization);
      inputs = Array.from(await batch.data());
      inMemory = Array.from(await model.predict(batch).data());
      batch.dispose();
      tuned = model.trainableWeights.map((w) => w.originalName);
    },
  });
  const summary = await session.run();
  const reloaded = await tf.loadLayersModel(`/api/runs/${summary.run_id}/model.json`);
  const batch = tf.tensor4d(inputs, [8, size, size, 3]);
  const fromServer = Array.from(await reloaded.predict(batch).data());
  batch.dispose();
  return { summary, size, inputs, inMemory, fromServer, tuned };
}"""

# The tfjs export as a user gets it: model.json + weights from the zip, nothing else, in plain Node tfjs.
PREDICT_EXPORT_IN_NODE = """
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
await tf.setBackend('cpu');
const [folder, inputsPath, size] = process.argv.slice(2);
const json = JSON.parse(readFileSync(`${folder}/model.json`, 'utf8'));
const weights = json.weightsManifest.flatMap((g) => g.paths).map((p) => readFileSync(`${folder}/${p}`));
const data = Buffer.concat(weights);
const model = await tf.loadLayersModel(tf.io.fromMemory({
  modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
  weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) }));
const inputs = JSON.parse(readFileSync(inputsPath, 'utf8'));
const out = model.predict(tf.tensor4d(inputs, [8, Number(size), Number(size), 3]));
process.stdout.write(JSON.stringify(Array.from(await out.data())));
"""


def _train_in_page(server, page, config: dict) -> dict:
    page.goto(server.url + "/train")
    wait_for_phase(page, ("ready",))
    return page.evaluate(TRAIN_AND_RELOAD, config)


def test_a_frozen_backbone_run_learns_and_its_snapshot_and_tfjs_export_predict_alike(server, page, tmp_path):
    result = _train_in_page(server, page, {"backbone": "face_features", "epochs": 6, "snapshotEvery": 3})
    summary = result["summary"]
    assert summary["reason"] == "done" and summary["val_accuracy"] > 1.8 * CHANCE, summary
    assert result["tuned"] == ["head/kernel", "head/bias"], "the backbone was not frozen"
    assert result["size"] == 112
    assert max(abs(a - b) for a, b in zip(result["inMemory"], result["fromServer"])) < 1e-5

    run = httpx.get(f"{server.url}/api/runs/{summary['run_id']}").json()
    assert (run["config"]["backbone"], run["config"]["inputSize"], run["config"]["normalization"]) == (
        "face_features",
        112,
        "symmetric",
    )
    assert run["epochs"][-1]["train_loss"] < run["epochs"][0]["train_loss"], "the loss did not fall"

    export = httpx.get(f"{server.url}/api/runs/{summary['run_id']}/export", params={"format": "tfjs"}, timeout=120)
    assert export.status_code == 200, export.text
    folder = tmp_path / "export"
    zipfile.ZipFile(io.BytesIO(export.content)).extractall(folder)
    model_json = next(folder.rglob("model.json"))
    layers = json.loads(model_json.read_text())["modelTopology"]["config"]["layers"]
    assert any(layer["class_name"] == "SeparableConv2D" for layer in layers), "the export lacks the backbone"
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps(result["inputs"]))
    script = ROOT / "tests" / "e2e" / ".predict-export.mjs"  # inside the repo so `@tensorflow/tfjs` resolves
    script.write_text(PREDICT_EXPORT_IN_NODE)
    try:
        node = subprocess.run(
            ["node", str(script), str(model_json.parent), str(inputs), str(result["size"])],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        script.unlink()
    assert node.returncode == 0, node.stderr
    assert max(abs(a - b) for a, b in zip(result["inMemory"], json.loads(node.stdout))) < 1e-4


def test_fine_tuning_the_last_block_trains_it_and_the_snapshot_keeps_it(server, page):
    result = _train_in_page(server, page, {"backbone": "face_features", "fineTuneBlocks": 1, "epochs": 3})
    assert result["summary"]["reason"] == "done", result["summary"]
    assert any(name.startswith("dense3_") for name in result["tuned"])
    assert not any(name.startswith("dense2_") for name in result["tuned"])
    assert max(abs(a - b) for a, b in zip(result["inMemory"], result["fromServer"])) < 1e-5


def test_cli_backbone_flag_is_recorded_and_an_unknown_one_fails_clearly(tmp_path):
    data = tmp_path / "data"
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "train",
            "--dataset",
            "shapes",
            "--backbone",
            "mobilenet_v2",
            "--epochs",
            "2",
            "--backend",
            "wasm",
            "--json",
            "--data-dir",
            str(data),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ok.returncode == 0, ok.stderr[-3000:]
    summary = json.loads(ok.stdout.strip().splitlines()[-1])
    assert summary["reason"] == "done" and summary["epochs"] == 2
    server = start_server(data)
    try:
        config = httpx.get(f"{server.url}/api/runs/{summary['run_id']}").json()["config"]
    finally:
        server.stop()
    assert (config["backbone"], config["fineTuneBlocks"], config["inputSize"]) == ("mobilenet_v2", 0, 96)
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "train",
            "--dataset",
            "shapes",
            "--backbone",
            "resnet",
            "--backend",
            "cpu",
            "--json",
            "--data-dir",
            str(data),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 2  # refused before any server or browser starts
    assert "invalid choice: 'resnet'" in bad.stderr and "mobilenet_v2" in bad.stderr
