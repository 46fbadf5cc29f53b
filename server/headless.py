"""`browsertrain train`: drive the train page in headless Chromium (the same page a person uses) and report."""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time
from contextlib import contextmanager
from urllib.parse import urlencode

from .cli_options import OptionConflict, add_page_options, given_flags, page_query
from .preflight import (
    ServerUnreachable,
    UsageError,
    api_headers,
    check_dataset,
    fetch_run,
    find_chromium,
)
from .shared_rules import MAX_OVERFIT_IMAGES
from .train_report import describe, progress_line

# Flags measured to work with Debian's Chromium on machines without a display or GPU (WebGL via SwiftShader): the
# browser's own (no sandbox, no background traffic), which the GPU benchmark (bench/gpu.py) shares, then SwiftShader's.
BROWSER_FLAGS = (
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
)
CHROMIUM_FLAGS = BROWSER_FLAGS + (
    "--use-gl=angle",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--enable-webgl",
    "--ignore-gpu-blocklist",
    "--enable-unsafe-webgpu",
    "--enable-features=Vulkan",
)
POLL_SECONDS = 0.5
DEFAULT_TIMEOUT_SECONDS = 3600
SERVER_START_SECONDS = 30
# The debugging tools the page runs instead of a plain run: overfit=N (a sanity run), findBatchSize=1, lrRangeTest=1.
TOOL_OPTIONS = {"overfit": "overfit", "find_batch_size": "findBatchSize", "lr_range_test": "lrRangeTest"}


class HeadlessError(RuntimeError):
    pass


def add_browser_arguments(parser) -> None:
    """The flags of every command that drives a page: where the server and the browser are."""
    parser.add_argument(
        "--server",
        metavar="URL",
        help="use a running server instead of starting one (a token from $BROWSERTRAIN_TOKEN is sent along)",
    )
    parser.add_argument(
        "--chromium", metavar="PATH", help="the browser (default: $BROWSERTRAIN_CHROMIUM or chromium on PATH)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help=f"give up after this many seconds (default {DEFAULT_TIMEOUT_SECONDS})",
    )


def add_train_arguments(parser) -> None:
    start = parser.add_mutually_exclusive_group(required=True)
    start.add_argument("--dataset", help="train a new run on this dataset")
    start.add_argument("--resume", metavar="RUN_ID", help="continue an unfinished run from its latest snapshot")
    start.add_argument(
        "--from",
        dest="from_run",
        metavar="RUN_ID",
        help="train more: a new run that starts from this run's last snapshot and optimizer state "
        "and trains --epochs more epochs",
    )
    add_page_options(parser)
    tools = parser.add_argument_group("debugging tools (instead of a plain run)")
    tools.add_argument(
        "--overfit",
        type=_overfit_images,
        metavar="N",
        help="sanity run: train on N images until the loss is near zero, then predict them "
        "(exit status 1 when the model could not overfit them)",
    )
    tools.add_argument(
        "--lr-range-test",
        action="store_true",
        help="sweep the learning rate over a short run and suggest one (no run is recorded)",
    )
    tools.add_argument(
        "--find-batch-size",
        action="store_true",
        help="time training steps per batch size on this browser's backend and propose the fastest "
        "that fits (with --lr-range-test, the sweep then runs at that batch size)",
    )
    add_browser_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one final JSON line with the run's summary")


def _overfit_images(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 1 <= value <= MAX_OVERFIT_IMAGES:
        raise argparse.ArgumentTypeError(f"--overfit takes 1 to {MAX_OVERFIT_IMAGES} images")
    return value


def free_port() -> int:
    """A loopback port that is free now (the OS picks it); the tests start their servers on these too."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def own_server(data_dir):
    """A server on a free loopback port for the length of the command, in a thread of this process."""
    import uvicorn

    from .app import create_app
    from .config import from_env

    port = free_port()
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


@contextmanager
def served(args):
    """The server's base URL: --server's, or our own for the length of the command."""
    if args.server:
        yield args.server.rstrip("/")
    else:
        with own_server(args.data_dir) as url:
            yield url


def launch_browser(playwright, chromium: str):
    """Headless Chromium with the flags above, from a running `sync_playwright()`."""
    return playwright.chromium.launch(executable_path=chromium, headless=True, args=list(CHROMIUM_FLAGS))


@contextmanager
def open_page(chromium: str, headers: dict | None = None):
    """A fresh page in headless Chromium; yields (page, errors), where errors collects the page's uncaught errors."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_browser(p, chromium)
        try:
            context = browser.new_context(extra_http_headers=headers or {})
            page = context.new_page()
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield page, errors
        finally:
            browser.close()


def page_url(server: str, args) -> str:
    if args.resume:
        return f"{server}/train?{urlencode({'resume': args.resume})}"
    if args.from_run:
        return f"{server}/train?{urlencode({'from': args.from_run, 'epochs': args.epochs, 'autostart': '1'})}"
    query = {"dataset": args.dataset, "autostart": "1", **page_query(args)}
    for option, name in TOOL_OPTIONS.items():
        value = getattr(args, option, None)
        if value not in (None, False):
            query[name] = "1" if value is True else str(value)
    return f"{server}/train?{urlencode(query)}"


def check_train_args(args) -> str:
    """Everything that can be known before a server or a browser starts; returns the browser. UsageError if not."""
    chromium = find_chromium(args.chromium)
    tools = [
        flag
        for flag, on in (
            ("--overfit", args.overfit),
            ("--lr-range-test", args.lr_range_test),
            ("--find-batch-size", args.find_batch_size),
        )
        if on
    ]
    if args.dataset:
        try:
            page_query(args)
        except OptionConflict as exc:
            raise UsageError(str(exc)) from None
        check_dataset(args.dataset, args.server, args.data_dir, getattr(args, "task", None))
        return chromium
    start = "--resume" if args.resume else "--from"
    allowed = ["--epochs"] if args.from_run else []
    extra = [flag for flag in given_flags(args) if flag not in allowed] + tools
    if extra:
        raise UsageError(f"{start} trains with the run's own settings: drop {', '.join(extra)}")
    if args.from_run and args.epochs is None:
        raise UsageError("--from needs --epochs N: how many more epochs to train")
    run = fetch_run(args.resume or args.from_run, args.server, args.data_dir)
    if args.from_run and not run.get("snapshots"):
        raise UsageError(f"run {args.from_run} has no snapshot to start from")
    return chromium


def drive_page(
    url: str, chromium: str, timeout: float, total_epochs: int | None, show_progress: bool, headers: dict | None = None
) -> dict:
    """Open the train page, follow `window.browsertrain` until it is done or failed, return its final state."""
    from playwright.sync_api import Error as PlaywrightError

    with open_page(chromium, headers) as (page, errors):
        page.goto(url)
        stopping = False
        deadline = time.monotonic() + timeout
        while True:
            try:
                state = page.evaluate("globalThis.browsertrain ?? null")
            except PlaywrightError as exc:
                raise HeadlessError(f"the page failed: {exc}") from None
            if state and show_progress:
                print(progress_line(state, total_epochs), end="", file=sys.stderr, flush=True)
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


def train(args) -> int:
    total = None if args.from_run else args.epochs
    try:
        try:
            chromium = check_train_args(args)
        except UsageError as exc:
            args.parser.error(str(exc))
        with served(args) as server:
            state = drive_page(
                page_url(server, args),
                chromium,
                args.timeout,
                total,
                sys.stderr.isatty() or not args.json,
                api_headers(args.server),
            )
    except (HeadlessError, ServerUnreachable) as exc:
        print(f"browsertrain: error: {exc}", file=sys.stderr)
        return 1
    if state["phase"] == "error":
        print(f"browsertrain: training failed: {state['error']}", file=sys.stderr)
        return 1
    summary = {
        **state["summary"],
        "backend_reason": (state.get("backend") or {}).get("reason"),
        "dataset_source": (state.get("sync") or {}).get("source"),
        "page_warnings": state.get("warnings", []),
        "warnings": state["summary"].get("warnings", []),
    }
    print(json.dumps(summary) if args.json else describe(summary))
    for warning in summary["warnings"]:
        print(
            f"browsertrain: warning: this run may not have learned: {warning['message']}. "
            f"Next: {warning['next_step']}.",
            file=sys.stderr,
        )
    if summary.get("leak"):
        print(f"browsertrain: the leak watchdog stopped the run: {summary['leak']['message']}", file=sys.stderr)
        return 1
    if summary["reason"] == "not_converged":
        print(f"browsertrain: {summary['overfit']['message']}", file=sys.stderr)
        return 1
    return 0 if summary["reason"] in ("done", "stopped", "converged") else 1
