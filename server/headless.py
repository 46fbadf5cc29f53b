"""`browsertrain train`: drive the train page in headless Chromium (the same page a person uses) and report."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sys
import threading
import time
from contextlib import contextmanager
from urllib.parse import urlencode

# Flags measured to work with Debian's Chromium on machines without a display or GPU (WebGL via SwiftShader).
CHROMIUM_FLAGS = (
    "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-dev-shm-usage", "--use-gl=angle", "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader", "--enable-webgl", "--ignore-gpu-blocklist", "--enable-unsafe-webgpu",
    "--enable-features=Vulkan",
)
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
POLL_SECONDS = 0.5
DEFAULT_TIMEOUT_SECONDS = 3600
SERVER_START_SECONDS = 30
# The run config keys the train page reads from its query string (see static/js/ui/train.js).
PAGE_OPTIONS = {"epochs": "epochs", "batch_size": "batchSize", "lr": "lr", "input_size": "inputSize",
                "backend": "backend", "seed": "seed", "split_seed": "splitSeed", "snapshot_every": "snapshotEvery",
                "backbone": "backbone", "fine_tune_blocks": "fineTuneBlocks"}
# The debugging tools the page runs instead of a plain run: overfit=N (a sanity run), findBatchSize=1, lrRangeTest=1.
TOOL_OPTIONS = {"overfit": "overfit", "find_batch_size": "findBatchSize", "lr_range_test": "lrRangeTest"}
MAX_OVERFIT_IMAGES = 64  # the page's cap too (static/js/train/overfit.js)


class HeadlessError(RuntimeError):
    pass


def add_train_arguments(parser) -> None:
    parser.add_argument("--dataset", help="the dataset to train on")
    parser.add_argument("--resume", metavar="RUN_ID", help="continue a run from its latest snapshot")
    parser.add_argument("--epochs", type=int, help="default: chosen from the dataset's size (about 600 steps, 30-100)")
    parser.add_argument("--batch-size", type=int, help="default: chosen from the dataset's size (8-32, 8+ steps an epoch)")
    parser.add_argument("--lr", type=float, help="learning rate (default 0.001)")
    parser.add_argument("--input-size", type=int, help="image side in pixels (default: the images' median side, 16-64)")
    parser.add_argument("--backend", choices=["auto", "webgl", "webgpu", "wasm", "cpu"])
    parser.add_argument("--seed", type=int, help="weights, shuffle and augmentation (default 1)")
    parser.add_argument("--split-seed", type=int,
                        help="which images validate (default 0: the same split for every run of a dataset)")
    parser.add_argument("--snapshot-every", type=int, metavar="N", help="snapshot every N epochs (and at the end)")
    parser.add_argument("--backbone", metavar="NAME",
                        help="start from a pretrained backbone: mobilenet_v2 or face_features (default: from scratch)")
    parser.add_argument("--fine-tune-blocks", type=int, metavar="N",
                        help="with --backbone: also train its last N blocks (default 0: only the head trains)")
    tools = parser.add_argument_group("debugging tools (instead of a plain run)")
    tools.add_argument("--overfit", type=_overfit_images, metavar="N",
                       help="sanity run: train on N images until the loss is near zero, then predict them "
                            "(exit status 1 when the model could not overfit them)")
    tools.add_argument("--lr-range-test", action="store_true",
                       help="sweep the learning rate over a short run and suggest one (no run is recorded)")
    tools.add_argument("--find-batch-size", action="store_true",
                       help="time training steps per batch size on this browser's backend and propose the fastest "
                            "that fits (with --lr-range-test, the sweep then runs at that batch size)")
    parser.add_argument("--server", metavar="URL", help="use a running server instead of starting one")
    parser.add_argument("--chromium", metavar="PATH", help="the browser (default: $BROWSERTRAIN_CHROMIUM or chromium on PATH)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, help="give up after this many seconds")
    parser.add_argument("--json", action="store_true", help="print one final JSON line with the run's summary")


def _overfit_images(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_OVERFIT_IMAGES:
        raise argparse.ArgumentTypeError(f"--overfit takes 1 to {MAX_OVERFIT_IMAGES} images")
    return value


def find_chromium(explicit: str | None = None) -> str:
    candidates = [explicit, os.environ.get("BROWSERTRAIN_CHROMIUM")] + [shutil.which(n) for n in CHROMIUM_NAMES]
    for path in candidates:
        if path and os.path.exists(path):
            return path
    raise HeadlessError("no Chromium found: install it (Debian: apt-get install chromium), "
                        "or point --chromium / BROWSERTRAIN_CHROMIUM at Chrome or Chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def own_server(data_dir):
    """A server on a free loopback port for the length of the command, in a thread of this process."""
    import uvicorn

    from .app import create_app
    from .config import from_env

    port = _free_port()
    settings = from_env(data_dir=data_dir, host="127.0.0.1", port=port)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise HeadlessError("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def page_url(server: str, args) -> str:
    if args.resume:
        return f"{server.rstrip('/')}/train?{urlencode({'resume': args.resume})}"
    query = {"dataset": args.dataset, "autostart": "1"}
    for option, name in PAGE_OPTIONS.items():
        value = getattr(args, option, None)
        if value is not None:
            query[name] = str(value)
    for option, name in TOOL_OPTIONS.items():
        value = getattr(args, option, None)
        if value not in (None, False):
            query[name] = "1" if value is True else str(value)
    return f"{server.rstrip('/')}/train?{urlencode(query)}"


def _progress_line(state: dict, total_epochs: int | None) -> str:
    epochs = state.get("epochs") or []
    if not epochs:
        return f"\r{state.get('status', '')[:70]:<70}"
    last = epochs[-1]
    done = last["epoch"] + 1
    total = (state.get("config") or {}).get("epochs") or total_epochs or done
    width = 24
    filled = int(width * min(done / total, 1))
    val = last.get("val_accuracy")
    return (f"\repoch {done}/{total} [{'#' * filled}{'-' * (width - filled)}] loss {last['train_loss']:.4f}"
            f" val_acc {val if val is None else f'{val:.3f}'} {last['images_per_second']:.0f} img/s")


def drive_page(url: str, chromium: str, timeout: float, total_epochs: int | None, show_progress: bool,
               headers: dict | None = None) -> dict:
    """Open the train page, follow `window.browsertrain` until it is done or failed, return its final state."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=list(CHROMIUM_FLAGS))
        try:
            context = browser.new_context(extra_http_headers=headers or {})
            page = context.new_page()
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url)
            stopping = False
            deadline = time.monotonic() + timeout
            while True:
                try:
                    state = page.evaluate("globalThis.browsertrain ?? null")
                except PlaywrightError as exc:
                    raise HeadlessError(f"the page failed: {exc}") from None
                if state and show_progress:
                    print(_progress_line(state, total_epochs), end="", file=sys.stderr, flush=True)
                if state and state["phase"] in ("done", "error"):
                    if show_progress:
                        print(file=sys.stderr)
                    return state
                if state and state.get("leak") and state["phase"] == "paused" and not stopping:
                    # Nobody is there to look and resume: end the run; its summary carries the leak.
                    stopping = True
                    page.evaluate("browsertrainControls.stop()")
                if errors and not state:
                    raise HeadlessError(f"the page failed to start: {errors[0]}")
                if time.monotonic() > deadline:
                    raise HeadlessError(f"training did not finish within {timeout:.0f} s")
                time.sleep(POLL_SECONDS)
        finally:
            browser.close()


def train(args) -> int:
    if not args.dataset and not args.resume:
        print("browsertrain: error: give --dataset NAME (or --resume RUN_ID)", file=sys.stderr)
        return 2
    try:
        chromium = find_chromium(args.chromium)
        token = os.environ.get("BROWSERTRAIN_TOKEN")
        headers = {"X-Browsertrain-Token": token} if token and args.server else None
        show = sys.stderr.isatty() or not args.json
        if args.server:
            state = drive_page(page_url(args.server, args), chromium, args.timeout, args.epochs, show, headers)
        else:
            with own_server(args.data_dir) as server:
                state = drive_page(page_url(server, args), chromium, args.timeout, args.epochs, show)
    except HeadlessError as exc:
        print(f"browsertrain: error: {exc}", file=sys.stderr)
        return 1
    if state["phase"] == "error":
        print(f"browsertrain: training failed: {state['error']}", file=sys.stderr)
        return 1
    summary = {**state["summary"], "backend_reason": (state.get("backend") or {}).get("reason"),
               "dataset_source": (state.get("sync") or {}).get("source"), "page_warnings": state.get("warnings", []),
               "warnings": state["summary"].get("warnings", [])}
    if args.json:
        print(json.dumps(summary))
    else:
        print(_describe(summary))
    for warning in summary["warnings"]:
        print(f"browsertrain: warning: this run may not have learned: {warning['message']}. "
              f"Next: {warning['next_step']}.", file=sys.stderr)
    if summary.get("leak"):
        print(f"browsertrain: the leak watchdog stopped the run: {summary['leak']['message']}", file=sys.stderr)
        return 1
    if summary["reason"] == "not_converged":
        print(f"browsertrain: {summary['overfit']['message']}", file=sys.stderr)
        return 1
    return 0 if summary["reason"] in ("done", "stopped", "converged") else 1


def _describe(summary: dict) -> str:
    """The summary as text: a run's numbers, an overfit verdict, or the tools' findings."""
    if "overfit" in summary:
        return f"run {summary['run_id']} (sanity): {summary['overfit']['message']}"
    if "run_id" not in summary:
        lines = []
        finder = summary.get("find_batch_size")
        if finder:
            lines.append(f"batch size {finder['batch_size']}: {finder['reason']}")
            lines += [f"  batch {row['batch_size']:>4}: " + (f"{row['images_per_second']:8.1f} images/s"
                      if row["fits"] else f"does not fit ({row['error']})") for row in finder["table"]]
        if "lr_range_test" in summary:
            lines.append(f"suggested learning rate {summary['suggested_lr']}: {summary['lr_range_test']['reason']}")
        return "\n".join(lines)
    return (f"run {summary['run_id']}: {summary['epochs']} epochs on {summary['backend']}, final loss "
            f"{summary['final_loss']:.4f}, val accuracy {summary['val_accuracy']}, "
            f"{summary['images_per_second']:.0f} images/s")
