"""What the queue's modules share: its errors, the job as the API shows it, one write transaction, and the run status
a job's end sets (docs/queue.md)."""

from __future__ import annotations

import logging
import secrets
import time
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from .. import db
from ..errors import NotFound, StatusError

log = logging.getLogger("browsertrain.queue")

JOB_STATES = ("queued", "claimed", "done", "failed", "cancelled", "pruned")
ENDED_STATES = frozenset({"done", "failed", "cancelled", "pruned"})
STOPPED_STATES = ("cancelled", "pruned")  # ended by a user or a pruner: the run is 'stopped'


class QueueError(StatusError, ValueError):
    """A queue request that cannot be honoured as sent (400)."""


class JobNotFound(NotFound):
    """No job with this id (404)."""

    @property
    def detail(self) -> str:
        return f"not found: job {self}"


class WorkerNotFound(NotFound):
    """No worker with this id (404): it never registered here, or registered with another server's database."""

    @property
    def detail(self) -> str:
        return f"not found: worker {self}"


class JobConflict(StatusError):
    """The job's state forbids this (409): a stale attempt, cancelling a done job."""

    status = 409


def stale_attempt(job: dict) -> JobConflict:
    return JobConflict(
        f"job {job['id']} is {job['state']} at attempt {job['attempt']}: "
        "this attempt token is not its current attempt's, so nothing was changed"
    )


def is_current(attempt_token: str | None, job: dict) -> bool:
    """Whether a token a client sent is the job's latest attempt's (in constant time; any characters may arrive)."""
    current = job["attempt_token"]
    if not attempt_token or not current:
        return False
    return secrets.compare_digest(attempt_token.encode("utf-8", "surrogatepass"), current.encode())


def iso(seconds: float | None) -> str | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def now_seconds() -> float:
    return time.time()


def _job_query():
    jobs, runs, workers = db.jobs, db.runs, db.workers
    return select(jobs, runs.c.config, workers.c.name.label("worker_name")).select_from(
        jobs.join(runs, runs.c.id == jobs.c.id).outerjoin(workers, workers.c.id == jobs.c.worker_id)
    )


def job_dict(row, *, with_token: bool = False) -> dict:
    """A job as docs/queue.md shows it; the attempt token only in a claim's answer (and to the queue's own code)."""
    job = dict(row)
    token = job.pop("attempt_token")
    job["run_id"] = job["id"]
    job["lease_expires_at"] = iso(job["lease_expires_at"])
    if with_token:
        job["attempt_token"] = token
    return job


def read_job(conn: Connection, job_id: str, *, with_token: bool = False) -> dict:
    row = conn.execute(_job_query().where(db.jobs.c.id == job_id)).mappings().first()
    if row is None:
        raise JobNotFound(job_id)
    return job_dict(row, with_token=with_token)


def job_rows(conn: Connection, state: str | None, limit: int) -> list[dict]:
    query = _job_query().order_by(db.jobs.c.priority.desc(), db.jobs.c.created_at, db.jobs.c.id).limit(limit)
    if state is not None:
        query = query.where(db.jobs.c.state == state)
    return [job_dict(row) for row in conn.execute(query).mappings()]


def lock_job(conn: Connection, job_id: str) -> dict:
    """The job's row, locked until the transaction ends (PostgreSQL; SQLite's writer lock covers it already);
    JobNotFound (404) for an unknown id."""
    query = select(db.jobs).where(db.jobs.c.id == job_id).with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        raise JobNotFound(job_id)
    return dict(row)


@contextmanager
def write_transaction(engine: Engine):
    """One transaction that changes queue rows. SQLite: BEGIN IMMEDIATE, so writers take turns from the first read
    (a claim's read and its update cannot interleave with another's). PostgreSQL: row locks (FOR UPDATE) do that."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # waits up to db.SQLITE_BUSY_TIMEOUT_SECONDS for another writer
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def set_run_status(conn: Connection, run_id: str, status: str) -> None:
    """The job's run follows its job (docs/queue.md); a finished run is a record and keeps its status."""
    conn.execute(
        update(db.runs)
        .where(db.runs.c.id == run_id, db.runs.c.status != "finished")
        .values(status=status, updated_at=db.now())
    )


def free_worker(conn: Connection, job_id: str) -> None:
    """Whoever held this job holds nothing now."""
    conn.execute(update(db.workers).where(db.workers.c.job_id == job_id).values(job_id=None))


def run_status_for(state: str) -> str | None:
    return {"cancelled": "stopped", "pruned": "stopped", "failed": "failed", "queued": "created"}.get(state)


def job_ended(engine: Engine, job: dict) -> None:
    """Tells the job's sweep (if any) that it ended; called after the change is committed. A sweep's failure is
    logged: the job's own change stands."""
    if job.get("sweep_id") is None or job["state"] not in ENDED_STATES:
        return
    from ..sweeps import hooks

    try:
        hooks.job_ended(engine, job)
    except Exception:
        log.exception("the sweep %s could not take in the end of job %s", job["sweep_id"], job["id"])
