"""Training throughput of the reference CNN on each tfjs backend in headless Chromium, beside PyTorch on the CPU.

Everything is measured in one run on one machine, interleaved: every round times one window of every configuration
(each browser backend and PyTorch with its default and with one thread, at each batch size), so a burst of load on
the machine hits all of them alike; a configuration's figure is the median over the rounds.

`--gpu FLAG_SET` (bench/gpu.sh) launches Chromium with hardware GPU flags instead of SwiftShader's, adds PyTorch on
CUDA where there is one, writes results/gpu.{md,json,png} instead, and says per backend whether it really ran on a GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from . import common, gpu

BATCH_SIZES = (1, 8, 16, 32)
# (label, backend, navigator.hardwareConcurrency to emulate or None, a page per batch size). The wasm backend gives
# itself hardwareConcurrency / 2 threads unless the app asks for all cores (from ALL_CORES_MIN_BATCH in
# static/js/train/wasm_kernels.js): "wasm" is the app's own configuration for each run's batch size, so it gets a page
# (a backend started for that batch size) per batch size; "wasm 2 threads" reports 4 cores and is told no batch size.
BROWSER_CONFIGS = (
    ("webgl", "webgl", None, False),
    ("webgpu", "webgpu", None, False),
    ("wasm", "wasm", None, True),
    ("wasm 2 threads", "wasm", 4, False),
    ("cpu", "cpu", None, False),
)
TORCH_CONFIGS = (("PyTorch", None, "cpu"), ("PyTorch 1 thread", 1, "cpu"))  # (label, threads, device)
TORCH_CUDA_CONFIG = ("PyTorch CUDA", None, "cuda")  # with --gpu
GPU_RUN_BACKENDS = {"webgl", "webgpu", "wasm"}  # the GPU backends, and the app's CPU backend beside them
SETTLE_SECONDS = 0.3  # after each PyTorch window, so its OpenMP workers stop spinning before the browser runs
PROFILE_BACKEND = "wasm"


class TorchWorker:
    """bench.torch_reference --serve in its own process."""

    def __init__(self, threads: int | None, device: str):
        command = [sys.executable, "-m", "bench.torch_reference", "--serve", "--device", device]
        if threads:
            command += ["--threads", str(threads)]
        self.process = subprocess.Popen(
            command, cwd=common.ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def ask(self, request: dict) -> dict:
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the PyTorch worker exited")
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(30)


def measure(args) -> dict:
    data = {
        "batch_sizes": list(args.batch_sizes),
        "windows": args.windows,
        "window_seconds": args.window_seconds,
        "load_before": os.getloadavg(),
        "browser": {},
        "torch": {},
        "rates": {},
        "losses": {},
    }
    if args.gpu:
        data["gpu"] = gpu.describe_run(args.gpu)
    flags = tuple(data["gpu"]["flags"]) if args.gpu else None
    source = common.page_function("throughput")
    with common.app_and_browser(data, prefix="bench-throughput-", flags=flags) as (url, browser):
        with common.fresh_page(browser, f"{url}/train", ready=common.TRAIN_PAGE_READY) as page:
            data["stock_wasm"] = page.evaluate(source, {"op": "stock"})
        print(f"stock wasm trains: {data['stock_wasm']}", file=sys.stderr)

        workers = {}
        for label, threads, device in TORCH_CONFIGS + ((TORCH_CUDA_CONFIG,) if args.gpu else ()):
            worker = TorchWorker(threads, device)
            info = worker.ask({"op": "setup", "batch_sizes": args.batch_sizes, "window_seconds": args.window_seconds})
            if not info["available"]:
                worker.close()
                data["torch_unavailable"] = {**data.get("torch_unavailable", {}), label: info["reason"]}
                print(f"{label}: unavailable ({info['reason']})", file=sys.stderr)
                continue
            data["torch"][label] = info
            workers[label] = worker
            print(f"{label}: {info['device']}, {info['threads']} threads", file=sys.stderr)

        pages, contexts = {}, []
        try:
            for label, backend, concurrency, per_batch in BROWSER_CONFIGS:
                if args.backends and backend not in args.backends:
                    continue
                started = time.monotonic()
                # A page per batch size where the backend is configured for the run's batch size; else one for all.
                groups = [[b] for b in args.batch_sizes] if per_batch else [list(args.batch_sizes)]
                infos = []
                for sizes in groups:
                    context = common.fresh_page(
                        browser, f"{url}/train", hardware_concurrency=concurrency, ready=common.TRAIN_PAGE_READY
                    )
                    page = context.__enter__()
                    contexts.append(context)
                    request = {"op": "setup", "backend": backend, "batchSizes": sizes}
                    request |= {"windowSeconds": args.window_seconds, "runBatchSize": sizes[0] if per_batch else None}
                    infos.append(page.evaluate(source, request))
                    if infos[-1].get("available"):
                        pages.setdefault(label, {}).update({b: page for b in sizes})
                info = merge_setups(infos, groups)
                data["browser"][label] = info
                print(
                    f"{label}: set up in {time.monotonic() - started:.0f} s: "
                    f"{json.dumps({k: v for k, v in info.items() if k not in ('calibration', 'per_batch')})}",
                    file=sys.stderr,
                )
                if args.gpu and backend in ("webgl", "webgpu"):
                    info.update(page.evaluate(common.page_function("gpu_probe")))
                    data["gpu"].setdefault("verdicts", {})[label] = gpu.browser_verdict(backend, info)
            if args.gpu:
                gpu.mark_rows(data)

            labels = list(workers) + list(pages)
            for label in labels:
                data["rates"][label] = {b: [] for b in args.batch_sizes}
                data["losses"][label] = {b: [] for b in args.batch_sizes}
            data["rounds"] = []
            for round_index in range(args.windows):
                quiet = common.wait_for_quiet(max_wait=args.quiet_wait)
                data["rounds"].append(quiet)
                started = time.monotonic()
                for label in labels:
                    for b in args.batch_sizes:
                        if label in workers:
                            result = workers[label].ask({"op": "window", "batch_size": b})
                            time.sleep(SETTLE_SECONDS)
                        else:
                            result = pages[label][b].evaluate(source, {"op": "window", "batchSize": b})
                        data["rates"][label][b].append(result["imagesPerSecond"])
                        data["losses"][label][b].append([result["firstLoss"], result["lastLoss"]])
                print(
                    f"round {round_index + 1}/{args.windows}: {time.monotonic() - started:.0f} s, "
                    f"{quiet['busy_cores']:.2f} cores busy before it (waited {quiet['waited_s']:.0f} s)",
                    file=sys.stderr,
                )
            if PROFILE_BACKEND in pages:
                data["profile"] = {
                    b: pages[PROFILE_BACKEND][b].evaluate(source, {"op": "profile", "batchSize": b})
                    for b in (args.batch_sizes[0], args.batch_sizes[-1])
                }
        finally:
            for context in reversed(contexts):
                context.__exit__(None, None, None)
            for worker in workers.values():
                worker.close()
    data["load_after"] = os.getloadavg()
    data["medians"] = {
        label: {b: common.median(rates) for b, rates in per_batch.items()} for label, per_batch in data["rates"].items()
    }
    data["best"] = {
        label: {b: max(rates) for b, rates in per_batch.items()} for label, per_batch in data["rates"].items()
    }
    return data


def merge_setups(infos: list[dict], groups: list[list[int]]) -> dict:
    """One configuration's setup answers, from one page or a page per batch size, as one: the first page's, with every
    page's calibration, and each page's wasm details under per_batch (batch size → details) when there are several."""
    info = dict(infos[0])
    info["calibration"] = {k: v for one in infos for k, v in one.get("calibration", {}).items()}
    if len(infos) > 1:
        info["per_batch"] = {sizes[0]: one.get("wasm") for one, sizes in zip(infos, groups)}
    return info


def ratio_table(data: dict, figures: dict) -> str:
    sizes = data["batch_sizes"]
    browser_labels = [label for label in figures if label in data["browser"]]
    torch_labels = [label for label in figures if label in data["torch"]]
    best = {b: max(browser_labels, key=lambda label: figures[label][b]) for b in sizes}
    header = ["batch", "best browser backend"]
    if "wasm" in figures and "cpu" in figures:
        header.append("wasm / tfjs cpu")
    header += [f"best browser / {label}" for label in torch_labels]
    if "wasm" in figures and "PyTorch 1 thread" in figures:
        header.append("wasm (1 thread) / PyTorch 1 thread")
    rows = []
    for b in sizes:
        row = [b, best[b]]
        if "wasm" in figures and "cpu" in figures:
            row.append(common.ratio(figures["wasm"][b], figures["cpu"][b]))
        row += [common.ratio(figures[best[b]][b], figures[label][b]) for label in torch_labels]
        if "wasm" in figures and "PyTorch 1 thread" in figures:
            row.append(common.ratio(figures["wasm"][b], figures["PyTorch 1 thread"][b]))
        rows.append(row)
    return common.markdown_table(header, rows)


def profile_table(profile: dict, top: int = 8) -> str:
    rows = []
    for b, p in profile.items():
        kernels = sorted(p["kernels"].items(), key=lambda kv: -kv[1]["ms"])
        in_kernels = sum(k["ms"] for k in p["kernels"].values())
        shown = ", ".join(f"{name} {k['ms']:.1f} ({k['calls']})" for name, k in kernels[:top])
        rows.append(
            [
                b,
                f"{p['wallMs']:.1f}",
                p["kernelCalls"],
                f"{in_kernels:.1f}",
                f"{max(0.0, p['wallMs'] - in_kernels):.1f} ({max(0.0, 1 - in_kernels / p['wallMs']):.0%})",
                shown,
            ]
        )
    return common.markdown_table(
        [
            "batch",
            "step wall ms",
            "kernel calls",
            "ms in kernels",
            "ms outside kernels",
            f"top {top} kernels: ms (calls)",
        ],
        rows,
    )


def report(data: dict) -> str:
    sizes = data["batch_sizes"]
    medians = data["medians"]
    browser_labels = [label for label in medians if label in data["browser"]]
    torch_labels = [label for label in medians if label in data["torch"]]
    lines = [
        common.machine_line(data["machine"]),
        common.load_line(data),
        "",
        f"Images per second, training (forward, backward, Adam step) the reference CNN (37,466 parameters, "
        f"64×64×3) on one fixed batch; median of {data['windows']} timed windows of ~{data['window_seconds']} s "
        f"each after warm-up, the configurations interleaved round by round.",
        "",
    ]
    if data.get("gpu"):
        lines[3:3] = ["## Did the GPU backends run on the GPU?", "", gpu.report_section(data), "", "## Throughput", ""]
    header = ["batch"] + [gpu.column_label(data, label) for label in browser_labels + torch_labels]
    rows = [[b] + [common.fmt(medians[label][b]) for label in browser_labels + torch_labels] for b in sizes]
    lines.append(common.markdown_table(header, rows))
    unavailable = {label: info.get("reason") for label, info in data["browser"].items() if not info.get("available")}
    unavailable.update(data.get("torch_unavailable", {}))
    for label, reason in unavailable.items():
        lines.append(f"\n{label}: unavailable ({reason}).")

    lines += ["", "## Ratios (same run, medians)", "", ratio_table(data, medians)]
    lines += [
        "",
        "## Ratios of the best windows (the least disturbed window of each configuration)",
        "",
        ratio_table(data, data["best"]),
    ]
    lines += ["", "## Spread of the timed windows (images/s, min–max)", ""]
    rows = [
        [label] + [common.spread(data["rates"][label][b]) for b in sizes] for label in browser_labels + torch_labels
    ]
    lines.append(common.markdown_table(["configuration"] + [f"batch {b}" for b in sizes], rows))

    busy = [r["busy_cores"] for r in data.get("rounds", []) if r["busy_cores"] is not None]
    if busy:
        lines += [
            "",
            f"Other work on the machine just before each round (cores busy, of "
            f"{data['machine']['usable_cores']}): {', '.join(f'{x:.2f}' for x in busy)}.",
        ]
    if data.get("profile"):
        lines += [
            "",
            f"## Where a {PROFILE_BACKEND} step goes (tf.profile of one step; wall time: median of 3 unprofiled steps)",
            "",
            profile_table(data["profile"]),
        ]

    lines += ["", "## Threads and builds actually used", ""]
    for label, info in data["torch"].items():
        lines.append(
            f"- {label}: torch {info['torch']} on {info.get('device', 'cpu')}, torch.get_num_threads() = "
            f"{info['threads']} (interop {info['interop_threads']})."
        )
    for label, info in data["browser"].items():
        if label.startswith("wasm") and info.get("wasm"):
            w = info["wasm"]
            lines.append(
                f"- {label}: crossOriginIsolated = {w['crossOriginIsolated']}, "
                f"navigator.hardwareConcurrency = {w['hardwareConcurrency']}"
                f"{' (emulated)' if label != 'wasm' else ''}, binary {', '.join(w['binary'])}, "
                f"tf.wasm.getThreadsCount() = {w['threads']}"
                + (
                    " (the page of each batch size: "
                    + ", ".join(f"batch {b}: {p['threads']}" for b, p in info["per_batch"].items() if p)
                    + ", as the app configures it for a run of that batch size)."
                    if info.get("per_batch")
                    else "."
                )
            )
        elif info.get("backend") == "webgl" and info.get("renderer"):
            lines.append(f"- {label}: {info['renderer']}.")
        elif info.get("backend") == "webgpu" and info.get("adapter"):
            lines.append(f"- {label}: adapter {info['adapter']}.")
    stock = data.get("stock_wasm", {})
    lines.append(
        f"- wasm as tfjs ships it (no kernels of ours): "
        f"{'trains' if stock.get('trains') else 'cannot train: ' + str(stock.get('error'))}."
    )

    lines += ["", f"## It trains: loss on the fixed batch of {sizes[-1]}, first warm-up step → last timed step", ""]
    rows = []
    for label in browser_labels + torch_labels:
        first, last = data["losses"][label][sizes[-1]][-1]
        info = data["browser"].get(label) or data["torch"][label]
        calibration = info["calibration"].get(sizes[-1]) or info["calibration"].get(str(sizes[-1]))
        rows.append([label, calibration["stepsPerWindow"] * data["windows"], f"{first:.3f}", f"{last:.3f}"])
    lines.append(common.markdown_table(["configuration", "timed steps", "first", "last"], rows))
    return "\n".join(lines)


def plot(data: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = data["batch_sizes"]
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=120)
    for label, per_batch in data["medians"].items():
        style = "--" if label in data["torch"] else "-"
        mid = [per_batch[b] for b in sizes]
        low = [m - min(data["rates"][label][b]) for m, b in zip(mid, sizes)]
        high = [max(data["rates"][label][b]) - m for m, b in zip(mid, sizes)]
        ax.errorbar(sizes, mid, yerr=[low, high], fmt=style, marker="o", capsize=3, label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(sizes, [str(b) for b in sizes])
    ax.set_xlabel("batch size")
    ax.set_ylabel("training images / s (log)")
    m = data["machine"]
    ax.set_title(
        f"Reference CNN training, {m['usable_cores']} CPU cores, {gpu.plot_subtitle(data)}\n"
        f"median of {data['windows']} windows, bars: min–max",
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def load_results(path: Path) -> dict:
    """A throughput.json read back with its batch sizes as ints again (JSON keys are strings)."""
    data = json.loads(path.read_text())
    for key in ("rates", "losses", "medians", "best"):
        data[key] = {label: {int(b): v for b, v in per_batch.items()} for label, per_batch in data[key].items()}
    return data


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replot", action="store_true", help="only redraw the plot from results/throughput.json")
    parser.add_argument("--batch-sizes", type=lambda s: tuple(int(x) for x in s.split(",")), default=BATCH_SIZES)
    parser.add_argument("--windows", type=int, default=7, help="timed windows per configuration (the median is kept)")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=15.0,
        help="before each round, wait up to this long for other work on the machine to pause",
    )
    parser.add_argument(
        "--window-seconds", type=float, default=0.5, help="target length of one timed window (at least one step)"
    )
    parser.add_argument(
        "--backends", type=lambda s: set(s.split(",")), default=None, help="only these browser backends (default: all)"
    )
    parser.add_argument(
        "--gpu",
        choices=list(gpu.GPU_FLAG_SETS),
        default=None,
        help="launch Chromium with this hardware GPU flag set, add PyTorch on CUDA, write results/gpu.* "
        f"(default backends then: {','.join(sorted(GPU_RUN_BACKENDS))})",
    )
    args = parser.parse_args(argv)
    name = "gpu" if args.gpu else "throughput"
    if args.replot:
        plot(load_results(common.RESULTS_DIR / f"{name}.json"), common.RESULTS_DIR / f"{name}.png")
        return 0
    if args.gpu and args.backends is None:
        args.backends = GPU_RUN_BACKENDS
    data = measure(args)
    where = "on a GPU" if args.gpu else "on the CPU"
    path = common.write_result(
        name,
        f"Training throughput: tfjs backends in Chromium vs PyTorch {where}",
        report(data) + f"\n\n![throughput]({name}.png)\n",
        data,
    )
    plot(data, common.RESULTS_DIR / f"{name}.png")
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
