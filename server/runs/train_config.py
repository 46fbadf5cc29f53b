"""The one place the server reads a run's `config`: the page's TrainConfig, stored verbatim in the page's camelCase.

The page owns the run config (static/js/train/run_config.js); the server stores it as sent and never rewrites it, so
runs recorded by any version keep loading. Python reads it only through `settings_of`, which names the keys the server
needs in snake_case and fills what older runs lack from RUN_DEFAULTS (docs/conventions.md says why).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..shared_rules import RUN_DEFAULTS


@dataclass(frozen=True)
class RunSettings:
    """What the server needs to know of a run's config, in the server's own names."""

    task: str
    normalization: str
    val_fraction: float
    seed: int
    # The validation split's seed; runs recorded before `splitSeed` existed split with their weight seed.
    split_seed: int
    backbone: str | None
    # Planned epochs: a number once the page has chosen it, 'auto' before, None when unknown.
    epochs: int | str | None


def settings_of(config: dict | None) -> RunSettings:
    """The settings of a stored (or live) run config; keys a run recorded by an older version lacks get their
    defaults. Mirrors splitSeedOf in static/js/data/split.js."""
    config = {**RUN_DEFAULTS, **(config or {})}
    split_seed = config.get("splitSeed")
    return RunSettings(
        task=config["task"],
        normalization=config["normalization"],
        val_fraction=float(config["valFraction"]),
        seed=int(config["seed"]),
        split_seed=int(config["seed"] if split_seed is None else split_seed),
        backbone=config.get("backbone"),
        epochs=config.get("epochs"),
    )
