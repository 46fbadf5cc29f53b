"""Regenerates the README's screenshots: starts its own server on a fresh data folder and headless Chromium, trains
the sample on the train page, and captures the train page mid-run, the run page and the export page.

    python -m tools.screenshots [--out docs/screenshots] [--epochs 20]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

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


def capture(url: str, browser, out: Path, epochs: int) -> list[Path]:
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    page = context.new_page()
    page.on("pageerror", lambda err: print(f"page error: {err}"))
    shots = []

    def shot(name: str) -> None:
        path = out / f"{name}.png"
        page.screenshot(path=path, full_page=True, animations="disabled")
        shots.append(path)
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")

    try:
        page.goto(f"{url}/train?dataset=shapes&autostart=1&epochs={epochs}&backend=wasm&inputSize=32&snapshotEvery=5")
        wait_until(page, f"(globalThis.browsertrain?.epochs.length ?? 0) >= {MID_RUN_EPOCHS}", RUN_SECONDS)
        shot("train-mid-run")
        wait_until(page, "['done', 'error'].includes(globalThis.browsertrain?.phase)", RUN_SECONDS)
        state = page.evaluate("globalThis.browsertrain")
        if state["phase"] != "done":
            raise RuntimeError(f"the run failed: {state['error']}")
        page.goto(f"{url}/runs/{state['runId']}")
        wait_until(page, "document.body.dataset.ready === 'true'", 60)
        shot("run")
        page.goto(f"{url}/runs/{state['runId']}/export")
        wait_until(page, "document.querySelector('#status')?.textContent === 'Ready.'", EXPORT_READY_SECONDS)
        shot("export")
    finally:
        context.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the PNGs (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=20, help="epochs of the captured run (default: %(default)s)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="browsertrain-shots-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        with running_server(data_dir) as url, chromium() as browser:
            capture(url, browser, args.out, args.epochs)
    print(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
