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


def _setting(text: str) -> tuple[str, str]:
    key, sep, values = text.partition("=")
    if not sep or not key or not values:
        raise argparse.ArgumentTypeError(f"{text!r} should look like KEY=VALUES")
    return key, values


def add_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    """`browsertrain sweep`: the dataset, the train options of the base config, the space, the sampler (docs/queue.md).
    KEY is a run-config key (batchSize, model.width) or the flag's name (batch-size, model-width); checked by
    server/cli_sweep.py before anything is written."""
    from .cli_options import add_page_options

    parser.add_argument("--dataset", required=True, help="the dataset every trial trains on")
    add_page_options(parser)
    space = parser.add_argument_group("the search space (repeatable; each KEY varied one way)")
    space.add_argument(
        "--grid",
        action="append",
        type=_setting,
        default=[],
        metavar="KEY=V1,V2",
        help="try every value (model.stages lists take ';' between values: 16,32;32,64)",
    )
    space.add_argument(
        "--random",
        action="append",
        type=_setting,
        default=[],
        metavar="KEY=LOW:HIGH[:log]",
        help="sample a number in [LOW, HIGH], on a log scale with :log",
    )
    space.add_argument(
        "--choice", action="append", type=_setting, default=[], metavar="KEY=A,B", help="pick one value per trial"
    )
    plan = parser.add_argument_group("the sweep")
    plan.add_argument("--trials", type=int, metavar="N", help="trials to train (a grid trains every combination)")
    plan.add_argument(
        "--sampler",
        choices=["grid", "random", "tpe"],
        help="how params are chosen (default: grid; random with --random)",
    )
    plan.add_argument("--pruner", choices=["median", "none"], default="median", help="stop poor trials early")
    plan.add_argument("--parallel", type=int, default=2, metavar="N", help="tpe: trials queued or running at once")
    plan.add_argument("--sampler-seed", type=int, default=0, metavar="N", help="the sampler's seed (default 0)")
    _add_server(parser)


def _add_server(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server",
        metavar="URL",
        help="a running server's API (a token from $BROWSERTRAIN_TOKEN is sent along); "
        "default: this data folder's database",
    )
    parser.add_argument("--json", action="store_true", help="print the answer as one JSON line")


def add_sweeps_show_arguments(parser: argparse.ArgumentParser) -> None:
    """`browsertrain sweeps show ID`: the sweep's trials, params, accuracy and the best."""
    parser.add_argument("sweep_id", metavar="ID", help="the sweep's id (as `browsertrain sweep` printed it)")
    _add_server(parser)
