"""Time from pressing Train to the first training step (cold and warm IndexedDB), by phase; and a real run's img/s.

A user's wait, measured on the app's own /train page: the benchmark clicks Train and reads the phases the run records
on the page's performance timeline (static/js/timing.js) up to its first step. **Cold**: a fresh browser context (empty
IndexedDB, nothing compiled): manifest, bulk download, IndexedDB write, decode and resize, backend start (and its
probe under `auto`), model build, first step with its shader compiles. **Warm**: a second page in the same context (the
dataset in IndexedDB; tfjs starts afresh, as on a return visit). For the benchmark's synthetic dataset (~2,000 images)
and the sample data, on `auto` (the default), wasm and webgl; medians of the rounds, configurations interleaved.

End to end: a real run (wasm, batch 32, a few epochs) reports its per-epoch images/s; beside it, in the same round,
the throughput benchmark's fixed-batch steps (bench/js/throughput.js) at batch 32 on wasm. Ratio target ≥ 0.9.

`--label before|after` keeps several labelled measurements in results/first_step.json, so the table shows a change's
effect (each label is measured in its own run; the table names their dates).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from . import common
from .dataset import import_dataset

BENCH_DATASET = "bench2k"
SAMPLE_DATASET = "shapes"  # what a fresh server creates (server/datasets/sample.py)
BACKENDS = ("auto", "wasm", "webgl")
PHASES = (
    "sync",
    "manifest",
    "download",
    "idb-write",
    "idb-read",
    "backend",
    "preprocess",
    "model",
    "run-record",
    "train-setup",
    "first-step",
)
E2E_BATCH = 32
FIRST_STEP_DONE = (
    "() => performance.getEntriesByName('browsertrain:first-loss-read').length > 0"
    " || globalThis.browsertrain?.phase === 'error'"
)
RUN_DONE = "() => ['done', 'error'].includes(globalThis.browsertrain?.phase)"


def click_train(context, url: str, query: str, done: str) -> tuple:
    """Opens /train?query in `context`, clicks Train like a user and waits for `done`; returns (page, collected)."""
    page = context.new_page()
    page.set_default_timeout(common.PAGE_TIMEOUT_MS)
    page.goto(f"{url}/train?{query}")
    page.wait_for_function(common.TRAIN_PAGE_READY)
    source = common.page_function("first_step")
    page.evaluate(source, {"op": "arm"})
    page.click("#start")
    page.wait_for_function(done)
    return page, page.evaluate(source, {"op": "collect"})


def first_step(browser, url: str, dataset: str, backend: str) -> dict:
    """One cold and one warm wait in one fresh context."""
    context = browser.new_context()
    try:
        result = {}
        for kind in ("cold", "warm"):
            page, collected = click_train(context, url, f"dataset={dataset}&backend={backend}", FIRST_STEP_DONE)
            page.close()  # the run is abandoned mid-epoch: only its start is measured
            if collected["error"]:
                raise RuntimeError(f"{dataset} on {backend} ({kind}): {collected['error']}")
            result[kind] = collected
        return result
    finally:
        context.close()


def real_run(browser, url: str, epochs: int) -> dict:
    """A whole run on wasm at batch 32: its epochs' images/s as the run records them."""
    context = browser.new_context()
    try:
        query = f"dataset={BENCH_DATASET}&backend=wasm&batchSize={E2E_BATCH}&epochs={epochs}&snapshotEvery=1000"
        page, collected = click_train(context, url, query, RUN_DONE)
        state = page.evaluate("() => globalThis.browsertrain")
        if state["error"]:
            raise RuntimeError(f"the real run failed: {state['error']}")
        rates = [record["images_per_second"] for record in state["epochs"]]
        return {"epochs": rates, "steady": common.median(rates[1:]), "backend": collected["backend"]}
    finally:
        context.close()


def fixed_batch(browser, url: str, windows: int) -> dict:
    """The throughput benchmark's measurement at batch 32 on wasm (one model, one fixed batch, windows of steps)."""
    source = common.page_function("throughput")
    with common.fresh_page(browser, f"{url}/train", ready=common.TRAIN_PAGE_READY) as page:
        page.evaluate(source, {"op": "setup", "backend": "wasm", "batchSizes": [E2E_BATCH], "windowSeconds": 1})
        rates = [
            page.evaluate(source, {"op": "window", "batchSize": E2E_BATCH})["imagesPerSecond"] for _ in range(windows)
        ]
    return {"windows": rates, "median": common.median(rates)}


def measure(args) -> dict:
    data = {"rounds": args.rounds, "load_before": os.getloadavg(), "first_step": {}, "e2e": []}
    with tempfile.TemporaryDirectory(prefix="bench-first-step-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        data["dataset"] = import_dataset(data_dir, BENCH_DATASET, args.items)
        with common.running_server(data_dir) as url, common.chromium() as browser:
            data["machine"] = common.machine(browser.version)
            datasets = (BENCH_DATASET, SAMPLE_DATASET)
            for round_index in range(args.rounds):
                for dataset in datasets:
                    for backend in args.backends:
                        common.wait_for_quiet(max_wait=5)
                        result = first_step(browser, url, dataset, backend)
                        data["first_step"].setdefault(f"{dataset}/{backend}", []).append(result)
                        cold, warm = (result[kind]["ends"]["first-step"] for kind in ("cold", "warm"))
                        print(
                            f"round {round_index + 1} {dataset}/{backend}: cold {cold:.0f} ms, warm {warm:.0f} ms"
                            f" ({result['cold']['backend']})",
                            file=sys.stderr,
                        )
                if args.e2e_epochs:
                    common.wait_for_quiet(max_wait=5)
                    run = real_run(browser, url, args.e2e_epochs)
                    fixed = fixed_batch(browser, url, args.windows)
                    data["e2e"].append({"run": run, "fixed": fixed, "ratio": run["steady"] / fixed["median"]})
                    print(
                        f"round {round_index + 1} e2e: run {run['steady']:.0f} img/s, fixed batch "
                        f"{fixed['median']:.0f} img/s",
                        file=sys.stderr,
                    )
    data["load_after"] = os.getloadavg()
    return data


def _ms(values) -> str:
    return f"{common.median(values) / 1000:.2f}" if values else "–"


def first_step_table(measured: dict) -> str:
    header = ["dataset / backend", "IDB", "→ first step s", "spread", "→ 5th step (loss read) s"]
    header += [f"{phase} s" for phase in PHASES if phase != "first-step"] + ["first step s", "backend chosen"]
    rows = []
    for key, results in measured.items():
        for kind in ("cold", "warm"):
            runs = [r[kind] for r in results]
            totals = [run["ends"]["first-step"] for run in runs]
            row = [key, kind, _ms(totals), common.spread([t / 1000 for t in totals])]
            row.append(_ms([run["ends"]["first-loss-read"] for run in runs]))
            for phase in PHASES:
                row.append(_ms([sum(run["phases"][phase]) for run in runs if phase in run["phases"]]))
            row.append(", ".join(sorted({run["backend"] for run in runs})))
            rows.append(row)
    return common.markdown_table(header, rows)


def e2e_lines(e2e: list) -> list[str]:
    if not e2e:
        return []
    ratio = common.median([r["ratio"] for r in e2e])
    run = common.median([r["run"]["steady"] for r in e2e])
    fixed = common.median([r["fixed"]["median"] for r in e2e])
    return [
        f"End to end (wasm, batch {E2E_BATCH}, {len(e2e[0]['run']['epochs'])} epochs, {len(e2e)} rounds): a real run "
        f"trains at **{run:,.0f} img/s** (median of its epochs after the first), the fixed-batch step at "
        f"{fixed:,.0f} img/s: ratio **{ratio:.2f}** (per round: "
        + ", ".join(f"{r['ratio']:.2f}" for r in e2e)
        + "; target ≥ 0.9).",
    ]


def report(labelled: dict) -> str:
    lines = [
        "Seconds from the click on Train to the first training step (dispatched: on WebGL its shader compiles "
        "included) and to the 5th, whose losses are the first the loop reads back; then the phases (sums where a "
        "phase repeats: download and IDB write per pack of 1,000). *sync* is manifest + download + IDB write + IDB "
        "read + the cache's bookkeeping. Cold: a fresh browser context; warm: a second page in the same context "
        "(the dataset in IndexedDB, tfjs started afresh). Medians of the rounds.",
    ]
    for label, data in labelled.items():
        lines += [
            "",
            f"## {label}",
            "",
            common.machine_line(data["machine"]),
            common.load_line(data),
            f"Datasets: {BENCH_DATASET} ({data['dataset']['items']} JPEGs of {data['dataset']['size']}×"
            f"{data['dataset']['size']}, {data['dataset']['mean_bytes'] / 1024:.1f} KB each) and {SAMPLE_DATASET} "
            "(the sample data).",
            "",
            first_step_table(data["first_step"]),
            "",
            *e2e_lines(data["e2e"]),
        ]
    if {"before", "after"} <= labelled.keys():
        lines += ["", "## after / before (to the first step)", ""]
        rows = []
        for key in labelled["after"]["first_step"]:
            for kind in ("cold", "warm"):
                values = [
                    common.median([r[kind]["ends"]["first-step"] for r in labelled[label]["first_step"].get(key, [])])
                    if key in labelled[label]["first_step"]
                    else None
                    for label in ("before", "after")
                ]
                rows.append([key, kind, _s(values[0]), _s(values[1]), common.ratio(values[1], values[0])])
        lines.append(common.markdown_table(["dataset / backend", "IDB", "before s", "after s", "after / before"], rows))
    return "\n".join(lines)


def _s(ms: float | None) -> str:
    return "–" if ms is None else f"{ms / 1000:.2f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--items", type=int, default=2000, help="images in the benchmark's dataset")
    parser.add_argument("--backends", type=lambda s: tuple(s.split(",")), default=BACKENDS)
    parser.add_argument("--e2e-epochs", type=int, default=5, help="epochs of the real run (0: no end-to-end run)")
    parser.add_argument("--windows", type=int, default=5, help="fixed-batch timing windows per round")
    parser.add_argument("--label", default="latest", help="the name this measurement is kept under (before, after)")
    parser.add_argument("--rewrite", action="store_true", help="redraw the table from the JSON only")
    args = parser.parse_args(argv)
    json_path = common.RESULTS_DIR / "first_step.json"
    labelled = json.loads(json_path.read_text())["labels"] if json_path.exists() else {}
    if not args.rewrite:
        labelled[args.label] = measure(args)
    path = common.write_result("first_step", "Time to the first training step", report(labelled), {"labels": labelled})
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
