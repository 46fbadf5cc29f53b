"""A fresh in-process server per test, on SQLite and on PostgreSQL (the `db_url` fixture's two params)."""

from __future__ import annotations

import pytest
from support.servers import in_process_isolated

# Long enough that no lease expires by itself during a test on a slow machine; the lease tests pass a short one.
LEASE_SECONDS = 30.0


@pytest.fixture
def make_server(tmp_path, db_url):
    """make_server(lease_seconds=...) -> an InProcessServer on the test's database; one per test at most."""
    opened = []

    def make(lease_seconds: float = LEASE_SECONDS, heartbeat_seconds: float | None = None):
        context = in_process_isolated(
            tmp_path,
            db_url=db_url,
            lease_seconds=lease_seconds,
            heartbeat_seconds=heartbeat_seconds or lease_seconds / 4,
        )
        opened.append(context)
        return context.__enter__()

    yield make
    for context in opened:
        context.__exit__(None, None, None)


@pytest.fixture
def queue_server(make_server):
    return make_server()


@pytest.fixture
def qclient(queue_server):
    """A client of the test's server; as a context manager, so the app's lifespan (the reaper) runs."""
    with queue_server.client() as client:
        yield client
