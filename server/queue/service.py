"""The queue's functions in one place for callers (routes, sweeps, CLI): jobs, leases, workers, the attempt check."""

from __future__ import annotations

from .attempts import ATTEMPT_HEADER, check_attempt, epoch_recorded
from .jobs import cancel, enqueue, get_job, list_jobs, set_priority
from .leases import claim, complete, fits, heartbeat, reap
from .store import JOB_STATES, JobConflict, JobNotFound, QueueError, WorkerNotFound
from .workers import get_worker, list_workers, register_worker

__all__ = [
    "ATTEMPT_HEADER",
    "JOB_STATES",
    "JobConflict",
    "JobNotFound",
    "QueueError",
    "WorkerNotFound",
    "cancel",
    "check_attempt",
    "claim",
    "complete",
    "enqueue",
    "epoch_recorded",
    "fits",
    "get_job",
    "get_worker",
    "heartbeat",
    "list_jobs",
    "list_workers",
    "reap",
    "register_worker",
    "set_priority",
]
