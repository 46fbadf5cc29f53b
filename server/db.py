"""The metadata store: runs and their status, in SQLite by default, reached through a SQLAlchemy URL."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone

from sqlalchemy import JSON, BigInteger, Column, Integer, MetaData, String, Table, case, create_engine, event, \
    inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from .storage import DiskFull

metadata = MetaData()
SQLITE_BUSY_TIMEOUT_SECONDS = 30

runs = Table(
    "runs", metadata,
    Column("id", String(12), primary_key=True),
    Column("dataset", String(64), nullable=False, index=True),
    Column("dataset_hash", String(64), nullable=False),
    Column("kind", String(16), nullable=False),         # train | sanity (overfit check)
    Column("status", String(16), nullable=False),       # created | running | finished | stopped | failed
    Column("config", JSON, nullable=False),
    Column("info", JSON, nullable=False),               # backend, user agent, GPU renderer, split seed
    Column("summary", JSON, nullable=True),
    Column("epochs_done", Integer, nullable=False, default=0),
    Column("latest_snapshot", Integer, nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("parent_run_id", String(12), nullable=True, index=True),  # "train more": the run this one continues
)

# Columns added to `runs` after its first release. create_all never alters an existing table, so a database made by
# an older version gets them here, once, at connect (additive and nullable: old rows read as before).
ADDED_RUN_COLUMNS = ("parent_run_id",)

# Login sessions (server/sessions.py). Neither the session id nor the token is stored: the row is found by the id's
# SHA-256 and holds an HMAC of the id keyed with the token that opened it, so it is valid only under that token.
sessions = Table(
    "sessions", metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("token_proof", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("expires_at", BigInteger, nullable=False, index=True),   # Unix seconds
)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def connect(url: str) -> Engine:
    """Create the engine and the tables (first start creates the database)."""
    if url.startswith("sqlite"):
        # Several server processes may share one database: a writer waits up to this long for another's lock
        # instead of failing at once with "database is locked".
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")   # readers never block the writer
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
    else:
        engine = create_engine(url, pool_pre_ping=True)
    try:
        metadata.create_all(engine)
    except OperationalError as exc:
        if "already exists" not in str(exc.orig):
            raise
        metadata.create_all(engine)  # another process created the tables between our check and our CREATE
    _add_missing_columns(engine)
    return engine


def _add_missing_columns(engine: Engine) -> None:
    """Brings a `runs` table made by an older version up to date (see ADDED_RUN_COLUMNS)."""
    present = {column["name"] for column in inspect(engine).get_columns("runs")}
    for name in ADDED_RUN_COLUMNS:
        if name in present:
            continue
        column = runs.c[name]
        try:
            with engine.begin() as conn:
                conn.execute(text(f"ALTER TABLE runs ADD COLUMN {name} {column.type.compile(engine.dialect)}"))
                if column.index:  # named as create_all names it, so old and new databases match
                    conn.execute(text(f"CREATE INDEX IF NOT EXISTS ix_runs_{name} ON runs ({name})"))
        except OperationalError as exc:
            if "duplicate column" not in str(exc.orig):  # another process added it first
                raise


def at_least(column, value: int):
    """SQL for max(column, value) that SQLite and PostgreSQL both run."""
    return case((column < value, value), else_=column)


def is_disk_full(exc: Exception) -> bool:
    """SQLite's SQLITE_FULL, as its driver words it: the disk (or the database's size limit) is full."""
    return "database or disk is full" in str(getattr(exc, "orig", exc))


@contextmanager
def full_disk(outcome: str):
    """Turns the database's "disk is full" inside the block into DiskFull("the disk is full; <outcome>") (a 507);
    the transaction was rolled back. Other database errors pass through."""
    try:
        yield
    except OperationalError as exc:
        if not is_disk_full(exc):
            raise
        raise DiskFull(f"the disk is full; {outcome}") from None
