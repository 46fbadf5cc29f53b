"""Bad detection and landmark sets are refused with an error naming the file and the row, object or id, and leave
no trace: boxes and points outside the image, zero or negative sizes, unknown categories, missing images, keypoint
counts that do not match the names, broken files, two formats at once, and each cap."""

from __future__ import annotations

import dataclasses
import json

import pytest
from support import assert_unchanged, disk_state, upload, zip_bytes
from support.annotated_sets import coco, createml, face_boxes, face_points, landmarks_csv, voc, yolo

from server.datasets.annotations import coco as coco_reader, detect, landmarks_csv as csv_reader, records

BOXES = face_boxes(3, seed=7)  # img_0000.jpg .. img_0002.jpg, 128x128, 1-3 faces each
POINTS = face_points(3, seed=7)  # face_0000.jpg .. face_0002.jpg, 64x64, 5 points each
COCO_FILE = "annotations.json"
TWO_CLASSES = dataclasses.replace(BOXES[1], boxes=[("cat", *BOXES[1].boxes[0][1:])])  # a 'cat' beside the faces


def edit_json(members: dict, file: str, change) -> dict:
    doc = json.loads(members[file])
    change(doc)
    return {**members, file: json.dumps(doc).encode()}


def coco_edit(change, samples=BOXES) -> dict:
    return edit_json(coco(samples), COCO_FILE, change)


def first_annotation(key, value):
    return lambda doc: doc["annotations"][0].__setitem__(key, value)


def replaced(members: dict, name: str, data: bytes | None) -> dict:
    changed = {k: v for k, v in members.items() if k != name}
    return changed if data is None else {**changed, name: data}


def first_line_points(values: str) -> dict:
    """The landmarks CSV with its first data row's coordinates replaced by `values`."""
    members = landmarks_csv(POINTS)
    lines = members["landmarks.csv"].decode().splitlines()
    lines[1] = f"{POINTS[0].file},{values}"
    return {**members, "landmarks.csv": ("\n".join(lines) + "\n").encode()}


CASES = {
    "coco-box-outside": (
        coco_edit(first_annotation("bbox", [120, 10, 20, 20])),
        ["annotations.json annotation id 1", "lies outside the 128x128 image", "more than 1 px"],
    ),
    "coco-negative-size": (
        coco_edit(first_annotation("bbox", [10, 10, -3, 20])),
        ["annotation id 1", "zero or negative size"],
    ),
    "coco-zero-size": (coco_edit(first_annotation("bbox", [10, 10, 0, 20])), ["annotation id 1", "zero or negative"]),
    "coco-not-a-number": (coco_edit(first_annotation("bbox", [10, "ten", 5, 5])), ["annotation id 1", "'ten'"]),
    "coco-unknown-category": (
        coco_edit(first_annotation("category_id", 7)),
        ["annotation id 1: category_id 7 is not in 'categories'"],
    ),
    "coco-unknown-image": (
        coco_edit(first_annotation("image_id", 99)),
        ["annotation id 1: image_id 99 is not in 'images'"],
    ),
    "coco-missing-image": (
        replaced(coco(BOXES), "images/img_0001.jpg", None),
        ["annotations.json image id 2: image 'img_0001.jpg' is not in the dataset"],
    ),
    "coco-image-outside-the-set": (
        coco_edit(lambda doc: doc["images"][0].__setitem__("file_name", "../../secret.jpg")),
        ["image id 1: image '../../secret.jpg' points outside the dataset"],
    ),
    "coco-size-mismatch": (
        coco_edit(lambda doc: doc["images"][0].__setitem__("width", 256)),
        ["image id 1 (img_0000.jpg): the annotations are for a 256x128 image but the file is 128x128"],
    ),
    "coco-not-json": (replaced(coco(BOXES), COCO_FILE, b'{"images": ['), ["annotations.json: not valid JSON"]),
    "coco-no-boxes-at-all": (
        coco_edit(lambda doc: doc.__setitem__("annotations", [])),
        ["no boxes in any image"],
    ),
    "keypoints-count": (
        coco_edit(lambda doc: doc["annotations"][0]["keypoints"].__delitem__(slice(12, None)), POINTS),
        ["annotation id 1: 12 keypoint values; its category names 5 points, so 15 values"],
    ),
    "keypoints-outside": (
        coco_edit(lambda doc: doc["annotations"][0]["keypoints"].__setitem__(0, 80), POINTS),
        ["annotation id 1: point 'left_eye' (80, ", "outside the 64x64 image"],
    ),
    "keypoints-visibility": (
        coco_edit(lambda doc: doc["annotations"][0]["keypoints"].__setitem__(2, 5), POINTS),
        ["annotation id 1: point 'left_eye' has visibility 5"],
    ),
    "keypoints-image-without-points": (
        coco_edit(lambda doc: doc["annotations"].pop(1), POINTS),
        ["image id 2 (face_0001.jpg) has no keypoint annotation"],
    ),
    "keypoints-two-per-image": (
        coco_edit(lambda doc: doc["annotations"].append({**doc["annotations"][0], "id": 9}), POINTS),
        ["annotation id 9: image id 1 has a keypoint annotation already"],
    ),
    "voc-negative-size": (
        replaced(
            voc(BOXES),
            "Annotations/img_0000.xml",
            voc(BOXES)["Annotations/img_0000.xml"].replace(b"<xmin>", b"<xmin>200", 1),
        ),
        ["Annotations/img_0000.xml object 1: the box has a zero or negative size"],
    ),  # fmt: skip
    "voc-missing-image": (
        replaced(voc(BOXES), "JPEGImages/img_0001.jpg", None),
        ["Annotations/img_0001.xml: image 'img_0001.jpg' is not in the dataset"],
    ),
    "voc-doctype": (
        replaced(voc(BOXES), "Annotations/img_0002.xml", b'<!DOCTYPE a [<!ENTITY x "y">]><annotation/>'),
        ["Annotations/img_0002.xml: DOCTYPE and ENTITY declarations are not accepted"],
    ),
    "voc-broken-xml": (
        replaced(voc(BOXES), "Annotations/img_0002.xml", b"<annotation><filename>img_0002.jpg</annotation>"),
        ["Annotations/img_0002.xml: not well-formed XML"],
    ),
    "voc-no-name": (
        replaced(
            voc(BOXES),
            "Annotations/img_0000.xml",
            voc(BOXES)["Annotations/img_0000.xml"].replace(b"<name>face</name>", b"", 1),
        ),
        ["Annotations/img_0000.xml object 1: <name> is missing or empty"],
    ),  # fmt: skip
    "yolo-polygon-line": (
        replaced(yolo(BOXES), "labels/train/img_0000.txt", b"0 0.5 0.5 0.1 0.1 0.3\n"),
        ["labels/train/img_0000.txt line 1: expected 'class cx cy w h' (5 values), got 6"],
    ),
    "yolo-unknown-class": (
        replaced(yolo(BOXES), "labels/train/img_0000.txt", b"0 0.5 0.5 0.1 0.1\n3 0.5 0.5 0.1 0.1\n"),
        ["labels/train/img_0000.txt line 2: class 3 is not in data.yaml's names (1 classes)"],
    ),
    "yolo-box-outside": (
        replaced(yolo(BOXES), "labels/train/img_0001.txt", b"\n0 1.2 0.5 0.2 0.2\n"),
        ["labels/train/img_0001.txt line 2: the box", "outside the 128x128 image"],
    ),
    "yolo-label-without-image": (
        {**yolo(BOXES), "labels/train/ghost.txt": b"0 0.5 0.5 0.1 0.1\n"},
        ["labels/train/ghost.txt: no image of that name"],
    ),
    "yolo-bad-yaml": (
        replaced(yolo(BOXES), "data.yaml", b"names: [face\n"),
        ["data.yaml: not valid YAML (line 2, column 1: "],
    ),
    "yolo-no-names": (replaced(yolo(BOXES), "data.yaml", b"nc: 1\n"), ["data.yaml: 'names' must be a list"]),
    "yolo-nc-disagrees": (
        replaced(yolo(BOXES), "data.yaml", b"nc: 2\nnames: [face]\n"),
        ["data.yaml: nc is 2 but 'names' lists 1 classes"],
    ),
    "createml-box-outside": (
        edit_json(
            createml(BOXES),
            "_annotations.createml.json",
            lambda doc: doc[0]["annotations"][0]["coordinates"].__setitem__("x", 127.0),
        ),
        ["_annotations.createml.json image 1 (img_0000.jpg) annotation 1: the box", "outside the 128x128 image"],
    ),  # fmt: skip
    "createml-missing-image": (
        replaced(createml(BOXES), "img_0002.jpg", None),
        ["_annotations.createml.json image 3: image 'img_0002.jpg' is not in the dataset"],
    ),
    "csv-not-a-number": (
        first_line_points("1,2,3,4,5,6,7,8,9,ten"),
        ["landmarks.csv line 2: mouth_right's y 'ten' is not a number"],
    ),
    "csv-field-count": (first_line_points("1,2,3"), ["landmarks.csv line 2: 4 fields; the header has 11"]),
    "csv-one-coordinate": (
        first_line_points("1,2,3,4,5,6,7,8,9,"),
        ["landmarks.csv line 2: point 'mouth_right' has only one coordinate"],
    ),
    "csv-point-outside": (
        first_line_points("1,2,3,4,5,6,7,8,9,70"),
        ["landmarks.csv line 2: point 'mouth_right' (9, 70) lies outside the 64x64 image"],
    ),
    "csv-missing-image": (
        replaced(landmarks_csv(POINTS), "images/face_0002.jpg", None),
        ["landmarks.csv line 4: image 'face_0002.jpg' is not in the dataset"],
    ),
    "two-formats": ({**coco(BOXES), **voc(BOXES)}, ["found 2 annotation sources", "COCO JSON", "Pascal VOC XML"]),
}


@pytest.mark.parametrize("case", CASES)
def test_a_bad_annotated_set_is_refused_naming_where_and_leaves_no_trace(module_server, mclient, case):
    members, says = CASES[case]
    before = disk_state(module_server.data_dir)
    response = upload(mclient, f"bad-{case}", zip_bytes(members))
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    for words in says:
        assert words in detail, detail
    assert_unchanged(module_server.data_dir, before)


@pytest.mark.parametrize(
    ("module", "cap", "value", "members", "says"),
    [
        (detect, "MAX_BOXES_PER_IMAGE", 2, coco([b for b in BOXES if len(b.boxes) == 3]), "3 boxes; the limit is 2"),
        (detect, "MAX_DATASET_BOXES", 2, coco(BOXES), "boxes in the set; the limit is 2"),
        (records, "MAX_ANNOTATION_FILE_BYTES", 100, coco(BOXES), "annotation files are read up to 100"),
        (records, "MAX_CATEGORIES", 1, voc([BOXES[0], TWO_CLASSES]), "2 categories; the limit is 1"),
        (coco_reader, "MAX_POINTS_PER_IMAGE", 3, coco(POINTS), "at most 3 names"),
        (csv_reader, "MAX_POINTS_PER_IMAGE", 3, landmarks_csv(POINTS), "5 points per image; the limit is 3"),
    ],
    ids=["boxes-per-image", "boxes-per-set", "file-bytes", "categories", "coco-points", "csv-points"],
)
def test_each_annotation_cap_refuses_past_it(module_server, mclient, monkeypatch, module, cap, value, members, says):
    monkeypatch.setattr(module, cap, value)
    before = disk_state(module_server.data_dir)
    response = upload(mclient, f"capped-{cap.lower()}", zip_bytes(members))
    assert response.status_code == 400 and says in response.json()["detail"], response.text
    assert_unchanged(module_server.data_dir, before)
