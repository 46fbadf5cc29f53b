"""`browsertrain predict`: a run's model on image files, through the run page's "try it" input in headless Chromium.

The run page owns the prediction (the same preprocessing as training, in the browser); this drives it: it gives
`#try-file` the images and reads `globalThis.browsertrainTry` = {done, results: [...], error} until every image is
done or the page reports an error. A result is {name, top: [{label, probability}]} for a classifier, {name, width,
height, boxes: [{label, score, x, y, w, h}]} for detection, {name, width, height, points: [{name, x, y}]} for
landmarks (boxes and points in the image's pixels, x and y from its top-left corner).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from .headless import HeadlessError, add_browser_arguments, open_page, served
from .preflight import ServerUnreachable, UsageError, api_headers, check_images, fetch_run, find_chromium

DEFAULT_PREDICT_TIMEOUT_SECONDS = 300
FILE_INPUT = "#try-file"
PAGE_READY_SECONDS = 60  # the run page shows its try-it input once it has loaded the run
SHOWN_TOP = 3  # labels per image in the readable output (--json has all the page gives)


def add_predict_arguments(parser) -> None:
    parser.add_argument("run_id", metavar="RUN_ID")
    parser.add_argument("images", metavar="IMAGE", nargs="+", help="image files (PNG, JPEG, ...)")
    add_browser_arguments(parser)
    parser.set_defaults(timeout=DEFAULT_PREDICT_TIMEOUT_SECONDS)
    parser.add_argument(
        "--json",
        action="store_true",
        help='print one JSON line: {"run_id", "predictions": [{"image", "top": [{"label", "probability"}]}]}; '
        'detection: "boxes": [{"label", "score", "x", "y", "w", "h"}], landmarks: "points": [{"name", "x", "y"}] '
        "(pixels of the image)",
    )


def cmd_predict(args) -> int:
    try:
        try:
            images = check_images(args.images)
            chromium = find_chromium(args.chromium)
            fetch_run(args.run_id, args.server, args.data_dir)
        except UsageError as exc:
            args.parser.error(str(exc))
        with served(args) as server:
            results = predict_in_page(
                f"{server}/runs/{args.run_id}",
                [str(p) for p in images],
                chromium,
                args.timeout,
                api_headers(args.server),
            )
    except (HeadlessError, ServerUnreachable) as exc:
        print(f"browsertrain: error: {exc}", file=sys.stderr)
        return 1
    # Each answer as the page gave it, named by the path given here instead of the file name the page saw.
    answers = [{k: v for k, v in result.items() if k != "name"} for result in results]
    predictions = [{"image": given, **answer} for given, answer in zip(args.images, answers)]
    if args.json:
        print(json.dumps({"run_id": args.run_id, "predictions": predictions}))
    else:
        for p in predictions:
            print(f"{p['image']}: {readable(p)}")
    return 0


def readable(prediction: dict) -> str:
    """One image's answer on one line: the top labels, the boxes (label, score, x, y, w, h) or the named points."""
    if "boxes" in prediction:
        boxes = [
            f"{b['label']} {b['score']:.0%} x={b['x']:.0f} y={b['y']:.0f} w={b['w']:.0f} h={b['h']:.0f}"
            for b in prediction["boxes"]
        ]
        return "; ".join(boxes) if boxes else "no box over the score threshold"
    if "points" in prediction:
        return ", ".join(f"{p['name']} ({p['x']:.1f}, {p['y']:.1f})" for p in prediction["points"])
    return ", ".join(f"{t['label']} ({t['probability']:.1%})" for t in prediction["top"][:SHOWN_TOP])


def predict_in_page(url: str, images: list[str], chromium: str, timeout: float, headers: dict) -> list[dict]:
    """The page's results for `images`, in their order."""
    from playwright.sync_api import Error as PlaywrightError

    with open_page(chromium, headers) as (page, errors):
        response = page.goto(url)
        if response is not None and response.status >= 400:
            raise HeadlessError(f"the run page answered {response.status}")
        try:
            page.wait_for_selector(FILE_INPUT, state="attached", timeout=min(timeout, PAGE_READY_SECONDS) * 1000)
            page.set_input_files(FILE_INPUT, images)
        except PlaywrightError as exc:
            raise HeadlessError(f"the run page has no image input to try the model on: {exc}") from None
        deadline = time.monotonic() + timeout
        while True:
            state = page.evaluate("globalThis.browsertrainTry ?? null")
            if state and state.get("error"):
                raise HeadlessError(f"the page could not predict: {state['error']}")
            if state and state.get("done", 0) >= len(images) and len(state.get("results", [])) >= len(images):
                return _in_order(images, state["results"])
            if errors and not state:
                raise HeadlessError(f"the page failed: {errors[0]}")
            if time.monotonic() > deadline:
                raise HeadlessError(f"the page did not predict {len(images)} images within {timeout:.0f} s")
            time.sleep(0.2)


def _in_order(images: list[str], results: list[dict]) -> list[dict]:
    """The results in the order of `images`: matched by file name when the names are distinct, else as listed."""
    names = [Path(image).name for image in images]
    by_name = {result.get("name"): result for result in results}
    if len(set(names)) == len(names) and all(name in by_name for name in names):
        return [by_name[name] for name in names]
    return results[: len(images)]
