"""How deep JSON from a client may nest: checked before anything (pydantic, the database, TensorFlow) walks it."""

from __future__ import annotations

import json

from .limits import MAX_JSON_DEPTH


class TooDeep(ValueError):
    """JSON nested past MAX_JSON_DEPTH; recursive code downstream would fail on it with a RecursionError (a 500)."""


def depth(value) -> int:
    """How many objects and arrays are nested at the deepest point (a scalar is 0), walked without recursion.
    Stops counting once past MAX_JSON_DEPTH."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_JSON_DEPTH:
            break
        stack.extend((child, level + 1) for child in children)
    return deepest


def check_depth(value, what: str):
    """Return `value` if it nests at most MAX_JSON_DEPTH deep, else raise TooDeep naming `what`."""
    if depth(value) > MAX_JSON_DEPTH:
        raise TooDeep(f"{what} nests deeper than {MAX_JSON_DEPTH} levels")
    return value


def loads(raw: bytes | str, what: str):
    """json.loads, with nesting past MAX_JSON_DEPTH refused as TooDeep (json's own RecursionError included)."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise TooDeep(f"{what} nests deeper than {MAX_JSON_DEPTH} levels") from None
    return check_depth(value, what)
