"""The schema's versions run on PostgreSQL too: an empty database is brought to the newest version, with every table
as the code has it, and servers starting on it together take turns."""

from __future__ import annotations

import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from server import db

pytestmark = pytest.mark.postgres
HEAD = ScriptDirectory(str(db.MIGRATIONS_DIR)).get_current_head()


def test_an_empty_postgres_database_gets_the_newest_schema(postgres_cluster):
    url = postgres_cluster.create_database()
    engine = db.connect(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn)
            assert context.get_current_revision() == HEAD
            assert compare_metadata(context, db.metadata) == []
        assert db.upgrade(engine) == (HEAD, HEAD)  # a second start finds it done
    finally:
        engine.dispose()


def test_servers_starting_together_on_postgres_take_turns(postgres_cluster):
    url = postgres_cluster.create_database()
    engines = [db.make_engine(url) for _ in range(3)]
    results, errors = [], []

    def start(engine) -> None:
        try:
            results.append(db.upgrade(engine))
        except Exception as exc:  # a race between them would show here
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    assert errors == []
    assert [after for _, after in results] == [HEAD] * len(engines)
    assert [before for before, _ in results].count(None) == 1  # one ran the versions; the others found them done
