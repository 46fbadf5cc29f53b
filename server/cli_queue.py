"""The arguments of `browsertrain worker`, `sweep` and `sweeps show` (parsed before anything heavy loads)."""

from __future__ import annotations

import argparse

WORKER_BACKENDS = ("auto", "webgl", "wasm", "cpu", "webgpu")


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is less than 1")
    return value


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server",
        required=True,
        metavar="URL",
        help="the server whose queue to take jobs from (token: $BROWSERTRAIN_TOKEN)",
    )
    parser.add_argument(
        "--count", type=_at_least_one, default=1, metavar="N", help="how many workers (one headless Chromium each)"
    )
    parser.add_argument("--name", default="worker", metavar="PREFIX", help="workers are named PREFIX-1, PREFIX-2, ...")
    parser.add_argument(
        "--backend",
        choices=WORKER_BACKENDS,
        default="auto",
        help="the one backend the workers train on (default auto: the fastest in a probe, or the job's own)",
    )
    parser.add_argument(
        "--max-jobs", type=_at_least_one, metavar="K", help="each worker stops after K jobs; then the command ends"
    )
    parser.add_argument(
        "--chromium", metavar="PATH", help="the browser (default: $BROWSERTRAIN_CHROMIUM or chromium on PATH)"
    )


def add_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    """Filled in by server/cli_sweep.py's owner (docs/queue.md)."""


def add_sweeps_show_arguments(parser: argparse.ArgumentParser) -> None:
    """Filled in by server/cli_sweep.py's owner (docs/queue.md)."""
