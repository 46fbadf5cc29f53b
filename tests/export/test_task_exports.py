"""Detection and landmarks exports end to end on a real server, with models from the project's own builder (their
heads untrained: these tests are about what travels with an export and what the gate measures, not about learning):
metadata.json and labels.txt name the outputs and carry the decoding metadata, and the gate answers with box or
point numbers instead of accuracy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support.annotated_sets import POINT_NAMES
from support.exports import TFJS_FORMATS, cli, download, members
from support.task_snapshots import (
    ANCHORS,
    DETECTION,
    INPUT_SIZE,
    LANDMARKS,
    lossy_head_bias,
    spread_head_bias,
    task_run,
)

from server.artifacts import gate

POINTS_HEAD = {"numPoints": len(POINT_NAMES)}


def built(server, run_id: str) -> dict:
    with server.client() as client:
        response = client.post(f"/api/runs/{run_id}/exports", params={"group": "tfjs"}, timeout=600)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_detection_export_names_its_classes_carries_its_anchors_and_is_gated_on_its_boxes(task_server, tmp_path):
    run_id = task_run(task_server, tmp_path, "boxes", DETECTION, {"numClasses": 1, "numAnchors": len(ANCHORS)})
    summary = built(task_server, run_id)
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
    with task_server.client() as client:
        files = members(download(client, run_id, "float16").content)
    metadata = json.loads(files["metadata.json"])
    assert metadata["task_metadata"] == DETECTION and metadata["labels"] == ["face"]
    assert files["labels.txt"] == b"face\n"
    assert json.loads(files["model.json"])["userDefinedMetadata"]["task_metadata"]["anchors"] == ANCHORS


def test_a_landmarks_export_names_its_points_and_is_gated_on_where_they_land(task_server, tmp_path):
    run_id = task_run(task_server, tmp_path, "points", LANDMARKS, POINTS_HEAD)
    summary = built(task_server, run_id)
    assert summary.get("gate_unavailable") is None, summary
    rows = {row["format"]: row for row in summary["formats"]}
    assert rows["tfjs"]["gate"]["nme_vs_reference"] == 0
    assert rows["float16"]["gate"]["nme_vs_reference"] < 1e-3
    for fmt in TFJS_FORMATS:
        assert rows[fmt]["gate"]["nme"] > 0, fmt  # an untrained head is somewhere, not on the points
    assert summary["gate"]["reference_nme"] == rows["tfjs"]["gate"]["nme"]
    with task_server.client() as client:
        files = members(download(client, run_id, "uint16").content)
    assert files["labels.txt"].decode().splitlines() == list(POINT_NAMES)
    metadata = json.loads(files["metadata.json"])
    assert metadata["task_metadata"]["point_names"] == list(POINT_NAMES)
    assert "letterbox" in metadata["input"]["resize"]


def test_a_landmarks_export_whose_points_move_is_flagged_and_served_only_when_confirmed(task_server, tmp_path):
    run_id = task_run(task_server, tmp_path, "points", LANDMARKS, POINTS_HEAD, spoil=lossy_head_bias)
    with task_server.client() as client:
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
def test_predict_names_a_landmarks_runs_points_in_the_images_pixels_through_its_letterbox(task_server, tmp_path):
    run_id = task_run(task_server, tmp_path, "points", LANDMARKS, POINTS_HEAD, spoil=spread_head_bias)
    wide = tmp_path / "wide.png"
    Image.new("RGB", (96, 48), (90, 120, 150)).save(wide)
    [prediction] = predict(task_server, run_id, wide)["predictions"]
    assert prediction["image"] == str(wide) and (prediction["width"], prediction["height"]) == (96, 48)
    assert [p["name"] for p in prediction["points"]] == list(POINT_NAMES)
    # 96x48 letterboxed onto 64: scale 2/3, 16-px bars above and below; the head says sigmoid(bias) of the input.
    shares = 1 / (1 + np.exp(-np.linspace(-2, 2, 2 * len(POINT_NAMES))))
    for k, point in enumerate(prediction["points"]):
        assert point["x"] == pytest.approx(shares[2 * k] * INPUT_SIZE * 1.5, abs=1.5), point
        assert point["y"] == pytest.approx((shares[2 * k + 1] * INPUT_SIZE - 16) * 1.5, abs=1.5), point


@pytest.mark.browser
@pytest.mark.slow
def test_predict_lists_a_detection_runs_boxes_with_labels_scores_and_pixels(task_server, tmp_path):
    run_id = task_run(task_server, tmp_path, "boxes", DETECTION, {"numClasses": 1, "numAnchors": len(ANCHORS)})
    image = tmp_path / "photo.png"
    Image.new("RGB", (120, 80), (200, 180, 160)).save(image)
    [prediction] = predict(task_server, run_id, image)["predictions"]
    boxes = prediction["boxes"]
    assert (prediction["width"], prediction["height"]) == (120, 80)
    assert [b["score"] for b in boxes] == sorted((b["score"] for b in boxes), reverse=True)
    for box in boxes:
        assert box["label"] == "face" and DETECTION["score_threshold"] <= box["score"] <= 1
        assert box["x"] >= 0 and box["x"] + box["w"] <= 120 + 1e-6, box  # kept inside the image
        assert box["y"] >= 0 and box["y"] + box["h"] <= 80 + 1e-6, box
    readable = cli("predict", run_id, str(image), "--server", task_server.url, timeout=300)
    assert readable.returncode == 0, readable.stderr[-3000:]
    line = readable.stdout.strip().splitlines()[-1]
    assert line.startswith(f"{image}: ") and ("face " in line or "no box over the score threshold" in line)
