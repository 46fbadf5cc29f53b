"""Data parallelism over Web Workers (a prototype, bench-only): would two one-thread wasm replicas, each training on
half the batch and averaging gradients, beat the app's one page with a thread pool?

Every configuration is alive at once in its own page of the app and they are interleaved round by round, medians of
the rounds: the app's own step (bench/js/throughput.js: the Trainer, wasm configured for the batch size, so a thread
per core from batch 16), one worker training the whole batch, and N workers each training batch / N
(bench/js/data_parallel.js and data_parallel_worker.js), their gradients averaged in the page every step.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

from . import common

APP = "app page (Trainer, wasm as configured for the batch)"


def worker_label(workers: int, batch: int) -> str:
    return f"{workers} worker{'s' if workers > 1 else ''} × {batch // workers} (1 wasm thread each)"


def measure(args) -> dict:
    data = {"batch": args.batch, "windows": args.windows, "load_before": os.getloadavg(), "setup": {}, "rates": {}}
    worker_source = common.page_function("data_parallel_worker")
    parallel, throughput = common.page_function("data_parallel"), common.page_function("throughput")
    with common.app_and_browser(data, prefix="bench-data-parallel-") as (url, browser):
        windows = {}
        contexts = []
        try:
            context = common.fresh_page(browser, f"{url}/train", ready=common.TRAIN_PAGE_READY)
            page = context.__enter__()
            contexts.append(context)
            data["setup"][APP] = page.evaluate(
                throughput,
                {"op": "setup", "backend": "wasm", "batchSizes": [args.batch], "runBatchSize": args.batch},
            )
            windows[APP] = (page, throughput, {"op": "window", "batchSize": args.batch})
            for count in args.workers:
                label = worker_label(count, args.batch)
                context = common.fresh_page(browser, f"{url}/train", ready=common.TRAIN_PAGE_READY)
                page = context.__enter__()
                contexts.append(context)
                request = {"workerSource": worker_source, "workers": count, "batch": args.batch}
                data["setup"][label] = page.evaluate(parallel, {"op": "setup", **request})
                probe = page.evaluate(parallel, {"op": "window", "steps": 3, **request})
                steps = max(1, math.ceil(args.window_seconds / (probe["seconds"] / 3)))
                windows[label] = (page, parallel, {"op": "window", "steps": steps, **request})
                print(f"{label}: set up, {steps} steps per window", file=sys.stderr)
            data["rates"] = {label: [] for label in windows}
            data["losses"] = {}
            data["rounds"] = []
            for round_index in range(args.windows):
                data["rounds"].append(common.wait_for_quiet(max_wait=args.quiet_wait))
                started = time.monotonic()
                for label, (page, source, request) in windows.items():
                    result = page.evaluate(source, request)
                    data["rates"][label].append(result["imagesPerSecond"])
                    data["losses"][label] = [result["firstLoss"], result["lastLoss"]]
                print(f"round {round_index + 1}/{args.windows}: {time.monotonic() - started:.0f} s", file=sys.stderr)
        finally:
            for context in reversed(contexts):
                context.__exit__(None, None, None)
    data["load_after"] = os.getloadavg()
    data["medians"] = {label: common.median(rates) for label, rates in data["rates"].items()}
    return data


def report(data: dict) -> str:
    medians = data["medians"]
    base = medians[APP]
    rows = [
        [label, common.fmt(m), common.spread(data["rates"][label]), common.ratio(m, base)]
        for label, m in medians.items()
    ]
    app_threads = data["setup"][APP].get("wasm", {}).get("threads")
    busy = ", ".join(f"{r['busy_cores']:.2f}" for r in data["rounds"] if r["busy_cores"] is not None)
    lines = [
        common.machine_line(data["machine"]),
        common.load_line(data),
        "",
        f"Images per second training the reference CNN at batch {data['batch']} (forward, backward, Adam), median "
        f"of {data['windows']} interleaved windows. The app page's wasm ran {app_threads} thread(s).",
        "",
        common.markdown_table(["configuration", "images/s", "min–max", "vs the app page"], rows),
        "",
        f"Other work on the machine just before each round (cores busy): {busy}.",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2])
    parser.add_argument("--windows", type=int, default=7)
    parser.add_argument("--window-seconds", type=float, default=0.5)
    parser.add_argument("--quiet-wait", type=float, default=15.0)
    args = parser.parse_args(argv)
    data = measure(args)
    path = common.write_result(
        "data_parallel", "Data parallelism over Web Workers (prototype) vs the app's page", report(data), data
    )
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
