"""The memory benchmark's tables (results/memory.md) from its runs, kept by label (e.g. before / after)."""

from __future__ import annotations

from .common import fmt, load_line, machine_line, markdown_table

MB = 1e6  # the tables say MB: 10^6 bytes
BASELINE = "5000@64"  # every case's rise is measured against this one of the same run
GOAL_CASE = "40000@64"
GOAL_RISE_BYTES = 150 * MB  # the goal: 40k images cost less than 150 MB more than 5k
TYPE_ORDER = ("browser", "renderer", "gpu-process", "utility", "zygote")


def mb(value: int | float | None) -> str:
    return "–" if value is None else f"{value / MB:,.0f}"


def seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f}"


def ordered_cases(cases: dict) -> list[str]:
    return sorted(cases, key=lambda key: (cases[key]["input_size"], cases[key]["items"]))


def rise(cases: dict, key: str) -> float | None:
    """Peak RSS of `key` minus the baseline case's, in bytes (None where either has no peak or the case failed)."""
    base, case = cases.get(BASELINE), cases.get(key)
    if not base or not case or case["status"] != "ok" or base["status"] != "ok":
        return None
    return case["peak"]["total"] - base["peak"]["total"]


def outcome(case: dict) -> str:
    if case["status"] == "ok":
        return "ok"
    return f"**{case['status']}** in {case['last_phase'] or 'load'} after {case['seconds']:,.0f} s: {case['error']}"


def memory_table(cases: dict) -> str:
    types = [t for t in TYPE_ORDER if any(t in c["peak"]["by_type"] for c in cases.values())]
    types += sorted({t for c in cases.values() for t in c["peak"]["by_type"]} - set(types))
    header = ["case (items@px)", "outcome", "peak RSS, all processes", f"rise vs {BASELINE}", "peak anon RSS"]
    header += [f"{t} (its peak)" for t in types] + ["JS heap used", "wasm heap", "at rest", "with evaluation"]
    rows = []
    for key in ordered_cases(cases):
        c = cases[key]
        r = rise(cases, key)
        rows.append(
            [key, outcome(c), f"**{mb(c['peak']['total'])}**", "–" if r is None else f"{r / MB:+,.0f}"]
            + [mb(c["peak"]["anon"])]
            + [mb(c["peak"]["by_type"].get(t)) for t in types]
            + [mb(c["page"]["js_heap_used"]), mb(c["page"]["wasm_heap"]), mb(c["rss_at_rest"])]
            + [mb(c["peak_with_evaluation"]["total"])]
        )
    return markdown_table(header, rows)


def time_table(cases: dict) -> str:
    header = ["case", "import (s)", "sync (s)", "decode (s)", "epoch (s)", "epoch images/s", "evaluate (s)"]
    header += ["peak RSS in sync / decode / epoch (MB)", "busy cores before / after"]
    rows = []
    for key in ordered_cases(cases):
        c = cases[key]
        phase = {name: p["seconds"] for name, p in c["phases"].items()}
        by_phase = c["peak_by_phase"]
        epoch = c["epoch"] or {}
        busy = [c.get("busy_cores_before"), c.get("busy_cores_after")]
        rows.append(
            [key, seconds(c["import_seconds"]), seconds(phase.get("sync")), seconds(phase.get("preprocess"))]
            + [seconds(epoch.get("seconds", phase.get("train"))), fmt(epoch.get("images_per_second"))]
            + [seconds(phase.get("evaluate")), " / ".join(mb(by_phase.get(p)) for p in ("sync", "preprocess", "train"))]
            + [" / ".join("–" if b is None else f"{b:.2f}" for b in busy)]
        )
    return markdown_table(header, rows)


def goal_line(cases: dict) -> str:
    r = rise(cases, GOAL_CASE)
    if r is None:
        return f"Goal ({GOAL_CASE} − {BASELINE} peak RSS < {mb(GOAL_RISE_BYTES)} MB): not measured in this run."
    verdict = "**met**" if r < GOAL_RISE_BYTES else "**NOT met**"
    return f"Goal ({GOAL_CASE} − {BASELINE} peak RSS < {mb(GOAL_RISE_BYTES)} MB): {mb(r)} MB, {verdict}."


def side_by_side(runs: dict) -> str:
    labels = list(runs)
    keys = sorted(
        {k for run in runs.values() for k in run["cases"]},
        key=lambda k: tuple(int(x) for x in k.split("@"))[::-1],
    )
    header = ["case"] + [f"peak RSS, {label} (MB)" for label in labels] + [f"rise, {label}" for label in labels]
    rows = []
    for key in keys:
        peaks, rises = [], []
        for label in labels:
            case = runs[label]["cases"].get(key)
            peaks.append(
                "–" if case is None else mb(case["peak"]["total"]) if case["status"] == "ok" else case["status"]
            )
            r = rise(runs[label]["cases"], key)
            rises.append("–" if r is None else f"{r / MB:+,.0f}")
        rows.append([key, *peaks, *rises])
    return markdown_table(header, rows)


def report(runs: dict) -> str:
    parts = [
        "One epoch of the default model (wasm, batch 32) on the app's /train page in headless Chromium, opened as "
        "`browsertrain train` opens it, on synthetic JPEGs (bench/dataset.py) imported with `browsertrain datasets "
        "import`. **Peak RSS** is the highest sum of the resident memory of every Chromium process (browser, "
        "renderer, GPU, utility, zygote), read from /proc every 0.1 s from the page load to the end of the epoch "
        "(the run's snapshot included, its evaluation not: see the last column). Shared pages count once per "
        "process, so the sum overstates what the tree holds (an idle browser sums to ~1 GB); the rises compare like "
        "with like. **Anon RSS** is the anonymous part alone (heaps, buffers; no mapped files). MB = 10^6 bytes. "
        "Re-run: `.venv/bin/python -m bench.memory --label after` (see bench/README.md).",
    ]
    if len(runs) > 1:
        parts += ["## Side by side", side_by_side(runs)]
    for label, run in runs.items():
        cases = run["cases"]
        parts += [
            f"## {label}",
            machine_line(run["machine"]) + " " + load_line(run),
            goal_line(cases),
            memory_table(cases),
            time_table(cases),
        ]
    return "\n\n".join(parts)
