"""Before / after each change to the CPU training step: the app at several git revisions, side by side in one run.

Each revision (by default the merge base with main, then every later commit on this branch that touched
static/js) is extracted with `git archive` into a temporary folder and served by its own `browsertrain serve`; one
page per revision and batch size trains the reference CNN with that revision's modules, wasm configured by that
revision for that batch size (bench/js/throughput.js, as in throughput.py), and PyTorch (its default threads) runs
beside them. Every round times one window of every configuration, interleaved; figures are medians of the rounds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from . import common
from .throughput import TorchWorker

TREES = ("server", "static", "templates", "datasets")  # what a revision's server needs; node_modules is shared
TORCH = "PyTorch"


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=common.ROOT, check=True, capture_output=True, text=True).stdout.strip()


def default_revisions(base: str) -> list[tuple[str, str]]:
    """(label, commit): the merge base with `base`, then each later commit of HEAD's that changed static/js."""
    start = git("merge-base", base, "HEAD")
    commits = git("log", "--reverse", "--format=%h %s", f"{start}..HEAD", "--", "static/js").splitlines()
    revisions = [(f"{start[:7]} before ({base})", start)]
    for line in commits:
        commit, subject = line.split(" ", 1)
        revisions.append((f"{commit} {subject.split('(')[0].strip()[:70]}", commit))
    return revisions


def extract(commit: str, into: Path) -> Path:
    into.mkdir()
    archive = subprocess.run(["git", "archive", commit, *TREES], cwd=common.ROOT, check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    (into / "node_modules").symlink_to(common.ROOT / "node_modules")
    return into


def measure(args) -> dict:
    revisions = args.revisions or default_revisions(args.base)
    data = {"batch_sizes": args.batch_sizes, "windows": args.windows, "load_before": os.getloadavg()}
    data |= {"revisions": [label for label, _ in revisions], "setup": {}, "rates": {}}
    source = common.page_function("throughput")
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-cpu-steps-")))
        browser = stack.enter_context(common.chromium())
        data["machine"] = common.machine(browser.version)
        torch = TorchWorker(None, "cpu")
        stack.callback(torch.close)
        data["setup"][TORCH] = torch.ask(
            {"op": "setup", "batch_sizes": args.batch_sizes, "window_seconds": args.window_seconds}
        )
        pages = {}
        for index, (label, commit) in enumerate(revisions):
            root = extract(commit, tmp / f"rev{index}")
            (tmp / f"data{index}").mkdir()
            url = stack.enter_context(common.running_server(tmp / f"data{index}", root=root))
            for b in args.batch_sizes:
                page = stack.enter_context(common.fresh_page(browser, f"{url}/train", ready=common.TRAIN_PAGE_READY))
                request = {"op": "setup", "backend": "wasm", "batchSizes": [b], "runBatchSize": b}
                info = page.evaluate(source, request | {"windowSeconds": args.window_seconds})
                data["setup"].setdefault(label, {})[b] = {"threads": info.get("wasm", {}).get("threads")}
                pages[(label, b)] = page
            print(f"{label}: set up", file=sys.stderr)
        labels = [label for label, _ in revisions]
        data["rates"] = {label: {b: [] for b in args.batch_sizes} for label in [TORCH, *labels]}
        data["rounds"] = []
        for round_index in range(args.windows):
            data["rounds"].append(common.wait_for_quiet(max_wait=args.quiet_wait))
            started = time.monotonic()
            for b in args.batch_sizes:
                result = torch.ask({"op": "window", "batch_size": b})
                data["rates"][TORCH][b].append(result["imagesPerSecond"])
                time.sleep(0.3)  # PyTorch's OpenMP workers stop spinning before the browser runs
                for label in labels:
                    result = pages[(label, b)].evaluate(source, {"op": "window", "batchSize": b})
                    data["rates"][label][b].append(result["imagesPerSecond"])
            print(f"round {round_index + 1}/{args.windows}: {time.monotonic() - started:.0f} s", file=sys.stderr)
    data["load_after"] = os.getloadavg()
    data["medians"] = {
        label: {b: common.median(rates) for b, rates in per_batch.items()} for label, per_batch in data["rates"].items()
    }
    return data


def report(data: dict) -> str:
    sizes, medians, labels = data["batch_sizes"], data["medians"], data["revisions"]
    before = medians[labels[0]]
    header = ["revision (each adds one change)"]
    for b in sizes:
        header += [f"batch {b} images/s", "vs before", f"vs {TORCH}"]
    header.append("wasm threads")
    rows = []
    for label in labels:
        row = [label]
        for b in sizes:
            m = medians[label][b]
            row += [common.fmt(m), common.ratio(m, before[b]), common.ratio(m, medians[TORCH][b])]
        row.append(", ".join(f"{b}: {data['setup'][label][b]['threads']}" for b in sizes))
        rows.append(row)
    rows.append([TORCH] + sum(([common.fmt(medians[TORCH][b]), "", ""] for b in sizes), []) + [""])
    spread_rows = [[label] + [common.spread(data["rates"][label][b]) for b in sizes] for label in labels + [TORCH]]
    busy = ", ".join(f"{r['busy_cores']:.2f}" for r in data["rounds"] if r["busy_cores"] is not None)
    return "\n".join(
        [
            common.machine_line(data["machine"]),
            common.load_line(data),
            "",
            f"Training images/s of the reference CNN (the app's Trainer step on wasm, one fixed batch), median of "
            f"{data['windows']} interleaved windows of ~0.5 s; every revision served by its own server from its own "
            f"tree, PyTorch (CPU, default threads) in the same rounds.",
            "",
            common.markdown_table(header, rows),
            "",
            "Spread of the windows (images/s, min–max):",
            "",
            common.markdown_table(["configuration"] + [f"batch {b}" for b in sizes], spread_rows),
            "",
            f"Other work on the machine just before each round (cores busy, of {data['machine']['usable_cores']}): "
            f"{busy}.",
        ]
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1, 32])
    parser.add_argument("--windows", type=int, default=7)
    parser.add_argument("--window-seconds", type=float, default=0.5)
    parser.add_argument("--quiet-wait", type=float, default=15.0)
    parser.add_argument("--base", default="main", help="the branch whose merge base is 'before'")
    parser.add_argument(
        "--revisions",
        type=lambda s: [(r, r) for r in s.split(",")],
        default=None,
        help="commits to compare, in order (default: the merge base, then each later commit touching static/js)",
    )
    args = parser.parse_args(argv)
    data = measure(args)
    path = common.write_result("cpu_steps", "The CPU training step before and after each change", report(data), data)
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
