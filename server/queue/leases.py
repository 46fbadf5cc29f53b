"""Jobs from the workers' side: claim under a lease, heartbeat, complete, and the reaper that takes back expired
leases (docs/queue.md). Every change is conditional on the attempt token: only the current attempt counts."""

from __future__ import annotations

import secrets

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from .. import db
from ..limits import MAX_JOB_ERROR_CHARS
from .store import (
    STOPPED_STATES,
    JobNotFound,
    QueueError,
    free_worker,
    is_current,
    iso,
    job_ended,
    lock_job,
    now_seconds,
    read_job,
    run_status_for,
    set_run_status,
    stale_attempt,
    write_transaction,
)
from .workers import touch_worker

COMPLETE_STATUSES = ("finished", "failed", "stopped")


def fits(requirements: dict, device: dict) -> bool:
    """Whether a worker with this device may take a job with these requirements."""
    backend = requirements.get("backend")
    if backend is not None and backend not in (device.get("backends") or [device.get("backend")]):
        return False
    least = requirements.get("min_images_per_second")
    return least is None or (device.get("images_per_second") or 0) >= least


def claim(engine: Engine, worker_id: str, lease_seconds: float) -> dict | None:
    """The highest-priority, oldest queued job that fits the worker's device, claimed by it with a fresh attempt
    token (in the answer), or None. Runs the reaper first, so an expired lease is claimable at once."""
    reap(engine)
    with write_transaction(engine) as conn:
        worker = touch_worker(conn, worker_id)
        candidates = conn.execute(
            select(db.jobs.c.id, db.jobs.c.requirements)
            .where(db.jobs.c.state == "queued")
            .order_by(db.jobs.c.priority.desc(), db.jobs.c.created_at, db.jobs.c.id)
        ).all()
        for job_id, requirements in candidates:
            if fits(requirements or {}, worker["device"]) and _take(conn, job_id, worker_id, lease_seconds):
                return read_job(conn, job_id, with_token=True)
    return None


def _take(conn: Connection, job_id: str, worker_id: str, lease_seconds: float) -> bool:
    """Claims this job if it is still queued and no other transaction holds it (PostgreSQL: SKIP LOCKED)."""
    locked = conn.execute(
        select(db.jobs.c.attempt)
        .where(db.jobs.c.id == job_id, db.jobs.c.state == "queued")
        .with_for_update(skip_locked=True)
        .limit(1)
    ).first()
    if locked is None:
        return False
    conn.execute(
        update(db.jobs)
        .where(db.jobs.c.id == job_id)
        .values(
            state="claimed",
            attempt=locked.attempt + 1,
            attempt_token=secrets.token_urlsafe(32),
            worker_id=worker_id,
            lease_expires_at=now_seconds() + lease_seconds,
            updated_at=db.now(),
        )
    )
    conn.execute(update(db.workers).where(db.workers.c.id == worker_id).values(job_id=job_id))
    return True


def heartbeat(
    engine: Engine,
    worker_id: str,
    job_id: str | None,
    attempt_token: str | None,
    progress: dict | None,
    lease_seconds: float,
) -> dict:
    """The worker is alive; with its job and token, the lease is extended. A job the user cancelled or a pruner
    pruned while this attempt held it answers cancel: true; any other stale attempt is a 409."""
    with write_transaction(engine) as conn:
        if job_id is None:
            touch_worker(conn, worker_id)
            return {"lease_expires_at": None, "cancel": False}
        # The job's row first, then the worker's: the order complete, cancel and the reaper take them in. The other
        # order let a heartbeat still on the wire and its worker's complete wait on each other (a PostgreSQL deadlock,
        # answered 500, that left the finished run's job claimed for good).
        try:
            job = lock_job(conn, job_id)
        except JobNotFound:
            touch_worker(conn, worker_id)  # an unknown worker is the 404 to give, before an unknown job
            raise
        touch_worker(conn, worker_id)
        current = is_current(attempt_token, job)
        if current and job["state"] in STOPPED_STATES:
            return {"lease_expires_at": None, "cancel": True}
        if not current or job["state"] != "claimed" or job["worker_id"] != worker_id:
            conn.commit()  # the worker was seen, even so
            raise stale_attempt(job)
        lease = now_seconds() + lease_seconds
        conn.execute(update(db.jobs).where(db.jobs.c.id == job_id).values(lease_expires_at=lease))
        conn.execute(update(db.workers).where(db.workers.c.id == worker_id).values(progress=progress, job_id=job_id))
        return {"lease_expires_at": iso(lease), "cancel": False}


def complete(engine: Engine, job_id: str, attempt_token: str, status: str, error: str | None = None) -> dict:
    """The attempt's end as its worker reports it: finished -> done; failed -> queued again while attempts are left
    (last_error kept), else failed; stopped -> cancelled (a pruned job stays pruned). Repeating the call answers the
    same; a token that is not the job's latest attempt's: 409."""
    if status not in COMPLETE_STATUSES:
        raise QueueError(f"status must be one of {', '.join(COMPLETE_STATUSES)}")
    with write_transaction(engine) as conn:
        job = lock_job(conn, job_id)
        if not is_current(attempt_token, job):
            raise stale_attempt(job)
        if job["state"] != "claimed":
            return read_job(conn, job_id)  # a repeat, or a stop the server asked for: already recorded
        state = _ended_state(job, status)
        values = {"state": state, "lease_expires_at": None, "updated_at": db.now()}
        if error is not None:
            values["last_error"] = error[:MAX_JOB_ERROR_CHARS]
        if state == "queued":
            values["worker_id"] = None
        conn.execute(update(db.jobs).where(db.jobs.c.id == job_id).values(**values))
        free_worker(conn, job_id)
        if (run_status := run_status_for(state)) is not None:
            set_run_status(conn, job_id, run_status)
        ended = read_job(conn, job_id)
    job_ended(engine, ended)
    return ended


def _ended_state(job: dict, status: str) -> str:
    if status == "finished":
        return "done"
    if status == "stopped":
        return "cancelled"
    return "queued" if job["attempt"] < job["max_attempts"] else "failed"


def reap(engine: Engine, now: float | None = None) -> int:
    """Takes back every claim whose lease expired: queued again, or failed after max_attempts claims. Returns how
    many it took back. Each update is conditional on the token read, so two servers reaping at once take a job back
    once."""
    ended = reap_jobs(engine, now)
    for job in ended:
        job_ended(engine, job)
    return len(ended)


def reap_jobs(engine: Engine, now: float | None = None) -> list[dict]:
    """reap's work, without telling the sweeps: the jobs it took back, as they are now."""
    now = now_seconds() if now is None else now
    with engine.connect() as conn:
        expired = conn.execute(
            select(db.jobs.c.id, db.jobs.c.attempt_token, db.jobs.c.attempt, db.jobs.c.max_attempts, db.runs.c.status)
            .join(db.runs, db.runs.c.id == db.jobs.c.id)
            .where(db.jobs.c.state == "claimed", db.jobs.c.lease_expires_at < now)
        ).all()
    taken = []
    for job_id, token, attempt, max_attempts, run_status in expired:
        # A run its attempt finished is done, even if the worker's complete never arrived (it died, or the network
        # did, after the run's last PATCH): re-issued, it could never run again, since a finished run never changes.
        state = "done" if run_status == "finished" else "queued" if attempt < max_attempts else "failed"
        with write_transaction(engine) as conn:
            values = {"state": state, "lease_expires_at": None, "updated_at": db.now()}
            if state != "done":  # a done job keeps the worker that trained it, as a completed one does
                values |= {
                    "attempt_token": None,
                    "worker_id": None,
                    "last_error": f"attempt {attempt}: no heartbeat before its lease expired",
                }
            changed = conn.execute(
                update(db.jobs)
                .where(db.jobs.c.id == job_id, db.jobs.c.state == "claimed", db.jobs.c.attempt_token == token)
                .values(**values)
            ).rowcount
            if changed:
                free_worker(conn, job_id)
                if (status := run_status_for(state)) is not None:
                    set_run_status(conn, job_id, status)
                taken.append(read_job(conn, job_id))
    return taken
