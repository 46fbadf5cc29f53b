"""What every benchmark shares: a real server in a subprocess, headless Chromium, the machine's description, tables."""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx

from server.headless import CHROMIUM_FLAGS, find_chromium

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
RESULTS_DIR = BENCH_DIR / "results"
JS_DIR = BENCH_DIR / "js"
SERVER_START_SECONDS = 30
PAGE_TIMEOUT_MS = 15 * 60 * 1000  # one page.evaluate may run a whole benchmark
# The train page initialises tfjs's default backend as it loads (`await tf.ready()`); a benchmark that picks its own
# backend before then would be overridden by it. The page says 'ready' once that is done. An arrow function, not a bare
# expression: Playwright evaluates a bare expression string with eval, which the pages' CSP (no 'unsafe-eval') refuses.
TRAIN_PAGE_READY = "() => globalThis.browsertrain?.phase === 'ready'"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(data_dir: Path, root: Path = ROOT):
    """`browsertrain serve` as a separate process on a free loopback port (as a user runs it), from the checkout at
    `root` (its server, pages and modules: another revision's, for a before/after); yields its URL."""
    port = free_port()
    log_path = data_dir.parent / f"server-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server.cli",
                "serve",
                "--data-dir",
                str(data_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=root,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited early: {log_path.read_text()}")
            try:
                if httpx.get(f"{url}/api/datasets", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start in time")
            time.sleep(0.1)
        yield url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


@contextmanager
def chromium(flags: tuple[str, ...] | None = None):
    """Headless Chromium with `flags`, by default those the app's own headless trainer uses (WebGL and WebGPU on
    SwiftShader); yields the Playwright browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=find_chromium(), headless=True, args=list(CHROMIUM_FLAGS if flags is None else flags)
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def app_and_browser(data: dict, prefix: str, flags: tuple[str, ...] | None = None):
    """An empty data folder served by the app on loopback, and Chromium (launched with `flags`, see chromium()):
    yields (url, browser). Records the machine (with the browser's version) in data["machine"]."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        with running_server(data_dir) as url, chromium(flags) as browser:
            data["machine"] = machine(browser.version)
            yield url, browser


@contextmanager
def fresh_page(browser, url: str, hardware_concurrency: int | None = None, ready: str | None = None):
    """A page in a new browser context (empty IndexedDB, a fresh tfjs), opened at `url`, after `ready` (a JS arrow
    function) returns true; page errors are printed."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        if hardware_concurrency is not None:
            # What navigator.hardwareConcurrency reports; the tfjs wasm backend sizes its thread pool from it.
            context.new_cdp_session(page).send(
                "Emulation.setHardwareConcurrencyOverride", {"hardwareConcurrency": hardware_concurrency}
            )
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(url)
        page.wait_for_load_state("load")
        if ready:
            page.wait_for_function(ready)
        yield page
        if errors:
            print(f"  (page errors: {errors[:3]})", file=sys.stderr)
    finally:
        context.close()


def _cpu_times() -> tuple[int, int]:
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]  # total, idle + iowait


def busy_cores(seconds: float = 0.3) -> float | None:
    """How many cores the whole machine kept busy over `seconds` (None where /proc/stat is missing)."""
    try:
        total0, idle0 = _cpu_times()
        time.sleep(seconds)
        total1, idle1 = _cpu_times()
    except OSError:
        return None
    cores = os.cpu_count() or 1
    return cores * (1 - (idle1 - idle0) / max(1, total1 - total0))


def wait_for_quiet(max_busy: float = 0.25, max_wait: float = 15.0) -> dict:
    """Waits (at most max_wait s) until other work keeps under max_busy cores busy, so that a measurement round does
    not start in the middle of someone else's burst; returns what it saw. Between rounds the benchmark itself idles."""
    started = time.monotonic()
    busy = busy_cores()
    while busy is not None and busy > max_busy and time.monotonic() - started < max_wait:
        time.sleep(0.5)
        busy = busy_cores()
    return {"busy_cores": busy, "waited_s": time.monotonic() - started}


def page_function(name: str) -> str:
    """The source of bench/js/<name>.js: one async arrow function that page.evaluate calls with an options object."""
    return (JS_DIR / f"{name}.js").read_text()


def median(values) -> float:
    return statistics.median(values)


def spread(values) -> str:
    """min–max of the measurements, for the tables' noise column."""
    return f"{min(values):.4g}–{max(values):.4g}"


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "–"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def ratio(value: float | None, baseline: float | None) -> str:
    if value is None or not baseline:
        return "–"
    r = value / baseline
    return f"{r:.3f}×" if r < 0.1 else f"{r:.2f}×" if r < 10 else f"{r:.0f}×"


def markdown_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return None


def machine(browser_version: str | None = None) -> dict:
    """What the numbers were measured on."""
    info = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": round(_memory_gib() or 0, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
    }
    if browser_version:
        info["chromium"] = browser_version
    tfjs = ROOT / "node_modules" / "@tensorflow" / "tfjs" / "package.json"
    if tfjs.exists():
        info["tfjs"] = json.loads(tfjs.read_text())["version"]
    return info


def load_line(data: dict) -> str:
    """How busy the machine was around a benchmark (its numbers mean less on a loaded machine)."""
    before, after = ("/".join(f"{x:.2f}" for x in data[key]) for key in ("load_before", "load_after"))
    return f"Load average (1/5/15 min) before {before}, after {after}."


def machine_line(info: dict) -> str:
    parts = [f"{info['cpu']}, {info['usable_cores']} cores, {info['memory_gib']} GiB", info["os"]]
    if "chromium" in info:
        parts.append(f"Chromium {info['chromium']} headless")
    if "tfjs" in info:
        parts.append(f"tfjs {info['tfjs']}")
    return f"Measured {info['date']} on: " + "; ".join(parts) + "."


def write_result(name: str, title: str, body: str, data: dict) -> Path:
    """bench/results/<name>.md (the table a person reads) and <name>.json (every measurement, for plots and diffs)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.md"
    path.write_text(f"# {title}\n\n{body.strip()}\n")
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return path
