"""Regenerates the README's screenshots: starts its own server on a fresh data folder and headless Chromium, trains
the sample on the train page, and captures the train page mid-run, the run page and the export page; then the run
pages of a detection and a landmarks run (the annotated test sets, with the hand-written evaluations the browser tests
use: tests/support/task_runs.py).

    python -m tools.screenshots [--out docs/screenshots] [--epochs 20] [--only tasks]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import ROOT, chromium, running_server

OUT = ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 900}
MID_RUN_EPOCHS = 6  # the train page is captured once this many epochs have been charted
RUN_SECONDS = 900  # the whole run, on a 2-core machine without a GPU
EXPORT_READY_SECONDS = 300  # quantizing + gate (and the TensorFlow formats when the export extra is installed)


def wait_until(page, expression: str, seconds: float) -> None:
    page.wait_for_function(
        f"() => {expression}", timeout=seconds * 1000, polling=250
    )  # a function: the CSP forbids eval


def new_page(browser):
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    page = context.new_page()
    page.on("pageerror", lambda err: print(f"page error: {err}"))
    return context, page


def shot(page, out: Path, name: str, shots: list[Path], selector: str | None = None) -> None:
    """The whole page, or only the element at `selector`."""
    path = out / f"{name}.png"
    if selector:
        page.locator(selector).screenshot(path=path, animations="disabled")
    else:
        page.screenshot(path=path, full_page=True, animations="disabled")
    shots.append(path)
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def capture(url: str, browser, out: Path, epochs: int) -> list[Path]:
    """The sample trained on the train page: the page mid-run, its run page, its export page."""
    context, page = new_page(browser)
    shots: list[Path] = []
    try:
        page.goto(f"{url}/train?dataset=shapes&autostart=1&epochs={epochs}&backend=wasm&inputSize=32&snapshotEvery=5")
        wait_until(page, f"(globalThis.browsertrain?.epochs.length ?? 0) >= {MID_RUN_EPOCHS}", RUN_SECONDS)
        shot(page, out, "train-mid-run", shots)
        wait_until(page, "['done', 'error'].includes(globalThis.browsertrain?.phase)", RUN_SECONDS)
        state = page.evaluate("globalThis.browsertrain")
        if state["phase"] != "done":
            raise RuntimeError(f"the run failed: {state['error']}")
        page.goto(f"{url}/runs/{state['runId']}")
        wait_until(page, "document.body.dataset.ready === 'true'", 60)
        shot(page, out, "run", shots)
        page.goto(f"{url}/runs/{state['runId']}/export")
        wait_until(page, "document.querySelector('#status')?.textContent === 'Ready.'", EXPORT_READY_SECONDS)
        shot(page, out, "export", shots)
    finally:
        context.close()
    return shots


def capture_tasks(url: str, browser, out: Path) -> list[Path]:
    """The evaluation on the run page of a detection and a landmarks run (finished through the API, not trained)."""
    from tests.support.task_runs import detection_run, landmarks_run  # the test extra: scikit-image's pictures

    with httpx.Client(base_url=url, timeout=60) as client:
        runs = {"evaluation-detection": detection_run(client)[0], "evaluation-landmarks": landmarks_run(client)[0]}
    context, page = new_page(browser)
    shots: list[Path] = []
    try:
        for name, run_id in runs.items():
            page.goto(f"{url}/runs/{run_id}")
            wait_until(page, "document.body.dataset.ready === 'true'", 60)
            wait_until(
                page, "[...document.querySelectorAll('#worst-images .annotated')].every(a => a.dataset.drawn)", 60
            )
            shot(page, out, name, shots, selector="#checks")
    finally:
        context.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the PNGs (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=20, help="epochs of the captured run (default: %(default)s)")
    parser.add_argument(
        "--only", choices=["all", "tasks"], default="all", help="'tasks': only the two evaluation pages"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="browsertrain-shots-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        with running_server(data_dir) as url, chromium() as browser:
            if args.only == "all":
                capture(url, browser, args.out, args.epochs)
            capture_tasks(url, browser, args.out)
    print(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
