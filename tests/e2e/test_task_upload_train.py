"""A detection and a landmarks set as a user meets them in the browser: the COCO zip through the upload page, the
dataset page's summary and its train link, a short run on the train page, and the evaluation the page shows at the
end (drawn boxes or points over the worst validation images)."""

from __future__ import annotations

import zipfile

import pytest
from support.annotated_sets import coco, face_boxes, face_points
from support.train_page import wait_for_phase

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.live_server]

IMAGES = 24  # enough for a validation split of 4-5 images; learning itself is test_task_training's
SETS = {
    "detection": (lambda: face_boxes(IMAGES), "detection, ", "#pr-curves"),
    "landmarks": (lambda: face_points(IMAGES), "landmarks (left_eye, right_eye, nose, mouth_left, mouth_right)", None),
}


def ready(page, timeout=60_000):
    page.wait_for_selector("body[data-ready=true]", state="attached", timeout=timeout)


@pytest.mark.parametrize("task", SETS)
def test_a_coco_zip_uploads_trains_on_the_page_and_shows_its_evaluation(module_server, page, tmp_path, task):
    samples, described, chart = SETS[task]
    archive = tmp_path / f"{task}-set.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name, data in coco(samples()).items():
            z.writestr(name, data)
    page.goto(f"{module_server.url}/upload")
    ready(page)
    page.set_input_files("#upload-file", str(archive))
    page.click("#upload-submit")
    page.wait_for_selector("#train-on-it", timeout=30_000)
    assert f"as a {task} set" in page.text_content("#upload-message")

    page.click("#open-dataset")
    ready(page)
    page.wait_for_function(
        "() => document.querySelector('#dataset-summary').textContent.includes('imported from coco')"
    )
    assert task if task == "detection" else described in page.text_content("#dataset-summary")
    assert page.is_visible("#train-link"), "a detection or landmarks set has its train link"

    page.goto(f"{module_server.url}/train?dataset={task}-set&epochs=2&backend=wasm&autostart=1")
    state = wait_for_phase(page)
    assert state["phase"] == "done", state
    summary = state["summary"]
    assert summary["task"] == task and summary["evaluation"]["task"] == task
    figures = page.locator("figure[data-item-id]")
    figures.first.wait_for(timeout=30_000)
    assert figures.count() == len(summary["evaluation"]["worst"]) > 0
    if chart:
        assert page.is_visible(chart)
