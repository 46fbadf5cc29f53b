"""The attempt check on a job's run (docs/queue.md, Attempt tokens): only the current attempt's worker writes to it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine

from .. import db
from .store import JobConflict, is_current, log

ATTEMPT_HEADER = "X-Browsertrain-Attempt"


def check_attempt(engine: Engine, run_id: str, attempt_token: str | None) -> dict | None:
    """None for a run that is not a job. For a job's run: the job when `attempt_token` is its current attempt's and
    the job is claimed, else a 409 naming the job and its attempt (the caller has changed nothing yet)."""
    with engine.connect() as conn:
        row = conn.execute(select(db.jobs).where(db.jobs.c.id == run_id)).mappings().first()
    if row is None:
        return None
    job = dict(row)
    if job["state"] == "claimed" and is_current(attempt_token, job):
        return job
    given = "no attempt header" if not attempt_token else "another attempt's token"
    raise JobConflict(
        f"run {run_id} is job {run_id}, {job['state']} at attempt {job['attempt']}; this request carries {given} "
        f"(header {ATTEMPT_HEADER}), so nothing was changed"
    )


def epoch_recorded(engine: Engine, job: dict | None, record: dict) -> None:
    """Tells a sweep trial's sweep that an epoch record of its run was stored. A sweep's failure is logged: the
    record is stored either way."""
    if job is None or job.get("sweep_id") is None:
        return
    from ..sweeps import hooks

    try:
        hooks.epoch_recorded(engine, job, record)
    except Exception:
        log.exception("the sweep %s could not take in an epoch of job %s", job["sweep_id"], job["id"])
