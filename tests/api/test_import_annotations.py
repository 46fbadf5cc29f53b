"""Detection and landmark sets import from what users already have (COCO, Pascal VOC, YOLO, CreateML, a landmarks
CSV), told apart by their files: the manifest records the task and every box or point, the same data gives the same
dataset in every format, and `train` refuses what it cannot train yet."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import PurePosixPath

import numpy as np
import pytest
from PIL import Image
from support import upload, write_tree, zip_bytes
from support.annotated_sets import (
    ASTRONAUT_POINTS,
    POINT_NAMES,
    _similarity,
    coco,
    createml,
    face_boxes,
    face_points,
    landmarks_csv,
    voc,
    yolo,
)
from support.cli import run_cli

from server.datasets.pack import unpack


@pytest.fixture(scope="module")
def boxes_set():
    return face_boxes()


@pytest.fixture(scope="module")
def points_set():
    return face_points()


def _round(values) -> list[float]:
    return [round(float(v), 3) for v in values]


def expected_boxes(samples) -> dict[str, list]:
    return {s.file: [[label, *_round(xywh)] for label, *xywh in s.boxes] for s in samples}


def stored_boxes(manifest: dict) -> dict[str, list]:
    return {
        PurePosixPath(it["source"]).name: [[b["label"], b["x"], b["y"], b["w"], b["h"]] for b in it["boxes"]]
        for it in manifest["items"]
    }


def stored_points(manifest: dict) -> dict[str, list]:
    return {PurePosixPath(it["source"]).name: it["points"] for it in manifest["items"]}


def expected_points(samples) -> dict[str, list]:
    return {s.file: [[*_round(p), 2] for p in s.points] for s in samples}


def test_the_240_image_coco_detection_zip_imports_as_is_through_the_upload(mclient, boxes_set):
    response = upload(mclient, "faces-coco", zip_bytes(coco(boxes_set)))
    assert response.status_code == 201, response.text
    summary = response.json()
    assert (summary["task"], summary["classes"], summary["num_items"]) == ("detection", ["face"], 240)
    manifest = mclient.get("/api/datasets/faces-coco").json()
    assert manifest["source_format"] == "coco"
    assert manifest["num_boxes"] == sum(len(s.boxes) for s in boxes_set)
    assert {len(it["boxes"]) for it in manifest["items"]} == {1, 2, 3}
    assert stored_boxes(manifest) == expected_boxes(boxes_set)
    assert all((it["width"], it["height"]) == (128, 128) for it in manifest["items"])
    listed = {d["name"]: d for d in mclient.get("/api/datasets").json()["datasets"]}
    assert listed["faces-coco"]["task"] == "detection" and listed["shapes"]["task"] == "classification"
    # The bulk pack that pages train from carries the boxes; the dataset page opens.
    header, _ = unpack(mclient.get("/api/datasets/faces-coco/bulk?count=3").content)
    assert [e["boxes"] for e in header["items"]] == [it["boxes"] for it in manifest["items"][:3]]
    assert mclient.get("/datasets/faces-coco").status_code == 200


def test_the_300_image_coco_keypoints_zip_imports_as_a_landmarks_set(mclient, points_set):
    response = upload(mclient, "faces-points", zip_bytes(coco(points_set)))
    assert response.status_code == 201, response.text
    assert response.json()["task"] == "landmarks" and response.json()["classes"] == []
    manifest = mclient.get("/api/datasets/faces-points").json()
    assert manifest["num_items"] == 300 and manifest["point_names"] == list(POINT_NAMES)
    assert stored_points(manifest) == expected_points(points_set)
    first = next(it for it in manifest["items"] if it["source"].endswith(points_set[0].file))
    assert [first["box"][k] for k in "xywh"] == _round(points_set[0].box)
    assert mclient.get("/datasets/faces-points").status_code == 200


def test_the_keypoints_are_exact_where_the_transformed_picture_puts_them():
    """A blob drawn at each hand-placed point lands, after the builder's transform, on the transformed point."""
    yy, xx = np.mgrid[0:512, 0:512] + 0.5  # pixel centres, coordinates from the top-left corner
    blobs = sum(np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / 32.0) for x, y in ASTRONAUT_POINTS)
    source = Image.fromarray(blobs.astype(np.float32), mode="F")
    turn, offset = _similarity(np.random.default_rng(3), 64)
    back = np.linalg.inv(turn)
    start = -back @ offset
    matrix = (back[0, 0], back[0, 1], start[0], back[1, 0], back[1, 1], start[1])
    out = np.asarray(source.transform((64, 64), Image.AFFINE, matrix, resample=Image.BILINEAR))
    oy, ox = np.mgrid[0:64, 0:64] + 0.5
    for point in ASTRONAUT_POINTS:
        x, y = turn @ np.array(point) + offset
        weight = out * (((ox - x) ** 2 + (oy - y) ** 2) < 9)
        centre = ((weight * ox).sum() / weight.sum(), (weight * oy).sum() / weight.sum())
        assert np.allclose(centre, (x, y), atol=0.15), (point, centre, (x, y))


def with_negative(samples):
    """The samples plus one image without objects (a negative), which every detection format allows."""
    return [*samples, dataclasses.replace(samples[0], file="zz_empty.jpg", boxes=[])]


@pytest.mark.parametrize(
    ("writer", "source_format"),
    [
        (coco, "coco"),
        (voc, "voc"),
        (yolo, "yolo"),
        (lambda s: yolo(s, names_as_map=True), "yolo"),
        (createml, "createml"),
    ],
    ids=["coco", "voc", "yolo-list", "yolo-map", "createml"],
)
def test_every_detection_format_gives_the_same_boxes_and_hash(mclient, boxes_set, writer, source_format):
    samples = with_negative(boxes_set[:30])
    name = f"same-{source_format}-{hashlib.sha256(repr(writer).encode()).hexdigest()[:6]}"
    response = upload(mclient, name, zip_bytes({f"wrapped/{k}": v for k, v in writer(samples).items()}))
    assert response.status_code == 201, response.text
    manifest = mclient.get(f"/api/datasets/{name}").json()
    assert (manifest["task"], manifest["source_format"], manifest["num_items"]) == ("detection", source_format, 31)
    assert stored_boxes(manifest) == expected_boxes(samples)
    assert stored_boxes(manifest)["zz_empty.jpg"] == []
    reference = upload(mclient, f"{name}-coco", zip_bytes(coco(samples)))
    assert reference.status_code == 201, reference.text
    assert manifest["hash"] == reference.json()["hash"]


@pytest.mark.parametrize("numbered", [False, True], ids=["named-columns", "x1-y1-columns"])
def test_a_landmarks_csv_gives_the_points_of_the_coco_keypoints(mclient, points_set, numbered):
    samples = points_set[:20]
    name = f"csv-points-{'numbered' if numbered else 'named'}"
    response = upload(mclient, name, zip_bytes(landmarks_csv(samples, numbered=numbered)))
    assert response.status_code == 201, response.text
    manifest = mclient.get(f"/api/datasets/{name}").json()
    assert (manifest["task"], manifest["source_format"]) == ("landmarks", "landmarks-csv")
    assert manifest["point_names"] == (["p1", "p2", "p3", "p4", "p5"] if numbered else list(POINT_NAMES))
    assert stored_points(manifest) == expected_points(samples)


def test_unlabelled_points_and_edge_slack(mclient, points_set):
    """An empty x,y pair is an unlabelled point (visibility 0); 0.6 px past the edge is clipped, as a rounding slip."""
    sample = points_set[0]
    header = "filename," + ",".join(f"{n}_{axis}" for n in POINT_NAMES for axis in "xy")
    values = [*(repr(v) for p in sample.points[:3] for v in p), "", "", "64.6", "-0.6"]
    members = {"a.jpg": sample.data, "points.csv": f"{header}\na.jpg,{','.join(values)}\n".encode()}
    assert upload(mclient, "slack-points", zip_bytes(members)).status_code == 201
    points = mclient.get("/api/datasets/slack-points").json()["items"][0]["points"]
    assert points[3] == [0, 0, 0] and points[4] == [64, 0, 2]


def test_a_box_a_rounding_slip_past_the_edge_is_clipped(mclient, boxes_set):
    sample = dataclasses.replace(boxes_set[0], boxes=[("face", -0.5, 100.0, 20.0, 28.9)])
    assert upload(mclient, "slack-box", zip_bytes(coco([sample]))).status_code == 201
    box = mclient.get("/api/datasets/slack-box").json()["items"][0]["boxes"][0]
    assert box == {"label": "face", "x": 0, "y": 100, "w": 19.5, "h": 28}


def test_cli_detects_a_folder_format_and_train_refuses_another_task_at_once(tmp_path, capsys, boxes_set, fake_chromium):
    data = str(tmp_path / "data")
    folder = write_tree(tmp_path / "faces-yolo", yolo(boxes_set[:10]))
    status, out, err, _ = run_cli("datasets", "import", str(folder), "--data-dir", data, capsys=capsys)
    assert status == 0, err
    boxes = sum(len(s.boxes) for s in boxes_set[:10])
    assert f"imported faces-yolo: 10 images, detection: {boxes} boxes of 1 classes (face), from yolo" in out
    status, out, _, _ = run_cli("datasets", "list", "--data-dir", data, capsys=capsys)
    assert status == 0 and "faces-yolo" in out and "detection" in out
    chromium, mark = fake_chromium
    given = ("--dataset", "faces-yolo", "--task", "landmarks", "--data-dir", data, "--chromium", chromium)
    status, _, err, seconds = run_cli("train", *given, capsys=capsys)
    assert status == 2 and "is a detection set, not landmarks" in err
    assert seconds < 1.0 and not mark.exists()


def test_classification_sets_keep_their_hash_and_old_manifests_load_as_classification(module_server, mclient):
    manifest = mclient.get("/api/datasets/shapes").json()
    assert manifest["task"] == "classification"
    old_form = [manifest["classes"], [[it["label"], it["sha256"], it["content_type"]] for it in manifest["items"]]]
    assert manifest["hash"] == hashlib.sha256(json.dumps(old_form).encode()).hexdigest()[:16]
    path = module_server.data_dir / "datasets" / "shapes" / "manifest.json"
    stored = json.loads(path.read_text())
    del stored["task"]  # as every manifest written before detection and landmarks sets
    path.write_text(json.dumps(stored))
    assert mclient.get("/api/datasets/shapes").json()["task"] == "classification"
    listed = {d["name"]: d for d in mclient.get("/api/datasets").json()["datasets"]}
    assert listed["shapes"]["task"] == "classification"


def test_coco_crowd_regions_are_left_out(mclient, boxes_set):
    """iscrowd 1 marks a region of many objects at once, not an object: COCO leaves it out of training too."""
    members = coco(boxes_set[:2])
    doc = json.loads(members["annotations.json"])
    doc["annotations"].append({**doc["annotations"][0], "id": 99, "iscrowd": 1, "bbox": [0, 0, 128, 128]})
    members["annotations.json"] = json.dumps(doc).encode()
    assert upload(mclient, "crowd", zip_bytes(members)).status_code == 201
    assert stored_boxes(mclient.get("/api/datasets/crowd").json()) == expected_boxes(boxes_set[:2])
