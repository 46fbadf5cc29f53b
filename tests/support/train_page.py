"""Following the train page in real Chromium: its URL with options, and its `window.browsertrain` state."""

from __future__ import annotations

import time

import pytest

TRAIN_TIMEOUT_SECONDS = 240


def wait_for_phase(page, phases=("done", "error"), timeout=TRAIN_TIMEOUT_SECONDS, until=None) -> dict:
    """Poll the page's state until its phase is one of `phases` (or `until(state)` holds); fail on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = page.evaluate("globalThis.browsertrain ?? null")
        if state and (state["phase"] in phases or (until and until(state))):
            return state
        time.sleep(0.1)
    pytest.fail(f"the page did not reach {phases} in {timeout} s; last state: {state}")


def train_url(server, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"dataset": "shapes", "autostart": 1, **params}.items())
    return f"{server.url}/train?{query}"
