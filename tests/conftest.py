"""Loads the shared fixtures (tests/support) and marks tiers: `make test-fast` skips `browser` and `slow` tests."""

from __future__ import annotations

import pytest

pytest_plugins = ["support.fixtures"]

# Fixtures that drive real Chromium: `trained` runs `browsertrain train` in headless Chromium before its tests.
BROWSER_FIXTURES = frozenset({"browser", "page", "trained"})


def pytest_collection_modifyitems(items):
    """Every test under tests/e2e, or using Chromium through a fixture, is a `browser` test even if unmarked."""
    for item in items:
        in_e2e = "e2e" in item.path.parts
        if (in_e2e or BROWSER_FIXTURES & set(getattr(item, "fixturenames", ()))) and not item.get_closest_marker(
            "browser"
        ):
            item.add_marker(pytest.mark.browser)
