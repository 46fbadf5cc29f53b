"""The metadata store's schema moves through numbered versions: a new database starts at the newest, one made by an
older release (with or without version records) is brought up to it by a server start or `browsertrain db upgrade`,
and its runs come through unchanged."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from support import start_server

from server import db
from server.cli import main

HEAD = "0003"
OLD_RUN = "abcdefabcdef"
# The runs table as the first release created it (no parent_run_id), with one finished run in it.
FIRST_RELEASE_RUNS = (
    "CREATE TABLE runs (id VARCHAR(12) NOT NULL, dataset VARCHAR(64) NOT NULL, dataset_hash VARCHAR(64) NOT NULL, "
    "kind VARCHAR(16) NOT NULL, status VARCHAR(16) NOT NULL, config JSON NOT NULL, info JSON NOT NULL, summary JSON, "
    "epochs_done INTEGER NOT NULL, latest_snapshot INTEGER, created_at VARCHAR(32) NOT NULL, "
    "updated_at VARCHAR(32) NOT NULL, PRIMARY KEY (id))",
    "CREATE INDEX ix_runs_dataset ON runs (dataset)",
    f"INSERT INTO runs VALUES ('{OLD_RUN}', 'shapes', 'h', 'train', 'finished', '{{}}', '{{}}', NULL, 3, 1, "
    "'2026-01-01', '2026-01-01')",
)


def first_release_database(data: Path) -> Path:
    data.mkdir(parents=True, exist_ok=True)
    path = data / "browsertrain.db"
    with sqlite3.connect(path) as old:
        for statement in FIRST_RELEASE_RUNS:
            old.execute(statement)
    return path


def version_of(path: Path) -> str | None:
    with sqlite3.connect(path) as conn:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'").fetchone():
            return None
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def assert_matches_the_newest_schema(path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
    finally:
        engine.dispose()


def test_a_new_database_starts_at_the_newest_version_with_every_table_as_the_code_has_it(tmp_path):
    path = tmp_path / "new.db"
    engine = db.connect(f"sqlite:///{path}")
    engine.dispose()
    assert version_of(path) == HEAD
    assert_matches_the_newest_schema(path)
    assert db.upgrade(db.make_engine(f"sqlite:///{path}")) == (HEAD, HEAD)  # a second start has nothing to do


def test_db_upgrade_brings_a_first_release_database_to_the_newest_version_and_keeps_its_runs(tmp_path, capsys):
    data = tmp_path / "data"
    path = first_release_database(data)
    assert main(["db", "upgrade", "--data-dir", str(data)]) == 0
    assert capsys.readouterr().out.strip() == f"upgraded the database from version 0001 to {HEAD}"
    assert version_of(path) == HEAD
    assert_matches_the_newest_schema(path)  # the sessions table it lacked included
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT id, epochs_done, parent_run_id FROM runs").fetchall() == [(OLD_RUN, 3, None)]
    assert main(["db", "upgrade", "--data-dir", str(data)]) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_db_upgrade_creates_a_new_database_at_the_newest_version(tmp_path, capsys):
    data = tmp_path / "data"
    assert main(["db", "upgrade", "--data-dir", str(data)]) == 0
    assert capsys.readouterr().out.strip() == f"upgraded the database from version none (new database) to {HEAD}"
    assert version_of(data / "browsertrain.db") == HEAD


def test_a_database_with_lineage_but_no_version_records_is_marked_as_such_and_brought_to_the_newest(tmp_path):
    path = tmp_path / "lineage.db"
    with sqlite3.connect(path) as old:  # as the release that added parent_run_id made it, before versions
        for statement in FIRST_RELEASE_RUNS:
            old.execute(statement)
        old.execute("ALTER TABLE runs ADD COLUMN parent_run_id VARCHAR(12)")
        old.execute("CREATE INDEX ix_runs_parent_run_id ON runs (parent_run_id)")
    engine = db.make_engine(f"sqlite:///{path}")
    assert db.upgrade(engine) == ("0002", HEAD)  # the lineage release's version, then the ones after it
    engine.dispose()
    assert_matches_the_newest_schema(path)


def test_a_server_start_upgrades_a_first_release_database_and_serves_its_old_run(tmp_path):
    data = tmp_path / "data"
    path = first_release_database(data)
    server = start_server(data)
    try:
        runs = httpx.get(f"{server.url}/api/runs", timeout=10).json()["runs"]
        assert [(r["id"], r["epochs_done"], r["parent_run_id"]) for r in runs] == [(OLD_RUN, 3, None)]
    finally:
        server.stop()
    assert version_of(path) == HEAD
    inspector = inspect(db.make_engine(f"sqlite:///{path}"))
    assert "ix_runs_parent_run_id" in {i["name"] for i in inspector.get_indexes("runs")}
