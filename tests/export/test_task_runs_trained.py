"""Detection and landmarks runs trained for real (two epochs in headless Chromium on the small annotated sets):
their exports carry the run's own task_metadata, the gate's float32 numbers are the run's evaluation numbers (within
the difference between Pillow's resize and the canvas'), and the run page's Try it draws the boxes and points."""

from __future__ import annotations

import json

import pytest
from support.exports import cli, download, members

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TINY = ("--epochs", "2", "--input-size", "32", "--backend", "wasm", "--json")
# The gate resizes with Pillow, the run evaluated on canvas-resized pixels: the same model, slightly other inputs.
MAP50_SLACK = 0.05
NME_SLACK = 0.01


@pytest.fixture(scope="module")
def trained_tasks(task_server) -> dict[str, dict]:
    """{dataset: the train command's summary} for a detection run on `boxes` and a landmarks run on `points`."""
    runs = {}
    for dataset, extra in (("boxes", ()), ("points", ("--resize", "letterbox"))):
        result = cli("train", "--dataset", dataset, *TINY, *extra, "--server", task_server.url, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        runs[dataset] = json.loads(result.stdout.strip().splitlines()[-1])
    return runs


def exported(server, run_id: str, fmt: str) -> tuple[dict, dict, dict]:
    """(the run, the export's metadata.json, the tfjs gate's numbers) after downloading `fmt`."""
    with server.client() as client:
        files = members(download(client, run_id, fmt, confirm="true").content)
        run = client.get(f"/api/runs/{run_id}").json()
        summary = client.get(f"/api/runs/{run_id}/exports").json()
    return run, json.loads(files["metadata.json"]), summary


def test_a_trained_detection_runs_export_decodes_like_the_run_and_its_gate_starts_from_the_runs_map(
    task_server, trained_tasks
):
    run, metadata, summary = exported(task_server, trained_tasks["boxes"]["run_id"], "uint8")
    assert metadata["task_metadata"] == run["info"]["task_metadata"]
    assert metadata["task_metadata"]["anchors"] and metadata["labels"] == ["face"]
    assert summary["gate"]["reference_map50"] == pytest.approx(run["summary"]["map50"], abs=MAP50_SLACK)
    rows = {row["format"]: row for row in summary["formats"]}
    assert 0 <= rows["uint8"]["gate"]["box_agreement"] <= 1
    assert rows["uint8"]["verdict"]["status"] in ("passed", "flagged")


def test_a_trained_landmarks_runs_export_names_its_points_and_its_gate_starts_from_the_runs_nme(
    task_server, trained_tasks
):
    run, metadata, summary = exported(task_server, trained_tasks["points"]["run_id"], "uint8")
    assert metadata["task_metadata"] == run["info"]["task_metadata"]
    assert metadata["task_metadata"]["resize"] == {"mode": "letterbox"}
    assert metadata["labels"] == run["info"]["task_metadata"]["point_names"]
    assert summary["gate"]["reference_nme"] == pytest.approx(run["summary"]["nme"], abs=NME_SLACK)
    rows = {row["format"]: row for row in summary["formats"]}
    assert rows["uint8"]["gate"]["nme_vs_reference"] < 0.01, rows["uint8"]  # a real head survives uint8


def test_try_it_draws_a_landmarks_runs_points_and_a_detection_runs_boxes_over_the_image(
    task_server, trained_tasks, page
):
    for dataset, mark in (("points", "circle.predicted"), ("boxes", "rect.predicted")):
        run_id = trained_tasks[dataset]["run_id"]
        image = task_server.data_dir / "datasets" / dataset / "items" / "0.jpg"
        page.goto(f"{task_server.url}/runs/{run_id}")
        page.set_input_files("#try-file", str(image))
        page.wait_for_function("() => globalThis.browsertrainTry?.done === 1 || globalThis.browsertrainTry?.error")
        result = page.evaluate("() => globalThis.browsertrainTry")
        assert result["error"] is None, result
        [answer] = result["results"]
        page.wait_for_selector("#try-results .annotated[data-drawn='true']")
        drawn = page.locator(f"#try-results svg.annotation-layer {mark}").count()
        if dataset == "points":
            assert drawn == 5 and [p["name"] for p in answer["points"]][:2] == ["left_eye", "right_eye"]
            assert all(0 <= p["x"] <= 48 and 0 <= p["y"] <= 48 for p in answer["points"]), answer
        else:
            listed = page.locator("#try-results .annotation-list li:not(.hint)").count()
            assert drawn == len(answer["boxes"]) and listed == min(drawn, 10), (drawn, listed, answer)
