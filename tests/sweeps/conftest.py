"""A fresh in-process server per test, on SQLite and on PostgreSQL (the `db_url` fixture's two params); its Optuna
connections are closed with it."""

from __future__ import annotations

import pytest
from support.servers import in_process_isolated

from server.sweeps.study import close_storage


@pytest.fixture
def sweep_server(tmp_path, db_url):
    with in_process_isolated(tmp_path, db_url=db_url) as served:
        yield served
        close_storage(served.app.state.engine)


@pytest.fixture
def sclient(sweep_server):
    with sweep_server.client() as client:
        yield client
