"""Peak browser memory of one training epoch on 5k-100k images: the whole Chromium process tree, sampled from /proc."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from server.cli import build_parser
from server.headless import CHROMIUM_FLAGS, page_url

from . import common
from .dataset import cached_image_folder, import_folder
from .memory_report import report
from .proc_memory import SAMPLE_SECONDS, TreeSampler

CASES = "5000@64,40000@64,100000@64,20000@128"  # items@input size
CASE_TIMEOUT_SECONDS = 15 * 60
# Above this the renderers are killed, so the machine (shared with other work) survives a runaway case.
RSS_CAP_BYTES = 12 * 1024**3
MIN_AVAILABLE_BYTES = 2 * 1024**3  # ... and likewise when the machine itself runs this low
POLL_SECONDS = 0.25  # the page's phase and heap; RSS is sampled every SAMPLE_SECONDS in a thread of its own
REST_SECONDS = 1.0  # readings of the idle browser before the page loads
BATCH_SIZE = 32
BACKEND = "wasm"
# performance.memory is rounded and updated only now and then without this flag; it changes nothing else.
MEMORY_FLAGS = CHROMIUM_FLAGS + ("--enable-precise-memory-info",)
PHASES = ("sync", "backend", "preprocess", "train", "evaluate", "done")  # the train page's, in order
PROBE = "memory_probe"


def parse_cases(text: str) -> list[tuple[int, int]]:
    """'5000@64,20000@128' → [(5000, 64), (20000, 128)]; a bare count means input size 64."""
    cases = []
    for part in text.split(","):
        items, _, size = part.strip().partition("@")
        try:
            case = (int(items), int(size or 64))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{part!r} is not ITEMS@SIZE, e.g. 40000@64") from None
        if case[0] < 10 or not 8 <= case[1] <= 512:
            raise argparse.ArgumentTypeError(f"{part!r}: at least 10 items, input size 8-512")
        cases.append(case)
    return cases


def case_key(items: int, size: int) -> str:
    return f"{items}@{size}"


def train_url(server: str, dataset: str, size: int) -> str:
    """The /train URL `browsertrain train` opens for 1 epoch of the default model at this size (wasm, batch 32)."""
    flags = ["--epochs", "1", "--batch-size", str(BATCH_SIZE), "--input-size", str(size), "--backend", BACKEND]
    return page_url(server, build_parser().parse_args(["train", "--dataset", dataset, *flags]))


def phase_times(first_seen: dict[str, float], end: float) -> dict[str, dict]:
    """{phase: {start, seconds}} from when each phase was first seen; a phase ends when a later one is first seen
    (or at `end`)."""
    seen = [phase for phase in PHASES if phase in first_seen]
    out = {}
    for index, phase in enumerate(seen):
        later = [first_seen[p] for p in seen[index + 1 :]]
        stop = later[0] if later else end
        out[phase] = {"start": round(first_seen[phase], 2), "seconds": round(stop - first_seen[phase], 2)}
    return out


def drive(browser, url: str, timeout: float) -> dict:
    """Loads the train page in a fresh context, follows it to the end of its run while the process tree is sampled,
    and returns what happened: status, phases, peaks."""
    from playwright.sync_api import Error as PlaywrightError

    probe = common.page_function(PROBE)
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(timeout * 1000)
    crashed: list[bool] = []
    page.on("crash", lambda _page: crashed.append(True))
    first_seen: dict[str, float] = {}
    heap = {"js_heap_used": 0, "js_heap_total": 0, "tf_bytes": 0, "wasm_heap": 0}
    last: dict = {}
    status, error = "ok", None
    epoch_seen = float("inf")  # when the first epoch record was seen: the epoch ends there or at 'evaluate'
    with TreeSampler(
        os.getpid(), cap_bytes=RSS_CAP_BYTES, min_available=MIN_AVAILABLE_BYTES, deadline_s=timeout + REST_SECONDS
    ) as sampler:
        time.sleep(REST_SECONDS)
        load_at = sampler.now()
        try:
            page.goto(url)
            while True:
                last = page.evaluate(probe)
                now = sampler.now()
                if last["phase"] in PHASES:
                    first_seen.setdefault(last["phase"], now)
                if last["epochs"]:
                    epoch_seen = min(epoch_seen, now)
                for key, field in (("js_heap_used", "jsHeapUsed"), ("js_heap_total", "jsHeapTotal"),
                                   ("tf_bytes", "tfBytes"), ("wasm_heap", "wasmHeap")):  # fmt: skip
                    heap[key] = max(heap[key], last[field] or 0)
                if last["phase"] in ("done", "error") or sampler.abort:
                    break
                time.sleep(POLL_SECONDS)
        except PlaywrightError as exc:
            error = str(exc).splitlines()[0]
            status = "crashed" if crashed else "page_failed"
        end = sampler.now()
        if sampler.abort:
            status, error = sampler.abort.reason, sampler.abort.message
        elif last.get("phase") == "error":
            status, error = "error", last["error"]
    try:
        context.close()
    except PlaywrightError:
        pass  # a crashed page's context may already be gone
    rest = sampler.peak(until=load_at)
    phases = phase_times(first_seen, end)
    epoch_end = min(phases.get("evaluate", {}).get("start", end), epoch_seen)
    epochs = last.get("epochs") or []
    return {
        "status": status,
        "error": error,
        "last_phase": last.get("phase"),
        "backend": last.get("backend"),
        "sync_source": (last.get("sync") or {}).get("source"),
        "rss_at_rest": rest["total"],
        "peak": sampler.peak(since=load_at, until=epoch_end),
        "peak_with_evaluation": sampler.peak(since=load_at),
        "epoch_end": round(min(epoch_end, end), 2),
        "peak_by_phase": {
            name: sampler.peak(since=p["start"], until=p["start"] + p["seconds"])["total"] for name, p in phases.items()
        },
        "page": heap,
        "phases": phases,
        "epoch": epochs[0] if epochs else None,
        "seconds": round(end - load_at, 1),
        "timeline": [
            [round(s.t - load_at, 1), s.total] for s in sampler.samples[:: max(1, len(sampler.samples) // 300)]
        ],
    }


def measure_case(items: int, size: int, args) -> dict:
    folder, images = cached_image_folder(items, size)
    quiet = common.wait_for_quiet(max_wait=args.quiet_wait)
    result = {"items": items, "input_size": size, "images": images, "busy_cores_before": quiet["busy_cores"]}
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        name = f"mem{items}px{size}"
        started = time.monotonic()
        import_folder(folder, data_dir, name)
        result["import_seconds"] = round(time.monotonic() - started, 1)
        with common.running_server(data_dir) as url, common.chromium(MEMORY_FLAGS) as browser:
            result["chromium"] = browser.version
            result.update(drive(browser, train_url(url, name, size), args.case_timeout))
    result["busy_cores_after"] = common.busy_cores()
    return result


def measure(args) -> dict:
    data = {"load_before": os.getloadavg(), "cases": {}, "batch_size": BATCH_SIZE, "backend": BACKEND}
    data["machine"] = common.machine()
    for items, size in args.cases:
        key = case_key(items, size)
        print(f"case {key}: ...", file=sys.stderr, flush=True)
        result = measure_case(items, size, args)
        data["cases"][key] = result
        peak = result["peak"]["total"]
        print(
            f"case {key}: {result['status']} after {result['seconds']} s, peak RSS "
            f"{(peak or 0) / 1e6:,.0f} MB, epoch {result['epoch']}",
            file=sys.stderr,
            flush=True,
        )
    data["machine"]["chromium"] = next((c["chromium"] for c in data["cases"].values()), None)
    data["load_after"] = os.getloadavg()
    return data


def load_runs(path: Path) -> dict:
    """The runs already in results/memory.json, by label (a missing or older file: none)."""
    try:
        return json.loads(path.read_text()).get("runs", {})
    except (OSError, ValueError):
        return {}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cases", type=parse_cases, default=parse_cases(CASES), help=f"ITEMS@INPUT_SIZE,... (default {CASES})"
    )
    parser.add_argument(
        "--label",
        default="latest",
        help="the name this run is kept under in results/memory.json, beside the others (default latest); "
        "a label run again is replaced, case by case",
    )
    parser.add_argument("--report-only", action="store_true", help="only rewrite results/memory.md from the json")
    parser.add_argument(
        "--case-timeout",
        type=float,
        default=CASE_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help=f"end a case (and record it as timed out) after this long (default {CASE_TIMEOUT_SECONDS})",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=15.0,
        help="before each case, wait up to this long for other work on the machine to pause",
    )
    args = parser.parse_args(argv)
    path = common.RESULTS_DIR / "memory.json"
    runs = load_runs(path)
    if not args.report_only:
        data = measure(args)
        # A run of some cases keeps the label's other cases from before, so cases can be re-measured one at a time.
        previous = runs.get(args.label, {}).get("cases", {})
        data["cases"] = {**previous, **data["cases"]}
        runs[args.label] = data
    out = common.write_result(
        "memory",
        "Peak browser memory of one training epoch",
        report(runs),
        {"runs": runs, "sample_seconds": SAMPLE_SECONDS},
    )
    print(out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
