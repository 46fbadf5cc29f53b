"""Servers (or `browsertrain db upgrade`s) that start together on one old database take turns upgrading it: one does
the work, the others find it done, and none fails on a column or table another just added."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

from api.test_migrations import HEAD, OLD_RUN, first_release_database, version_of
from support import ROOT

PROCESSES = 4


def test_upgrades_started_together_on_one_old_database_all_succeed_and_one_does_the_work(tmp_path):
    data = tmp_path / "data"
    path = first_release_database(data)
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "server.cli", "db", "upgrade", "--data-dir", str(data)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    answers = [process.communicate(timeout=120) for process in started]
    assert [process.returncode for process in started] == [0] * PROCESSES, answers
    outs = [out.strip() for out, _ in answers]
    assert outs.count(f"upgraded the database from version 0001 to {HEAD}") == 1, outs
    assert outs.count(f"the database is at version {HEAD}, the newest: nothing to do") == PROCESSES - 1, outs
    assert version_of(path) == HEAD
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT id, parent_run_id FROM runs").fetchall() == [(OLD_RUN, None)]
