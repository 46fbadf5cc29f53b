"""The arguments of `browsertrain worker`, `sweep` and `sweeps show` (parsed before anything heavy loads)."""

from __future__ import annotations

import argparse


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    """Filled in by server/cli_worker.py's owner (docs/queue.md)."""


def add_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    """Filled in by server/cli_sweep.py's owner (docs/queue.md)."""


def add_sweeps_show_arguments(parser: argparse.ArgumentParser) -> None:
    """Filled in by server/cli_sweep.py's owner (docs/queue.md)."""
