"""The metadata store: runs and their status, in SQLite by default, reached through a SQLAlchemy URL."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    case,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from .storage import DiskFull

metadata = MetaData()
SQLITE_BUSY_TIMEOUT_SECONDS = 30
# The schema's versions (Alembic), inside the package so an installed copy finds them. The tables below describe the
# newest version; a change to them needs a new version there.
MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")
FIRST_REVISION = "0001"  # runs without parent_run_id, and sessions
# PostgreSQL: one advisory lock (any fixed number) serialises servers that start on one database at once.
POSTGRES_MIGRATION_LOCK = 7_020_011

runs = Table(
    "runs",
    metadata,
    Column("id", String(12), primary_key=True),
    Column("dataset", String(64), nullable=False, index=True),
    Column("dataset_hash", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # train | sanity (overfit check)
    Column("status", String(16), nullable=False),  # created | running | finished | stopped | failed
    Column("config", JSON, nullable=False),
    Column("info", JSON, nullable=False),  # backend, user agent, GPU renderer, split seed
    Column("summary", JSON, nullable=True),
    Column("epochs_done", Integer, nullable=False, default=0),
    Column("latest_snapshot", Integer, nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    Column("parent_run_id", String(12), nullable=True, index=True),  # "train more": the run this one continues
)

# Login sessions (server/sessions.py). Neither the session id nor the token is stored: the row is found by the id's
# SHA-256 and holds an HMAC of the id keyed with the token that opened it, so it is valid only under that token.
sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("token_proof", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("expires_at", BigInteger, nullable=False, index=True),  # Unix seconds
)


# The job queue (docs/queue.md): one job per queued run (its id is the run's), claimed by browser workers under a lease.
jobs = Table(
    "jobs",
    metadata,
    Column("id", String(12), primary_key=True),  # the run's id
    Column("dataset", String(64), nullable=False),
    Column("state", String(16), nullable=False, index=True),  # queued | claimed | done | failed | cancelled | pruned
    Column("priority", Integer, nullable=False, default=0),  # higher first
    Column("attempt", Integer, nullable=False, default=0),  # claims so far
    Column("max_attempts", Integer, nullable=False),
    Column("attempt_token", String(64), nullable=True),  # the current claim's; only it may write to the run
    Column("worker_id", String(32), nullable=True, index=True),
    Column("lease_expires_at", Float, nullable=True),  # Unix seconds
    Column("requirements", JSON, nullable=False),
    Column("sweep_id", String(12), nullable=True, index=True),
    Column("params", JSON, nullable=True),  # a sweep trial's parameters
    Column("trial_number", Integer, nullable=True),  # its Optuna trial
    Column("last_error", String(2000), nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
)

# Browser workers: one row per /worker tab (or headless Chromium of `browsertrain worker`).
workers = Table(
    "workers",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("device", JSON, nullable=False),  # backend, backends, gpu_renderer, images_per_second, user_agent
    Column("job_id", String(12), nullable=True),
    Column("progress", JSON, nullable=True),
    Column("last_seen_at", Float, nullable=False),  # Unix seconds
    Column("created_at", String(32), nullable=False),
)

# Sweeps: a base config, a search space and the Optuna study (same database) that picks each trial's params.
sweeps = Table(
    "sweeps",
    metadata,
    Column("id", String(12), primary_key=True),
    Column("dataset", String(64), nullable=False),
    Column("config", JSON, nullable=False),  # the base run config
    Column("space", JSON, nullable=False),  # {grid, random, choice}
    Column("sampler", String(16), nullable=False),  # grid | random | tpe
    Column("pruner", String(16), nullable=False),  # median | none
    Column("metric", String(32), nullable=False),
    Column("trials", Integer, nullable=False),
    Column("parallel", Integer, nullable=False),
    Column("study_name", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def connect(url: str) -> Engine:
    """The engine, with the schema brought to the newest version (the first start creates the database)."""
    engine = make_engine(url)
    upgrade(engine)
    return engine


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # Several server processes may share one database: a writer waits up to this long for another's lock
        # instead of failing at once with "database is locked".
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Runs the schema versions this database lacks; returns its revision before and after.

    All of it happens in one transaction that first takes a write lock (SQLite's BEGIN IMMEDIATE, a PostgreSQL
    advisory lock): servers starting together on one database take turns, and each after the first finds it done.
    A database made before versions were kept (tables, no alembic_version) is first marked with the version its
    tables match."""
    from alembic import command  # imported here: the CLI's quick paths never load Alembic
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    with engine.connect() as conn:
        _lock_for_migration(conn)
        config.attributes["connection"] = conn
        before = MigrationContext.configure(conn).get_current_revision()
        if before is None and (found := _unversioned_revision(conn)):
            command.stamp(config, found)
            before = MigrationContext.configure(conn).get_current_revision()
        command.upgrade(config, "head")
        after = MigrationContext.configure(conn).get_current_revision()
        conn.commit()
    return before, after


def _lock_for_migration(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # waits up to SQLITE_BUSY_TIMEOUT_SECONDS for another writer
    elif conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_MIGRATION_LOCK})


def _unversioned_revision(conn: Connection) -> str | None:
    """The version an older release's database matches (None for an empty one). Those releases made the sessions
    table with create_all, so one that lacks it gets it here, as the first version has it (unchanged since)."""
    inspector = inspect(conn)
    if not inspector.has_table("runs"):
        return None
    sessions.create(conn, checkfirst=True)
    columns = {column["name"] for column in inspector.get_columns("runs")}
    return "0002" if "parent_run_id" in columns else FIRST_REVISION


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
