"""Detection and landmarks learn with the CLI's defaults, on sets imported as-is from COCO zips: real faces pasted
into real photos (mAP@0.5 on the validation split) and 5 named points on a face (NME). The two runs train at once,
each in its own headless Chromium against one server."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import httpx
import pytest
from support import ROOT, start_server
from support.annotated_sets import coco, face_boxes, face_points

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FACES, POINTS = "faces", "face-points"
MIN_MAP50 = 0.5  # the bar for 240 images of 1-3 faces at 128x128
MAX_NME = 0.08  # for 300 images of 5 points at 64x64
CLI_TIMEOUT_SECONDS = 900


def cli(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "server.cli", *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def write_zip(tree: dict, path) -> None:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in tree.items():
            z.writestr(name, data)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """{name: (summary, run)} for both sets, each trained with `browsertrain train --dataset NAME --json`."""
    root = tmp_path_factory.mktemp("tasks")
    data = root / "data"
    for name, samples in ((FACES, face_boxes()), (POINTS, face_points())):
        write_zip(coco(samples), root / f"{name}.zip")
        imported = subprocess.run(
            [sys.executable, "-m", "server.cli", "datasets", "import", str(root / f"{name}.zip"), "--name", name,
             "--data-dir", str(data)],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert imported.returncode == 0, imported.stderr
    server = start_server(data)
    try:
        runs = {name: cli("train", "--server", server.url, "--dataset", name, "--json") for name in (FACES, POINTS)}
        results = {}
        for name, process in runs.items():
            out, err = process.communicate(timeout=CLI_TIMEOUT_SECONDS)
            assert process.returncode == 0, err[-2000:]
            summary = json.loads(out.strip().splitlines()[-1])
            run = httpx.get(f"{server.url}/api/runs/{summary['run_id']}").json()
            results[name] = (summary, run)
        yield results
    finally:
        server.stop()


def test_a_coco_detection_set_reaches_map50_with_the_cli_defaults(trained):
    summary, run = trained[FACES]
    assert summary["task"] == "detection" and run["config"]["task"] == "detection"
    assert summary["map50"] >= MIN_MAP50, f"mAP@0.5 {summary['map50']:.3f} ({summary['epochs']} epochs)"
    assert 0 < summary["map"] <= summary["map50"]
    evaluation = summary["evaluation"]
    assert evaluation["per_class"][0]["name"] == "face" and evaluation["per_class"][0]["truths"] > 40
    assert len(evaluation["pr_curves"][0]["precision"]) == 101
    metadata = run["info"]["task_metadata"]
    assert metadata["task"] == "detection" and metadata["classes"] == ["face"]
    assert len(metadata["anchors"]) == run["config"]["numAnchors"] and metadata["grid_size"] >= 2
    assert run["status"] == "finished" and not summary["warnings"]


def test_a_coco_keypoints_set_reaches_nme_with_the_cli_defaults(trained):
    summary, run = trained[POINTS]
    assert summary["task"] == "landmarks"
    assert summary["nme"] <= MAX_NME, f"NME {summary['nme']:.3f}"
    evaluation = summary["evaluation"]
    names = ["left_eye", "right_eye", "nose", "mouth_left", "mouth_right"]
    assert [p["name"] for p in evaluation["per_point"]] == names
    assert all(p["nme"] <= MAX_NME for p in evaluation["per_point"])
    assert run["info"]["task_metadata"]["point_names"] == names
    # The worst images carry what the run page draws: truth and prediction per point, in shares of the image.
    worst = evaluation["worst"][0]
    assert len(worst["truth"]) == len(worst["predicted"]) == 5
    assert all(0 <= v <= 1 for point in worst["predicted"] for v in point)
