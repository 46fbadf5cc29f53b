"""Detection and landmarks runs on their run page, in real Chromium: the headline metric, a row per class or point,
the precision-recall curves, and the worst images with their true and predicted boxes or points drawn where they
are; and the input preview drawing each row's boxes or points over its canvas."""

from __future__ import annotations

import pytest
from support.annotated_sets import POINT_NAMES
from support.task_runs import WORST_SHOWN, detection_run, landmarks_run

pytestmark = [pytest.mark.browser, pytest.mark.live_server]


@pytest.fixture(scope="module")
def task_runs(module_server):
    with module_server.client() as client:
        return {"detection": detection_run(client), "landmarks": landmarks_run(client)}


def open_run(page, server, run_id: str) -> list[str]:
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(f"{server.url}/runs/{run_id}")
    page.wait_for_selector("body[data-ready=true]")
    # Each worst image draws its layer once the image has loaded (its pixel size fixes the layer's units).
    page.wait_for_function(
        f"() => document.querySelectorAll('#worst-images .annotated[data-drawn=true] img').length === {WORST_SHOWN}"
        " && [...document.querySelectorAll('#worst-images img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    return errors


def drawn(page, selector: str) -> list[int]:
    """How many `selector` shapes each worst image's layer holds, in page order."""
    return page.eval_on_selector_all(
        "#worst-images figure", f"figs => figs.map(f => f.querySelectorAll('svg {selector}').length)"
    )


def test_a_detection_run_page_shows_map_ap_per_class_pr_curves_and_the_worst_boxes(module_server, task_runs, page):
    run_id, evaluation = task_runs["detection"]
    errors = open_run(page, module_server, run_id)
    assert page.inner_text("#map50") == "0.730" and page.inner_text("#map") == "0.420"
    assert "mAP@0.5\n0.730" in page.inner_text("#run-stats")
    # The epochs chart the task's own metric (train and val), not an empty accuracy chart.
    assert page.locator("#charts .chart[data-chart='Mean IoU'] polyline").count() == 2
    assert page.locator("#charts .chart[data-chart=Accuracy]").count() == 0
    rows = page.eval_on_selector_all(
        "table.per-class tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    truths = {c["name"]: str(c["truths"]) for c in evaluation["per_class"]}
    assert rows == [["large", "0.820", "0.510", truths["large"]], ["small", "0.640", "0.330", truths["small"]]]
    # One curve per class, in the legend and drawn.
    assert page.locator("#pr-curves svg polyline").count() == 2
    assert page.inner_text("#pr-curves .chart-legend") == "━ large\n━ small"
    worst = evaluation["worst"]
    ids = page.eval_on_selector_all("#worst-images figure", "figs => figs.map(f => Number(f.dataset.itemId))")
    assert ids == [w["item_id"] for w in worst]
    assert drawn(page, "rect.truth") == [len(w["truth"]) for w in worst]
    assert drawn(page, "rect.predicted") == [2] * WORST_SHOWN
    labels = page.eval_on_selector_all(
        "#worst-images figure:first-child .box-label", "ts => ts.map(t => t.textContent)"
    )
    assert labels == [f"{worst[0]['truth'][0]['label']} 0.91", f"{worst[0]['truth'][0]['label']} 0.42"]
    # Where a person sees the first true box: at its share of the image as shown on the screen.
    seen = page.evaluate(
        """() => {
          const fig = document.querySelector('#worst-images figure');
          const img = fig.querySelector('img').getBoundingClientRect();
          const box = fig.querySelector('rect.truth').getBoundingClientRect();
          return [(box.left - img.left) / img.width, (box.top - img.top) / img.height, box.width / img.width];
        }"""
    )
    first = worst[0]["truth"][0]
    # The border (1 px of a 192 px image) and the 2 px stroke move the screen box by under 2%.
    assert seen == pytest.approx([first["x"], first["y"], first["w"]], abs=0.02)
    assert errors == []


def test_a_landmarks_run_page_shows_nme_per_point_error_and_the_worst_points_joined(module_server, task_runs, page):
    run_id, evaluation = task_runs["landmarks"]
    errors = open_run(page, module_server, run_id)
    assert page.inner_text("#nme") == "0.052"
    assert "NME\n0.052" in page.inner_text("#run-stats")
    assert page.locator("#charts .chart[data-chart=NME] polyline").count() == 2
    rows = page.eval_on_selector_all("table.per-point tbody tr", "rows => rows.map(r => r.cells[0].textContent)")
    assert rows == list(POINT_NAMES)
    meters = page.eval_on_selector_all("table.per-point meter", "ms => ms.map(m => m.value)")
    assert meters == pytest.approx([p["nme"] for p in evaluation["per_point"]])
    captions = page.eval_on_selector_all("#worst-images figcaption", "cs => cs.map(c => c.textContent)")
    assert captions == [f"NME {w['nme']:.3f}" for w in evaluation["worst"]]
    assert drawn(page, "circle.truth") == [5] * WORST_SHOWN
    assert drawn(page, "circle.predicted") == [5] * WORST_SHOWN
    assert drawn(page, "line.pair") == [5] * WORST_SHOWN
    names = page.eval_on_selector_all(
        "#worst-images figure:first-child circle.truth title", "ts => ts.map(t => t.textContent)"
    )
    assert names == [f"truth: {n}" for n in POINT_NAMES]
    # The worst image's predictions sit 8 px (of 64) right of the truth: 24 screen px at 192.
    gap = page.evaluate(
        """() => {
          const fig = document.querySelector('#worst-images figure');
          const [t, p] = ['truth', 'predicted'].map(k => fig.querySelector(`circle.${k}`).getBoundingClientRect());
          return [p.left - t.left, p.top - t.top];
        }"""
    )
    assert gap == pytest.approx([24, 0], abs=0.5)
    assert errors == []


PREVIEW_SCRIPT = """async ([task, labels]) => {
  const { renderPreview } = await import('/static/js/ui/preview.js');
  const container = document.createElement('div');
  container.className = 'grid';
  document.body.append(container);
  const rows = labels.length;
  const shown = await renderPreview(container, {
    xs: tf.zeros([rows, 32, 32, 3]), ys: tf.zeros([rows, 4]), labels,
    items: labels.map((_, i) => ({ item_id: i })), classes: [], pointNames: ['left_eye', 'right_eye', 'nose'],
    config: { task, inputSize: 32, normalization: 'unit' }, epoch: 0,
  });
  const figures = [...container.querySelectorAll('figure')];
  const layers = figures.map((f) => f.querySelectorAll('svg rect, svg circle').length);
  // Where the first shape shows, in shares of the picture inside the canvas's 1 px border.
  const canvas = figures[0].querySelector('canvas').getBoundingClientRect();
  const shape = figures[0].querySelector('svg rect, svg circle').getBoundingClientRect();
  const at = [(shape.left + shape.width / 2 - canvas.left - 1) / (canvas.width - 2),
    (shape.top + shape.height / 2 - canvas.top - 1) / (canvas.height - 2)];
  container.remove();
  return { shown: shown.items, layers, at, tensors: tf.memory().numTensors };
}"""


def test_the_input_preview_draws_each_rows_boxes_or_points_over_its_canvas(module_server, page):
    page.goto(f"{module_server.url}/train")
    page.wait_for_function("() => globalThis.browsertrain?.phase === 'ready'")
    before = page.evaluate("() => tf.memory().numTensors")
    boxes = [
        {"width": 1, "height": 1, "boxes": [{"label": "face", "x": 0.1, "y": 0.1, "w": 0.3, "h": 0.3}] * 2},
        {"width": 1, "height": 1, "boxes": [{"label": "face", "x": 0.5, "y": 0.5, "w": 0.2, "h": 0.2}]},
        {"width": 1, "height": 1, "boxes": []},
    ]
    result = page.evaluate(PREVIEW_SCRIPT, ["detection", boxes])
    assert [i["label"] for i in result["shown"]] == ["2 boxes", "1 box", "0 boxes"]
    assert result["layers"] == [2, 1, 0] and [i["drawn"] for i in result["shown"]] == [2, 1, 0]
    assert result["at"] == pytest.approx([0.25, 0.25], abs=0.02)  # the centre of the box at (0.1, 0.1), 0.3 wide
    # A point cropped away by augmentation (v = 0) is neither counted nor drawn.
    points = [{"width": 1, "height": 1, "points": [[0.3, 0.4, 2], [0.7, 0.4, 2], [0.5, 0.6, 0]]}]
    result = page.evaluate(PREVIEW_SCRIPT, ["landmarks", points])
    assert [i["label"] for i in result["shown"]] == ["2 points"] and result["layers"] == [2]
    assert result["at"] == pytest.approx([0.3, 0.4], abs=0.02)
    assert result["tensors"] == before, "the preview leaked its batch"


@pytest.mark.parametrize("dataset", ["faces-boxes", "faces-points"])
def test_the_train_page_preview_of_an_annotated_set_draws_what_the_loss_gets(module_server, task_runs, page, dataset):
    """The whole path: the set's annotations, moved by the epoch's crop, drawn over each input and counted below it."""
    page.goto(f"{module_server.url}/train?dataset={dataset}&batchSize=8&inputSize=64")
    page.wait_for_function("() => globalThis.browsertrain?.phase === 'ready'")
    page.click("#preview-inputs")
    page.wait_for_function("() => ['done', 'error'].includes(globalThis.browsertrain?.phase)", timeout=120_000)
    assert page.evaluate("() => globalThis.browsertrain.error") is None
    rows = page.eval_on_selector_all(
        "#preview-grid figure",
        "fs => fs.map(f => [f.querySelector('figcaption').textContent,"
        " f.querySelectorAll('svg rect, svg circle').length])",
    )
    assert len(rows) == 8
    assert [int(caption.split()[0]) for caption, _ in rows] == [count for _, count in rows], rows
    words = {"faces-boxes": {"box", "boxes"}, "faces-points": {"point", "points"}}[dataset]
    assert {caption.split()[1] for caption, _ in rows} <= words, rows
    assert sum(count for _, count in rows) >= 8, rows  # every image has a face (1-3 boxes) or 5 points
    assert "boxes and points as the loss gets them" in page.inner_text("#preview-caption")
