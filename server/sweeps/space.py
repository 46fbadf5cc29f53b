"""A sweep's search space, checked against the train page's options (static/train_options.json), and the run config
each trial trains with: the base config with the trial's params set (dotted keys one level down, as the page does).

Keys are run-config keys (`lr`, `batchSize`, `model.width`, `augment.flip`); the CLI also takes the flag names
(`batch-size`, `model-width`). Every check raises SweepError (a 400) before anything is written."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from itertools import product

from ..cli_options import AUGMENT_MODE, AUGMENT_PREFIX, bound_violation, flag_of, page_options
from ..errors import StatusError

# Fields of the options list that are not run-config keys: the augmentation mode is the page's form's switch for
# `augment` ('auto', {} or the custom fields below it), so a sweep sets the augment.* fields themselves.
NOT_CONFIG_KEYS = frozenset({AUGMENT_MODE})
AUTO = "auto"
NUMERIC = ("int", "float")
STAGES_KEY = "model.stages"


class SweepError(StatusError, ValueError):
    """A sweep that cannot be made as asked (400); nothing was written."""


@dataclass(frozen=True)
class Space:
    """What a sweep searches: grid and choice keys take listed values, random keys a range."""

    grid: dict[str, list]
    random: dict[str, dict]
    choice: dict[str, list]

    def as_json(self) -> dict:
        return {"grid": self.grid, "random": self.random, "choice": self.choice}

    @property
    def keys(self) -> list[str]:
        return [*self.grid, *self.random, *self.choice]

    def grid_size(self) -> int:
        return math.prod(len(values) for values in [*self.grid.values(), *self.choice.values()])

    def grid_product(self) -> list[dict]:
        listed = {**self.grid, **self.choice}
        return [dict(zip(listed, values, strict=True)) for values in product(*listed.values())]


def _options() -> dict[str, dict]:
    return {o["field"]: o for o in page_options() if o["field"] not in NOT_CONFIG_KEYS}


def config_key(key: str) -> str:
    """A run-config key from a config key or a flag name (`batch-size` -> `batchSize`); SweepError if neither."""
    options = _options()
    if key in options:
        return key
    for field, option in options.items():
        if key.removeprefix("--") == flag_of(option)[2:]:
            return field
    known = ", ".join(options)
    raise SweepError(f"{key!r} is not a run setting a sweep can vary (one of: {known})")


def check_value(key: str, value):
    """`value` checked against `key`'s option (type, bounds, choices); SweepError names the key when it fails."""
    option = _options()[key]
    kind = option["type"]
    if kind == "int" and isinstance(value, float) and value.is_integer():
        value = int(value)
    if kind in NUMERIC:
        wanted = (int,) if kind == "int" else (int, float)
        if isinstance(value, bool) or not isinstance(value, wanted) or not math.isfinite(value):
            raise SweepError(f"{key}: {value!r} is not {'an integer' if kind == 'int' else 'a number'}")
        if reason := bound_violation(option, value):
            raise SweepError(f"{key} {reason}")
        return float(value) if kind == "float" else value
    if kind == "bool":
        if not isinstance(value, bool):
            raise SweepError(f"{key}: {value!r} is not true or false")
        return value
    if kind == "choice":
        if value not in option["choices"]:
            raise SweepError(f"{key}: {value!r} is not one of {', '.join(map(str, option['choices']))}")
        return value
    if kind == "list":
        text = ",".join(map(str, value)) if isinstance(value, list) else value
        if not isinstance(text, str) or not re.fullmatch(option["pattern"], text):
            raise SweepError(f"{key}: {value!r} should look like {option['default']}")
        return text
    raise SweepError(f"{key} cannot be swept")


def parse_value(key: str, text: str):
    """A command line's text for `key` as the value check_value takes (`8` -> 8, `true` -> True)."""
    kind = _options()[key]["type"]
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
    except ValueError:
        raise SweepError(f"{key}: {text!r} is not {'an integer' if kind == 'int' else 'a number'}") from None
    if kind == "bool":
        lowered = text.lower()
        if lowered not in ("true", "false", "1", "0", "on", "off"):
            raise SweepError(f"{key}: {text!r} is not true or false")
        return lowered in ("true", "1", "on")
    return text


def _listed(what: str, values: dict | None) -> dict[str, list]:
    checked = {}
    for raw, listed in (values or {}).items():
        key = config_key(raw)
        if not isinstance(listed, list) or not listed:
            raise SweepError(f"{what} {key}: give a non-empty list of values")
        typed = [check_value(key, value) for value in listed]
        if len({repr(v) for v in typed}) != len(typed):
            raise SweepError(f"{what} {key}: a value is listed twice")
        checked[key] = typed
    return checked


def _ranges(values: dict | None) -> dict[str, dict]:
    checked = {}
    for raw, spec in (values or {}).items():
        key = config_key(raw)
        kind = _options()[key]["type"]
        if kind not in NUMERIC:
            raise SweepError(f"random {key}: only numbers take a range; list its values with grid or choice")
        if not isinstance(spec, dict) or set(spec) - {"low", "high", "log"} or not {"low", "high"} <= set(spec):
            raise SweepError(f"random {key}: give {{low, high, log?}}")
        low, high = check_value(key, spec["low"]), check_value(key, spec["high"])
        log = spec.get("log", False)
        if not isinstance(log, bool):
            raise SweepError(f"random {key}: log is true or false")
        if not low < high:
            raise SweepError(f"random {key}: low ({low}) must be below high ({high})")
        if log and low <= 0:
            raise SweepError(f"random {key}: a log range needs low above 0, not {low}")
        checked[key] = {"low": low, "high": high, "log": log}
    return checked


def check_space(grid: dict | None, random: dict | None, choice: dict | None) -> Space:
    space = Space(_listed("grid", grid), _ranges(random), _listed("choice", choice))
    if not space.keys:
        raise SweepError("a sweep needs at least one setting to vary (grid, random or choice)")
    if len(set(space.keys)) != len(space.keys):
        raise SweepError("each setting may be varied in one way only (grid, random or choice)")
    return space


def _set(config: dict, key: str, value) -> None:
    if key == STAGES_KEY:
        value = [int(part) for part in value.split(",")]
    group, _, leaf = key.partition(".")
    if not leaf:
        config[key] = value
        return
    inner = config.get(group)
    if group == "augment" and not isinstance(inner, dict):
        inner = {}  # 'auto' or unset: the trial's own augmentation replaces the dataset's choice
    config[group] = {**(inner or {}), leaf: value}


def trial_config(base: dict, params: dict) -> dict:
    """The base run config with a trial's params set (model.width -> config["model"]["width"])."""
    config = dict(base)
    for key, value in params.items():
        _set(config, key, value)
    return config


def config_from_fields(fields: dict) -> dict:
    """A run config from the train page's option fields (as the page's form reads them): dotted keys one level down,
    the augmentation mode folded into `augment` ('auto', {} when off, or the custom fields)."""
    fields = dict(fields)
    mode = fields.pop(AUGMENT_MODE, None)
    config: dict = {}
    if mode == "off":
        config["augment"] = {}
    elif mode == AUTO:
        config["augment"] = AUTO
    for key, value in fields.items():
        if mode != "custom" and key.startswith(AUGMENT_PREFIX) and mode is not None:
            continue
        _set(config, key, value)
    return config
