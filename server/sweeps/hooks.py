"""What the queue tells a sweep: a trial's epoch was recorded, a trial's job ended (docs/queue.md, Sweeps).

An epoch's metric is reported to the trial (step = epoch); when the pruner says so the job becomes `pruned` (its run
`stopped`, the worker's next heartbeat answers cancel). A job's end is told to its trial: its value when done, FAIL
when failed, PRUNED when pruned (or cancelled after some epochs were reported); a TPE sweep then asks for the next.
A hook never fails the queue's own request: what goes wrong is logged."""

from __future__ import annotations

import logging

from optuna.trial import TrialState
from sqlalchemy.engine import Engine

from ..storage import Storage
from . import service, study as studies

log = logging.getLogger("browsertrain.sweeps")


def _sweep_of(engine: Engine, job: dict) -> dict | None:
    if not job.get("sweep_id") or job.get("trial_number") is None:
        return None
    try:
        return service.sweep_row(engine, job["sweep_id"])
    except service.SweepNotFound:
        return None  # a sweep being undone (service._undo) cancels its jobs after its row is gone


def epoch_recorded(engine: Engine, job: dict, record: dict, storage: Storage | None = None) -> None:
    """Called by the queue after an epoch record of a sweep trial's run was stored (job["sweep_id"] is set)."""
    try:
        _report(engine, job, record, storage)
    except Exception:
        log.exception("sweep %s: the epoch of trial %s was not reported", job.get("sweep_id"), job.get("trial_number"))


def _report(engine: Engine, job: dict, record: dict, storage: Storage | None) -> None:
    sweep = _sweep_of(engine, job)
    value = record.get(sweep["metric"]) if sweep else None
    if sweep is None or value is None or not isinstance(record.get("epoch"), int):
        return
    study = studies.load(engine, sweep["study_name"], pruner=studies.pruner_for(sweep["pruner"]))
    number = job["trial_number"]
    if studies.is_finished(study, number):
        return
    trial = studies.trial_of(engine, study, number)
    trial.report(float(value), step=record["epoch"])
    if trial.should_prune():
        studies.tell(study, number, None, TrialState.PRUNED)
        _prune(engine, storage, job["id"])


def _prune(engine: Engine, storage: Storage | None, job_id: str) -> None:
    from ..queue.service import cancel  # the queue imports these hooks: imported when used

    cancel(engine, storage or service.bound_storage(engine), job_id, state="pruned")


def job_ended(engine: Engine, job: dict, storage: Storage | None = None) -> None:
    """Called by the queue after a sweep trial's job reached done, failed, cancelled or pruned."""
    try:
        sweep = _sweep_of(engine, job)
        if sweep is None:
            return
        _tell(engine, sweep, job)
        service.ask_more(engine, storage, sweep)
    except Exception:
        log.exception("sweep %s: the end of trial %s was not told", job.get("sweep_id"), job.get("trial_number"))


def _tell(engine: Engine, sweep: dict, job: dict) -> None:
    study = studies.load(engine, sweep["study_name"])
    number = job["trial_number"]
    frozen = studies.frozen_trials(study).get(number)
    reported = frozen.intermediate_values if frozen else {}
    state = job["state"]
    if state == "done":
        value = _final_value(engine, job["id"], sweep["metric"], reported)
        if value is None:
            studies.tell(study, number, None, TrialState.FAIL)
        else:
            studies.tell(study, number, value, TrialState.COMPLETE)
    elif state == "pruned" or (state == "cancelled" and reported):
        studies.tell(study, number, None, TrialState.PRUNED)
    elif state in ("failed", "cancelled"):
        studies.tell(study, number, None, TrialState.FAIL)


def _final_value(engine: Engine, run_id: str, metric: str, reported: dict[int, float]) -> float | None:
    """The run's summary value, else the best epoch value reported to its trial."""
    from ..runs.service import get_run

    value = (get_run(engine, run_id)["summary"] or {}).get(metric)
    if value is None and reported:
        value = max(reported.values())
    return None if value is None else float(value)
