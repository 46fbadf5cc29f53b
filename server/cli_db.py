"""`browsertrain db upgrade`: bring the metadata store's schema to this release's version without starting a server
(a server start does the same, so this is for checking or upgrading ahead, e.g. a shared PostgreSQL database)."""

from __future__ import annotations

from . import db
from .config import from_env
from .storage import Storage


def cmd_db_upgrade(args) -> int:
    settings = from_env(data_dir=args.data_dir)
    Storage(settings.data_dir)  # the data folder, where the default SQLite database lives
    engine = db.make_engine(settings.database_url)
    try:
        before, after = db.upgrade(engine)
    finally:
        engine.dispose()
    if before == after:
        print(f"the database is at version {after}, the newest: nothing to do")
    else:
        print(f"upgraded the database from version {before or 'none (new database)'} to {after}")
    return 0
