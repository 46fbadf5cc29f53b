"""Detection and landmarks exports say how to decode their outputs (the run's task_metadata, names in output order),
and the gate judges them on boxes and points: built from run dicts and topologies, no browser."""

from __future__ import annotations

import pytest
from support import task_snapshots

from server.artifacts import gate, labels
from server.artifacts.tfjs_model import LayersModel

# The support runs' metadata, made to cover two classes and both resize modes.
DETECTION = {**task_snapshots.DETECTION, "classes": ["cat", "face"], "resize": {"mode": "letterbox"}}
LANDMARKS = {**task_snapshots.LANDMARKS, "resize": {"mode": "stretch"}}
ANCHORS = DETECTION["anchors"]


def topology(head: dict, size: int) -> LayersModel:
    """A model.json with an input layer and the task's head as its output layer."""
    layers = [
        {"class_name": "InputLayer", "name": "image", "config": {"batch_input_shape": [None, size, size, 3]}},
        {"name": "head", **head},
    ]
    config = {"layers": layers, "input_layers": [["image", 0, 0]], "output_layers": [["head", 0, 0]]}
    return LayersModel({"modelTopology": {"config": config}})


def run_of(task: str, meta: dict | None) -> dict:
    return {
        "id": "r1",
        "dataset": "faces",
        "dataset_hash": "abc",
        "config": {"task": task, "normalization": "unit"},
        "info": {"task_metadata": meta} if meta else {},
    }


def test_a_detection_export_carries_anchors_grid_thresholds_and_its_class_names():
    model = topology({"class_name": "Conv2D", "config": {"filters": len(ANCHORS) * (5 + 2)}}, 64)
    metadata = labels.export_metadata(None, run_of("detection", DETECTION), 3, 7, model)
    assert metadata["labels"] == ["cat", "face"] and metadata["labels_unavailable"] is None
    assert metadata["task"] == "detection" and metadata["task_metadata"] == DETECTION
    assert "letterbox" in metadata["input"]["resize"]
    assert labels.labels_text(metadata["labels"]) == "cat\nface\n"


def test_a_landmarks_export_names_its_points_in_output_order():
    model = topology({"class_name": "Dense", "config": {"units": 10}}, 32)
    metadata = labels.export_metadata(None, run_of("landmarks", LANDMARKS), 1, 2, model)
    assert metadata["labels"] == LANDMARKS["point_names"]
    assert metadata["task_metadata"]["point_names"] == LANDMARKS["point_names"]
    assert metadata["input"]["resize"] == labels.RESIZE


@pytest.mark.parametrize(
    "task, meta, head, why",
    [
        ("detection", None, {"class_name": "Conv2D", "config": {"filters": 14}}, "recorded no task_metadata"),
        ("detection", DETECTION, {"class_name": "Conv2D", "config": {"filters": 12}}, "12 outputs per position"),
        ("landmarks", LANDMARKS, {"class_name": "Dense", "config": {"units": 4}}, "x, y of 5 points: 10"),
    ],
)
def test_names_that_cannot_match_the_outputs_are_left_out_with_the_reason(task, meta, head, why):
    metadata = labels.export_metadata(None, run_of(task, meta), 1, 1, topology(head, 32))
    assert metadata["labels"] is None and why in metadata["labels_unavailable"]
    assert metadata["task_metadata"] is None


@pytest.mark.parametrize(
    "agreement, status", [(1.0, "passed"), (gate.MIN_BOX_AGREEMENT, "passed"), (0.5, "flagged"), (None, "unknown")]
)
def test_a_detection_export_is_flagged_when_its_boxes_stop_matching_the_float32_models(agreement, status):
    verdict = gate.verdict({"box_agreement": agreement, "map50": 0.4}, 1.0)
    assert verdict["status"] == status and verdict["needs_confirm"] == (status != "passed")


@pytest.mark.parametrize("shift, status", [(0.0, "passed"), (gate.MAX_POINT_SHIFT, "passed"), (0.05, "flagged")])
def test_a_landmarks_export_is_flagged_when_its_points_move_from_the_float32_models(shift, status):
    assert gate.verdict({"nme_vs_reference": shift, "nme": 0.1}, 1.0)["status"] == status


def test_the_reason_for_a_flag_names_the_task_numbers():
    boxes = gate.flag_reason({"box_agreement": 0.5, "map50": 0.25}, 1.0)
    assert "0.500" in boxes and "mAP@0.5 0.250" in boxes and str(gate.MIN_BOX_AGREEMENT) in boxes
    points = gate.flag_reason({"nme_vs_reference": 0.05, "nme": None}, 1.0)
    assert "0.0500 of the box diagonal" in points and "NME unknown" in points


def test_a_letterbox_run_is_evaluated_on_letterboxed_pixels_black_bars_and_all(tmp_path):
    from PIL import Image

    path = tmp_path / "wide.png"
    Image.new("RGB", (8, 4), (200, 100, 50)).save(path)
    pixels = gate.read_rgb(path, 4, "letterbox")
    assert (pixels[0] == 0).all() and (pixels[3] == 0).all()  # 8x4 onto 4x4: 1-px bars above and below
    assert (pixels[1:3] == [200, 100, 50]).all()
    assert (gate.read_rgb(path, 4) == [200, 100, 50]).all()  # stretched: no bars
