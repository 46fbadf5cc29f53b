"""Dataset sync into IndexedDB: the bulk endpoint (the app's loadDataset) vs one request and one transaction per item.

A generated dataset of small JPEGs is imported into a temporary data folder and served by a real server; each
measurement runs in a new browser context (an empty IndexedDB) and ends with every item read back into memory.
The ways are interleaved round by round; each figure is the median of the rounds.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from . import common
from .dataset import DATASET, dataset_in

WAYS = (  # (label, options for bench/js/sync.js)
    ("bulk (loadDataset)", {"way": "bulk"}),
    ("per item, sequential", {"way": "per-item", "parallel": 1}),
)
BASELINE = "per item, sequential"


def measure(args, dataset: tuple[Path, dict] | None = None) -> dict:
    ways = list(WAYS)
    if args.parallel > 1:
        ways.append((f"per item, {args.parallel} in flight", {"way": "per-item", "parallel": args.parallel}))
    data = {"rounds": args.rounds, "load_before": os.getloadavg(), "runs": {label: [] for label, _ in ways}}
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        data_dir, data["dataset"] = dataset_in(tmp, args.items, dataset)
        source = common.page_function("sync")
        with common.running_server(data_dir) as url, common.chromium() as browser:
            data["machine"] = common.machine(browser.version)
            data["quiet"] = []
            for round_index in range(args.rounds):
                data["quiet"].append(common.wait_for_quiet())
                started = time.monotonic()
                for label, options in ways:
                    with common.fresh_page(browser, f"{url}/") as page:
                        result = page.evaluate(source, {"name": DATASET, **options})
                    if result["items"] != data["dataset"]["items"]:
                        raise RuntimeError(
                            f"{label}: {result['items']} items in IndexedDB, expected {data['dataset']['items']}"
                        )
                    data["runs"][label].append(result)
                latest = ", ".join(f"{label} {runs[-1]['seconds']:.2f} s" for label, runs in data["runs"].items())
                print(
                    f"round {round_index + 1}/{args.rounds}: {time.monotonic() - started:.0f} s ({latest})",
                    file=sys.stderr,
                )
    data["load_after"] = os.getloadavg()
    data["medians"] = {label: common.median([r["seconds"] for r in runs]) for label, runs in data["runs"].items()}
    return data


def report(data: dict) -> str:
    ds = data["dataset"]
    medians = data["medians"]
    base = medians[BASELINE]
    lines = [
        common.machine_line(data["machine"]),
        common.load_line(data),
        "",
        f"{ds['items']:,} JPEGs of {ds.get('size', 64)}×{ds.get('size', 64)} px"
        + (
            f", {ds['mean_bytes'] / 1024:.1f} KB each on average ({ds['bytes'] / 1024**2:.1f} MB)"
            if "bytes" in ds
            else ""
        )
        + f", from a server on loopback into IndexedDB in headless Chromium, then read back; median of "
        f"{data['rounds']} rounds, each in a new browser context.",
        "",
    ]
    rows = []
    for label, runs in data["runs"].items():
        seconds = medians[label]
        rows.append(
            [
                label,
                runs[0]["requests"],
                f"{seconds:.2f}",
                common.spread([r["seconds"] for r in runs]),
                f"{ds['items'] / seconds:,.0f}",
                common.ratio(base, seconds),
            ]
        )
    lines.append(
        common.markdown_table(
            ["way", "HTTP requests", "seconds (median)", "seconds (min–max)", "items/s", f"speed-up vs {BASELINE}"],
            rows,
        )
    )
    return "\n".join(lines)


def main(argv=None, dataset: tuple[Path, dict] | None = None) -> int:
    """`dataset`: (data folder, import_dataset's summary) of an already imported 5,000-image dataset."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="each way once per round (one per-item sync of 5,000 takes ~1-2 min on 2 cores)",
    )
    parser.add_argument(
        "--parallel",
        type=int,
        default=0,
        help="also time per-item fetches with this many in flight (a browser opens 6 per host)",
    )
    args = parser.parse_args(argv)
    data = measure(args, dataset)
    path = common.write_result(
        "sync", "Dataset sync into IndexedDB: bulk packs vs one request per item", report(data), data
    )
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
