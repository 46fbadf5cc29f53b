"""The train page's options as `browsertrain train` flags, made from their one definition, static/train_options.json."""

from __future__ import annotations

import argparse
import json
import re
from functools import cache

from . import PROJECT_ROOT

OPTIONS_FILE = PROJECT_ROOT / "static" / "train_options.json"
AUTO_HELP = "auto: chosen from the dataset"
# The query value of a checkbox the page reads as unchecked / checked (static/js/ui/train.js applyParams).
UNCHECKED, CHECKED = "0", "1"
AUGMENT_MODE = "augmentMode"
AUGMENT_PREFIX = "augment."
CUSTOM = "custom"


class OptionConflict(ValueError):
    """Flags that contradict each other; the message names them."""


@cache
def definition() -> dict:
    return json.loads(OPTIONS_FILE.read_text(encoding="utf-8"))


def page_options() -> list[dict]:
    return definition()["options"]


def flag_of(option: dict) -> str:
    """`model.blocksPerStage` → `--model-blocks-per-stage`, unless the definition names the flag."""
    kebab = re.sub(r"([A-Z])", lambda m: "-" + m.group(1).lower(), option["field"]).replace(".", "-")
    return option.get("flag") or f"--{kebab}"


def dest_of(option: dict) -> str:
    return flag_of(option)[2:].replace("-", "_")


def _default_text(option: dict) -> str:
    default = option["default"]
    if option.get("from_dataset"):
        return f"default {AUTO_HELP}"
    if option["type"] == "bool":
        return f"default {'on' if default else 'off'}"
    return "" if default is None else f"default {default}"


_BOUNDS = (
    ("min", lambda v, b: v >= b, "at least"),
    ("max", lambda v, b: v <= b, "at most"),
    ("above", lambda v, b: v > b, "above"),
    ("below", lambda v, b: v < b, "below"),
)


def bound_violation(option: dict, value) -> str | None:
    """Why `value` is outside the option's bounds (train_options.json's min, max, above, below), or None."""
    for bound, holds, words in _BOUNDS:
        if bound in option and not holds(value, option[bound]):
            return f"must be {words} {option[bound]:g}, not {value}"
    return None


def _number(option: dict):
    """An argparse type that parses the option's number and holds it to the page's bounds."""
    parse = int if option["type"] == "int" else float
    kind = "an integer" if parse is int else "a number"

    def check(text: str):
        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {kind}") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise argparse.ArgumentTypeError(f"{text!r} is not {kind}")
        if reason := bound_violation(option, value):
            raise argparse.ArgumentTypeError(reason)
        return value

    check.__name__ = option["type"]
    return check


def _pattern(option: dict):
    def check(text: str) -> str:
        if not re.fullmatch(option["pattern"], text):
            raise argparse.ArgumentTypeError(f"{text!r} should look like {option['default']}")
        return text

    check.__name__ = "list"
    return check


def add_page_options(parser: argparse.ArgumentParser) -> None:
    """One flag per page option, each unset by default (the page's own default then holds, as --help says)."""
    group = parser.add_argument_group("the train page's options (unset: the page's default, shown here)")
    for option in page_options():
        default = _default_text(option)
        kwargs = {
            "dest": dest_of(option),
            "default": None,
            "help": f"{option['help']} ({default})" if default else option["help"],
        }
        if option["type"] in ("int", "float"):
            kwargs.update(type=_number(option), metavar="N" if option["type"] == "int" else "X")
        elif option["type"] == "choice":
            kwargs["choices"] = [*option["choices"], *option.get("presets", {})]
        elif option["type"] == "list":
            kwargs.update(type=_pattern(option), metavar="LIST")
        elif option["type"] == "bool":
            kwargs["action"] = argparse.BooleanOptionalAction
        group.add_argument(flag_of(option), **kwargs)


def given_flags(args) -> list[str]:
    """The page-option flags this command line sets."""
    return [flag_of(o) for o in page_options() if getattr(args, dest_of(o), None) is not None]


def _query_value(value) -> str:
    if isinstance(value, bool):
        return CHECKED if value else UNCHECKED
    return str(value)


def page_query(args) -> dict[str, str]:
    """The query string that sets the given flags on the page's form; a preset (--augment on) expands to its fields."""
    values = {o["field"]: getattr(args, dest_of(o), None) for o in page_options()}
    values = {field: value for field, value in values.items() if value is not None}
    mode = values.get(AUGMENT_MODE)
    custom = [f for f in values if f.startswith(AUGMENT_PREFIX)]
    if custom and mode not in (None, CUSTOM, *_presets()):
        flags = ", ".join(flag_of(o) for o in page_options() if o["field"] in custom)
        raise OptionConflict(f"{flags} set augmentation by hand: use them with --augment custom (or on), not {mode}")
    preset = _presets().get(mode)
    if preset:
        values = {**values, **preset, **{f: values[f] for f in custom}}
    return {field: _query_value(value) for field, value in values.items()}


def _presets() -> dict:
    option = next(o for o in page_options() if o["field"] == AUGMENT_MODE)
    return option.get("presets", {})
