"""Detection and landmarks exports end to end on a real server, with models from the project's own builder (their
heads untrained: these tests are about what travels with an export and what the gate measures, not about learning):
metadata.json and labels.txt name the outputs and carry the decoding metadata, and the gate answers with box or
point numbers instead of accuracy."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support import start_server, upload, zip_bytes
from support.annotated_sets import POINT_NAMES, coco, face_boxes, face_points
from support.exports import TFJS_FORMATS, cli, download, node, weight_offsets

from server.artifacts import gate

HERE = Path(__file__).resolve().parent
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


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("task-exports") / "data"
    data.mkdir()
    live = start_server(data)
    with live.client() as client:
        for name, samples in (("boxes", face_boxes(16, size=96)), ("points", face_points(16, size=48))):
            response = upload(client, name, zip_bytes(coco(samples)))
            assert response.status_code == 201, response.text
    yield live
    live.stop()


def task_run(server, tmp_path, dataset: str, meta: dict, head: dict, spoil=None) -> str:
    """A run on `dataset` whose info records `meta`, holding one snapshot of an untrained builder model (its weights
    passed through `spoil(model_json, weights)` when given)."""
    node(HERE / "task_model.mjs", {"task": meta["task"], "config": {**BUILDER, **head}, "out": str(tmp_path)})
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


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename.split("/", 1)[1]: archive.read(info) for info in archive.infolist() if not info.is_dir()}


def built(server, run_id: str) -> dict:
    with server.client() as client:
        response = client.post(f"/api/runs/{run_id}/exports", params={"group": "tfjs"}, timeout=600)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_detection_export_names_its_classes_carries_its_anchors_and_is_gated_on_its_boxes(server, tmp_path):
    run_id = task_run(server, tmp_path, "boxes", DETECTION, {"numClasses": 1, "numAnchors": len(ANCHORS)})
    summary = built(server, run_id)
    assert summary.get("gate_unavailable") is None, summary
    assert summary["task"] == "detection" and summary["task_metadata"] == DETECTION
    assert summary["labels"] == ["face"]
    assert summary["gate"]["task"] == "detection" and summary["gate"]["val_items"] == 4  # a quarter of 16
    rows = {row["format"]: row for row in summary["formats"]}
    reference = rows["tfjs"]["gate"]
    assert reference["box_agreement"] == 1 and reference["max_abs_diff"] == 0
    for fmt in TFJS_FORMATS:
        numbers = rows[fmt]["gate"]
        assert 0 <= numbers["box_agreement"] <= 1 and "accuracy" not in numbers, (fmt, numbers)
        assert numbers["map50"] is None or 0 <= numbers["map50"] <= 1
        expected = "reference" if fmt == "tfjs" else gate.verdict(numbers, 1.0)["status"]
        assert rows[fmt]["verdict"]["status"] == expected
    assert rows["float16"]["gate"]["box_agreement"] > 0.99, rows["float16"]["gate"]
    with server.client() as client:
        files = members(download(client, run_id, "float16").content)
    metadata = json.loads(files["metadata.json"])
    assert metadata["task_metadata"] == DETECTION and metadata["labels"] == ["face"]
    assert files["labels.txt"] == b"face\n"
    assert json.loads(files["model.json"])["userDefinedMetadata"]["task_metadata"]["anchors"] == ANCHORS


def test_a_landmarks_export_names_its_points_and_is_gated_on_where_they_land(server, tmp_path):
    run_id = task_run(server, tmp_path, "points", LANDMARKS, {"numPoints": len(POINT_NAMES)})
    summary = built(server, run_id)
    assert summary.get("gate_unavailable") is None, summary
    rows = {row["format"]: row for row in summary["formats"]}
    assert rows["tfjs"]["gate"]["nme_vs_reference"] == 0
    assert rows["float16"]["gate"]["nme_vs_reference"] < 1e-3
    for fmt in TFJS_FORMATS:
        assert rows[fmt]["gate"]["nme"] > 0, fmt  # an untrained head is somewhere, not on the points
    assert summary["gate"]["reference_nme"] == rows["tfjs"]["gate"]["nme"]
    with server.client() as client:
        files = members(download(client, run_id, "uint16").content)
    assert files["labels.txt"].decode().splitlines() == list(POINT_NAMES)
    metadata = json.loads(files["metadata.json"])
    assert metadata["task_metadata"]["point_names"] == list(POINT_NAMES)
    assert "letterbox" in metadata["input"]["resize"]


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


def test_a_landmarks_export_whose_points_move_is_flagged_and_served_only_when_confirmed(server, tmp_path):
    run_id = task_run(server, tmp_path, "points", LANDMARKS, {"numPoints": len(POINT_NAMES)}, spoil=lossy_head_bias)
    with server.client() as client:
        refused = download(client, run_id, "uint8")
        assert refused.status_code == 409, refused.status_code
        detail = refused.json()["detail"]
        assert "uint8 moves its points" in detail and "of the box diagonal" in detail and "confirm" in detail
        assert download(client, run_id, "uint8", confirm="true").status_code == 200
        assert download(client, run_id, "float16").status_code == 200
        summary = client.get(f"/api/runs/{run_id}/exports").json()
    rows = {row["format"]: row for row in summary["formats"]}
    assert rows["uint8"]["verdict"] == {"status": "flagged", "needs_confirm": True}
    assert rows["uint8"]["gate"]["nme_vs_reference"] > gate.MAX_POINT_SHIFT
    assert rows["float16"]["verdict"]["status"] == "passed"


def predict(server, run_id: str, *images: Path) -> dict:
    result = cli("predict", run_id, *map(str, images), "--json", "--server", server.url, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.browser
@pytest.mark.slow
def test_predict_names_a_landmarks_runs_points_in_the_images_pixels_through_its_letterbox(server, tmp_path):
    run_id = task_run(server, tmp_path, "points", LANDMARKS, {"numPoints": len(POINT_NAMES)}, spoil=spread_head_bias)
    wide = tmp_path / "wide.png"
    Image.new("RGB", (96, 48), (90, 120, 150)).save(wide)
    [prediction] = predict(server, run_id, wide)["predictions"]
    assert prediction["image"] == str(wide) and (prediction["width"], prediction["height"]) == (96, 48)
    assert [p["name"] for p in prediction["points"]] == list(POINT_NAMES)
    # 96x48 letterboxed onto 64: scale 2/3, 16-px bars above and below; the head says sigmoid(bias) of the input.
    shares = 1 / (1 + np.exp(-np.linspace(-2, 2, 2 * len(POINT_NAMES))))
    for k, point in enumerate(prediction["points"]):
        assert point["x"] == pytest.approx(shares[2 * k] * INPUT_SIZE * 1.5, abs=1.5), point
        assert point["y"] == pytest.approx((shares[2 * k + 1] * INPUT_SIZE - 16) * 1.5, abs=1.5), point


@pytest.mark.browser
@pytest.mark.slow
def test_predict_lists_a_detection_runs_boxes_with_labels_scores_and_pixels(server, tmp_path):
    run_id = task_run(server, tmp_path, "boxes", DETECTION, {"numClasses": 1, "numAnchors": len(ANCHORS)})
    image = tmp_path / "photo.png"
    Image.new("RGB", (120, 80), (200, 180, 160)).save(image)
    [prediction] = predict(server, run_id, image)["predictions"]
    boxes = prediction["boxes"]
    assert (prediction["width"], prediction["height"]) == (120, 80)
    assert [b["score"] for b in boxes] == sorted((b["score"] for b in boxes), reverse=True)
    for box in boxes:
        assert box["label"] == "face" and DETECTION["score_threshold"] <= box["score"] <= 1
        assert box["x"] >= 0 and box["x"] + box["w"] <= 120 + 1e-6, box  # kept inside the image
        assert box["y"] >= 0 and box["y"] + box["h"] <= 80 + 1e-6, box
    readable = cli("predict", run_id, str(image), "--server", server.url, timeout=300)
    assert readable.returncode == 0, readable.stderr[-3000:]
    line = readable.stdout.strip().splitlines()[-1]
    assert line.startswith(f"{image}: ") and ("face " in line or "no box over the score threshold" in line)
