"""Detection and landmarks runs for the export tests without training: a run whose info records the task's metadata,
holding one snapshot of an untrained model from the project's own builder (tests/export/task_model.mjs). (Finished
runs with a hand-written evaluation, for the pages, are in task_runs.py.)"""

from __future__ import annotations

import json

import numpy as np

from .annotated_sets import POINT_NAMES, coco, face_boxes, face_points
from .builders import upload, zip_bytes
from .exports import node, weight_offsets
from .servers import ROOT

MODEL_SCRIPT = ROOT / "tests" / "export" / "task_model.mjs"
INPUT_SIZE = 64
ANCHORS = [[0.3, 0.3], [0.5, 0.6]]
BUILDER = {"inputSize": INPUT_SIZE, "width": 4, "stages": [8, 8, 8, 8]}  # S = 64 / 32 = 2
DETECTION = {
    "task": "detection",
    "classes": ["face"],
    "anchors": ANCHORS,
    "grid_size": 2,
    "input_size": INPUT_SIZE,
    "score_threshold": 0.3,
    "iou_threshold": 0.45,
    "min_box_pixels": 2,
    "resize": {"mode": "stretch"},
    "output": "per cell and anchor: x, y, w, h, objectness, class logits",
}
LANDMARKS = {
    "task": "landmarks",
    "point_names": list(POINT_NAMES),
    "loss": "mse",
    "input_size": INPUT_SIZE,
    "resize": {"mode": "letterbox"},
    "output": "x1, y1, x2, y2, ... in [0, 1] of the input",
}


def upload_task_sets(server) -> None:
    """The two small annotated sets the task runs use: `boxes` (16 images, 96 px) and `points` (16 faces, 48 px)."""
    with server.client() as client:
        for name, samples in (("boxes", face_boxes(16, size=96)), ("points", face_points(16, size=48))):
            response = upload(client, name, zip_bytes(coco(samples)))
            assert response.status_code == 201, response.text


def task_run(server, tmp_path, dataset: str, meta: dict, head: dict, spoil=None) -> str:
    """A run on `dataset` whose info records `meta`, holding one snapshot of an untrained builder model (its weights
    passed through `spoil(model_json, weights)` when given)."""
    node(MODEL_SCRIPT, {"task": meta["task"], "config": {**BUILDER, **head}, "out": str(tmp_path)})
    if spoil:
        weights = spoil((tmp_path / "model.json").read_bytes(), (tmp_path / "model.weights.bin").read_bytes())
        (tmp_path / "model.weights.bin").write_bytes(weights)
    config = {"task": meta["task"], "inputSize": INPUT_SIZE, "valFraction": 0.25, "seed": 1, "epochs": 1}
    with server.client() as client:
        response = client.post(
            "/api/runs", json={"dataset": dataset, "config": config, "info": {"task_metadata": meta}}
        )
        assert response.status_code == 201, response.text
        run_id = response.json()["id"]
        files = [
            ("model.json", ("model.json", (tmp_path / "model.json").read_bytes(), "application/json")),
            ("model.weights.bin", ("model.weights.bin", (tmp_path / "model.weights.bin").read_bytes(), "x/y")),
        ]
        response = client.post(f"/api/runs/{run_id}/snapshots", files=files, params={"epoch": 1})
        assert response.status_code == 201, response.text
    return run_id


def spread_head_bias(model_raw: bytes, weights: bytes, last: float | None = None) -> bytes:
    """Head biases spread over [-2, 2], so an untrained head's points sit apart at about sigmoid(bias) of the input
    (its features are tiny), the last bias set to `last` when given."""
    offset, shape = weight_offsets(json.loads(model_raw))["head/bias"]
    bias = np.linspace(-2, 2, shape[0], dtype="<f4")
    if last is not None:
        bias[-1] = last
    return weights[:offset] + bias.tobytes() + weights[offset + bias.nbytes :]


def lossy_head_bias(model_raw: bytes, weights: bytes) -> bytes:
    """One head bias of 1e4 besides the spread ones: uint8 quantizes the bias tensor in 255 steps of ~39 from -2, so
    every other bias becomes -2 and all those points collapse to one spot."""
    return spread_head_bias(model_raw, weights, last=1e4)
