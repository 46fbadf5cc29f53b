"""Fixtures for every test folder (loaded by tests/conftest.py through `pytest_plugins`): servers, clients, Chromium.

`module_server` is the in-process app unless the module is marked `live_server` (raw sockets, logs, processes), in
which case it is a real uvicorn process; `mclient` talks to whichever it is.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from server.headless import CHROMIUM_FLAGS, find_chromium

from .postgres import start_cluster
from .servers import in_process_isolated, start_isolated, start_server


@pytest.fixture
def server(tmp_path):
    """A fresh live server with its own data folder (holding the sample dataset)."""
    data = tmp_path / "data"
    data.mkdir()
    live = start_server(data)
    yield live
    live.stop()


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory):
    """One live server for read-only tests that only need the sample dataset."""
    data = tmp_path_factory.mktemp("shared") / "data"
    data.mkdir()
    live = start_server(data)
    yield live
    live.stop()


@pytest.fixture(scope="session")
def postgres_cluster():
    """A throwaway PostgreSQL cluster for the session (tests/support/postgres.py): skipped without one, except in CI."""
    yield from start_cluster()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request) -> str | None:
    """The database a test's server uses: None (SQLite in its data folder), then an empty PostgreSQL database."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("postgres_cluster").create_database()


@pytest.fixture
def client(server):
    with server.client() as c:
        yield c


@pytest.fixture(scope="module")
def module_server(request, tmp_path_factory):
    """One isolated server per test module; tests compare the disk before and after, so they may share it."""
    base = tmp_path_factory.mktemp("module")
    if request.node.get_closest_marker("live_server"):
        live = start_isolated(base)
        yield live
        live.stop()
    else:
        with in_process_isolated(base) as served:
            yield served


@pytest.fixture
def mclient(module_server):
    with module_server.client() as c:
        yield c


def chromium_path() -> str:
    try:
        return find_chromium()
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def fake_chromium(tmp_path) -> tuple[str, Path]:
    """A 'browser' that leaves a mark when anything starts it: a refused command must never get that far."""
    mark = tmp_path / "browser-started"
    script = tmp_path / "chromium"
    script.write_text(f"#!/bin/sh\ntouch '{mark}'\nexit 1\n")
    script.chmod(0o755)
    return str(script), mark


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), headless=True, args=list(CHROMIUM_FLAGS))
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    pg = context.new_page()
    yield pg
    context.close()
