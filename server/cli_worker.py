"""`browsertrain worker`: N headless Chromium browsers, each on the server's /worker page, training its queued jobs.

Each worker is its own browser (its own profile, so its own IndexedDB copy of the data), as N machines would be. The
command prints one line per job a worker is done with, and closes every browser it started when it ends: on SIGINT
or SIGTERM, or once each worker has done --max-jobs jobs.
"""

from __future__ import annotations

import signal
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

from .headless import launch_browser
from .preflight import ServerUnreachable, UsageError, api_get, api_headers, find_chromium

POLL_SECONDS = 0.5
# What the page mirrors (static/js/ui/worker.js); evaluated in the page, so an arrow function.
STATE_SCRIPT = "() => globalThis.browsertrainWorker ?? null"
ENDED = ("stopped", "error")


@dataclass
class Worker:
    name: str
    browser: object
    page: object
    errors: list = field(default_factory=list)
    seen: int = 0  # results already printed
    registered: bool = False
    ended: str | None = None  # 'stopped', or the error that ended it


def check_queue(server: str) -> None:
    """The server answers and has a queue (UsageError / ServerUnreachable before any browser starts)."""
    status, _ = api_get(server, "/api/queue/workers")
    if status != 200:
        raise UsageError(f"the server at {server} has no job queue to take jobs from ({status})")


def worker_url(server: str, name: str, args) -> str:
    query = {"name": name}
    if args.backend != "auto":
        query["backend"] = args.backend
    if args.max_jobs is not None:
        query["maxJobs"] = str(args.max_jobs)
    return f"{server}/worker?{urlencode(query)}"


def job_line(name: str, result: dict) -> str:
    summary = result.get("summary") or {}
    details = []
    if summary.get("epochs") is not None:
        details.append(f"{summary['epochs']} epochs")
    if summary.get("val_accuracy") is not None:
        details.append(f"val_accuracy {summary['val_accuracy']:.3f}")
    if result.get("error"):
        details.append(result["error"])
    tail = f" ({', '.join(details)})" if details else ""
    return f"{name}: run {result['run_id']} {result['status']}{tail}"


class Stop:
    """SIGINT and SIGTERM ask the command to end; the poll loop sees it and closes the browsers."""

    def __init__(self):
        self.signal: int | None = None
        self.saved = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.saved[sig] = signal.signal(sig, self.handle)
        return self

    def handle(self, signum, _frame):
        self.signal = signum

    def __exit__(self, *exc):
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)


def follow(worker: Worker) -> None:
    """Print what is new on one worker's page; mark it ended when its page says so."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        state = worker.page.evaluate(STATE_SCRIPT)
    except PlaywrightError as exc:
        worker.ended = f"the page failed: {exc}"
        print(f"{worker.name}: {worker.ended}", file=sys.stderr, flush=True)
        return
    if state is None:
        if worker.errors:
            worker.ended = f"the page failed to start: {worker.errors[0]}"
            print(f"{worker.name}: {worker.ended}", file=sys.stderr, flush=True)
        return
    if state["workerId"] and not worker.registered:
        worker.registered = True
        device = state["device"] or {}
        rate = device.get("images_per_second")
        print(
            f"{worker.name}: registered as {state['workerId']} ({device.get('backend')}"
            f"{f', {rate:.0f} images/s' if rate else ''})",
            file=sys.stderr,
            flush=True,
        )
    for result in state["results"][worker.seen :]:
        print(job_line(worker.name, result), flush=True)
    worker.seen = len(state["results"])
    if state["state"] in ENDED:
        worker.ended = state["state"] if state["state"] == "stopped" else state.get("error") or "error"
        if worker.ended != "stopped":
            print(f"{worker.name}: stopped by an error: {worker.ended}", file=sys.stderr, flush=True)


def start_workers(playwright, chromium: str, server: str, args, workers: list[Worker]) -> None:
    """Each worker joins `workers` as soon as its browser runs, so a failure midway still closes what started."""
    headers = api_headers(server)
    for index in range(1, args.count + 1):
        name = f"{args.name}-{index}"
        browser = launch_browser(playwright, chromium)
        page = browser.new_context(extra_http_headers=headers).new_page()
        worker = Worker(name, browser, page)
        page.on("pageerror", lambda exc, errors=worker.errors: errors.append(str(exc)))
        workers.append(worker)  # before goto: a browser that started is closed even if its page fails
        page.goto(worker_url(server, name, args))


def cmd_worker(args) -> int:
    server = args.server.rstrip("/")
    try:
        chromium = find_chromium(args.chromium)
        check_queue(server)
    except (UsageError, ServerUnreachable) as exc:
        args.parser.error(str(exc))
    from playwright.sync_api import sync_playwright

    workers: list[Worker] = []
    with Stop() as stop, sync_playwright() as playwright:
        try:
            start_workers(playwright, chromium, server, args, workers)
            while stop.signal is None and not all(w.ended for w in workers):
                for worker in workers:
                    if not worker.ended:
                        follow(worker)
                time.sleep(POLL_SECONDS)
        finally:
            for worker in workers:
                try:
                    worker.browser.close()
                except Exception:  # already gone (a signal to the whole group): nothing to close
                    pass
    if stop.signal is not None:
        print(f"browsertrain worker: stopped by signal {stop.signal}; the browsers are closed", file=sys.stderr)
        return 0
    return 0 if all(w.ended == "stopped" for w in workers) else 1
