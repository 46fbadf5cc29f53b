"""`browsertrain predict`, `train --from` and `train --resume` of a finished run, on a tiny run of the sample, through
the pages a person uses (the run page's try-it input, the train page's train-more)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from support import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CLASSES = {"circle", "square", "triangle"}
TINY = ("--epochs", "2", "--input-size", "16", "--backend", "wasm", "--snapshot-every", "1")


def browsertrain(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> tuple[str, str, dict]:
    """(data folder, run id, summary) of a finished two-epoch run on the sample."""
    data = str(tmp_path_factory.mktemp("cli") / "data")
    result = browsertrain("train", "--dataset", "shapes", *TINY, "--json", "--data-dir", data)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    return data, summary["run_id"], summary


def test_the_summary_speed_is_the_median_and_the_steady_state_after_warm_up(tiny_run):
    data, run_id, summary = tiny_run
    listed = json.loads(browsertrain("runs", "list", "--json", "--data-dir", data).stdout)
    stored = next(r for r in listed if r["id"] == run_id)["summary"]
    rates = [e["images_per_second"] for e in epoch_log(data, run_id)]
    assert len(rates) == 2
    assert summary["images_per_second"] == pytest.approx(sum(rates) / 2)  # the median of two
    assert summary["images_per_second_steady"] == pytest.approx(rates[1])  # the first epoch left out
    assert stored["images_per_second_steady"] == summary["images_per_second_steady"]


def epoch_log(data: str, run_id: str) -> list[dict]:
    log = ROOT / data / "runs" / run_id / "epochs.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def sample_images(data: str) -> list[str]:
    """Two of the sample's images, as a user would name them (relative to where they run the command)."""
    manifest = json.loads((ROOT / data / "datasets" / "shapes" / "manifest.json").read_text())
    return [str(ROOT / data / "datasets" / "shapes" / item["file"]) for item in manifest["items"][:2]]


def test_predict_gives_each_image_its_labels_with_probabilities(tiny_run):
    data, run_id, _ = tiny_run
    images = sample_images(data)
    result = browsertrain("predict", run_id, *images, "--json", "--data-dir", data)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["run_id"] == run_id
    assert [p["image"] for p in answer["predictions"]] == images
    for prediction in answer["predictions"]:
        top = prediction["top"]
        assert top and {t["label"] for t in top} <= CLASSES
        assert all(0 <= t["probability"] <= 1 for t in top) and sum(t["probability"] for t in top) <= 1.0001
        assert [t["probability"] for t in top] == sorted((t["probability"] for t in top), reverse=True)

    readable = browsertrain("predict", run_id, images[0], "--data-dir", data)
    assert readable.returncode == 0, readable.stderr
    line = readable.stdout.strip().splitlines()[-1]
    assert line.startswith(f"{images[0]}: ") and "%)" in line and any(label in line for label in CLASSES)


def test_train_more_makes_a_child_run_that_goes_on_from_the_parent(tiny_run):
    data, run_id, _ = tiny_run
    result = browsertrain("train", "--from", run_id, "--epochs", "2", "--json", "--data-dir", data)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["run_id"] != run_id and summary["reason"] == "done", summary
    listed = json.loads(browsertrain("runs", "list", "--json", "--data-dir", data).stdout)
    child = next(r for r in listed if r["id"] == summary["run_id"])
    assert child["parent_run_id"] == run_id


def test_resuming_a_finished_run_prints_the_pages_refusal_and_exits_1(tiny_run):
    data, run_id, _ = tiny_run
    result = browsertrain("train", "--resume", run_id, "--data-dir", data)
    assert result.returncode == 1
    refusal = result.stderr.split("browsertrain: training failed:", 1)[1].strip()
    assert refusal, "the page's reason should be printed"
