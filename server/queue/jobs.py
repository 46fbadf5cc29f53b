"""Jobs from the user's side: enqueue (a run and its job, together or not at all), list, read, reprioritise, cancel."""

from __future__ import annotations

import json
import numbers

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine

from .. import db
from ..datasets.importer import load_manifest
from ..limits import (
    DEFAULT_MAX_ATTEMPTS,
    MAX_ATTEMPTS,
    MAX_JOB_PRIORITY,
    MAX_JOB_REQUIREMENTS_BYTES,
    MAX_QUEUE_LIST,
)
from ..runs import service as runs
from ..runs.train_config import settings_of
from ..storage import Storage
from .store import (
    ENDED_STATES,
    JOB_STATES,
    STOPPED_STATES,
    JobConflict,
    QueueError,
    free_worker,
    job_ended,
    job_rows,
    lock_job,
    read_job,
    set_run_status,
    write_transaction,
)

# What a job may require of its worker's device (docs/queue.md, Requirements), and the type each takes.
REQUIREMENT_TYPES = {"backend": str, "min_images_per_second": numbers.Real}


def checked_requirements(requirements: dict | None) -> dict:
    requirements = dict(requirements or {})
    for key, value in requirements.items():
        wanted = REQUIREMENT_TYPES.get(key)
        if wanted is None:
            raise QueueError(f"unknown requirement {key!r}; a job may require {', '.join(REQUIREMENT_TYPES)}")
        if not isinstance(value, wanted) or isinstance(value, bool):
            raise QueueError(f"requirement {key!r} must be a {'string' if wanted is str else 'number'}")
    if len(json.dumps(requirements)) > MAX_JOB_REQUIREMENTS_BYTES:
        raise QueueError(f"requirements may be at most {MAX_JOB_REQUIREMENTS_BYTES:,} bytes of JSON")
    return requirements


def _checked_priority(priority) -> int:
    if not isinstance(priority, int) or isinstance(priority, bool) or abs(priority) > MAX_JOB_PRIORITY:
        raise QueueError(f"priority must be an integer from {-MAX_JOB_PRIORITY:,} to {MAX_JOB_PRIORITY:,}")
    return priority


def enqueue(
    engine: Engine,
    storage: Storage,
    *,
    dataset: str,
    config: dict,
    priority: int = 0,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    requirements: dict | None = None,
    sweep_id: str | None = None,
    params: dict | None = None,
    trial_number: int | None = None,
) -> dict:
    """A run (status 'created', kind 'train', its config as given) and its queued job, both or neither."""
    priority = _checked_priority(priority)
    if not isinstance(max_attempts, int) or isinstance(max_attempts, bool) or not 1 <= max_attempts <= MAX_ATTEMPTS:
        raise QueueError(f"max_attempts must be an integer from 1 to {MAX_ATTEMPTS}")
    requirements = checked_requirements(requirements)
    if not isinstance(config, dict):
        raise QueueError("config must be an object (the train page's run config)")
    manifest = load_manifest(storage, dataset)
    task, dataset_task = settings_of(config).task, manifest.get("task", "classification")
    if task != dataset_task:
        raise QueueError(f"dataset {dataset!r} is a {dataset_task} set, but config.task is {task!r}")
    run = runs.create_run(
        engine, storage, dataset=dataset, dataset_hash=manifest["hash"], kind="train", config=config, info={}
    )
    row = {
        "id": run["id"],
        "dataset": dataset,
        "state": "queued",
        "priority": priority,
        "attempt": 0,
        "max_attempts": max_attempts,
        "attempt_token": None,
        "worker_id": None,
        "lease_expires_at": None,
        "requirements": requirements,
        "sweep_id": sweep_id,
        "params": params,
        "trial_number": trial_number,
        "last_error": None,
        "created_at": run["created_at"],
        "updated_at": run["created_at"],
    }
    try:
        with db.full_disk("the job was not queued"), engine.begin() as conn:
            conn.execute(db.jobs.insert().values(**row))
            return read_job(conn, run["id"])
    except BaseException:
        _forget_run(engine, storage, run["id"])
        raise


def _forget_run(engine: Engine, storage: Storage, run_id: str) -> None:
    """Takes back a run whose job could not be stored: its row and its (still empty) folder."""
    with engine.begin() as conn:
        conn.execute(delete(db.runs).where(db.runs.c.id == run_id))
    storage.run_dir(run_id).rmdir()


def get_job(engine: Engine, job_id: str) -> dict:
    with engine.connect() as conn:
        return read_job(conn, job_id)


def list_jobs(engine: Engine, state: str | None = None) -> list[dict]:
    """Highest priority first, then oldest."""
    if state is not None and state not in JOB_STATES:
        raise QueueError(f"state must be one of {', '.join(JOB_STATES)}")
    with engine.connect() as conn:
        return job_rows(conn, state, MAX_QUEUE_LIST)


def set_priority(engine: Engine, job_id: str, priority: int) -> dict:
    priority = _checked_priority(priority)
    with write_transaction(engine) as conn:
        lock_job(conn, job_id)
        conn.execute(update(db.jobs).where(db.jobs.c.id == job_id).values(priority=priority, updated_at=db.now()))
        return read_job(conn, job_id)


def cancel(engine: Engine, storage: Storage | None, job_id: str, state: str = "cancelled") -> dict:
    """Ends a queued or claimed job as 'cancelled' (a user) or 'pruned' (a sweep's pruner); its run is 'stopped'.
    The attempt token stays, so the attempt that held it hears `cancel: true` at its next heartbeat. Cancelling an
    already cancelled or pruned job answers it unchanged; a done or failed job: 409. (storage: not needed yet.)"""
    if state not in STOPPED_STATES:
        raise QueueError(f"a job is stopped as one of {', '.join(STOPPED_STATES)}")
    with write_transaction(engine) as conn:
        job = lock_job(conn, job_id)
        if job["state"] in STOPPED_STATES:
            return read_job(conn, job_id)
        if job["state"] in ENDED_STATES:
            raise JobConflict(f"job {job_id} is {job['state']}: only a queued or claimed job can be stopped")
        conn.execute(
            update(db.jobs)
            .where(db.jobs.c.id == job_id)
            .values(state=state, lease_expires_at=None, updated_at=db.now())
        )
        free_worker(conn, job_id)
        set_run_status(conn, job_id, "stopped")
        ended = read_job(conn, job_id)
    job_ended(engine, ended)
    return ended
