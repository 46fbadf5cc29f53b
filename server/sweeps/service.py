"""Sweeps (docs/queue.md, Sweeps): create one (check, make its Optuna study, enqueue its first trials), ask for more
when a TPE trial ends, and describe one with its trials and the best.

A sweep row holds the base config, the search space and the study's name; each trial is one queued job whose
`params` are the trial's and whose `trial_number` is its Optuna trial. Bad input is refused (SweepError, 400, or
NotFound for a missing dataset) before anything is written: no sweep row, no study, no job."""

from __future__ import annotations

import json
import threading
import weakref
from contextlib import contextmanager

from optuna.trial import TrialState
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from .. import db
from ..datasets.importer import load_manifest
from ..errors import NotFound
from ..limits import MAX_QUEUE_LIST, MAX_RUN_CONFIG_BYTES, MAX_SWEEP_PARALLEL, MAX_SWEEP_TRIALS
from ..storage import Storage, new_run_id
from . import study as studies
from .space import Space, SweepError, check_space, trial_config

SAMPLERS = ("grid", "random", "tpe")
PRUNERS = ("median", "none")
METRICS = ("val_accuracy",)
DEFAULT_TRIALS = 10  # random and TPE sweeps without a trial count
DEFAULT_PARALLEL = 2  # TPE: trials queued or running at once
ENDED = frozenset({"done", "failed", "cancelled", "pruned"})
STUDY_PREFIX = "browsertrain-sweep-"


class SweepNotFound(NotFound):
    """No sweep with this id (404)."""


# The storage (data folder) of the server whose engine this is: the queue tells a sweep that a job ended with the
# engine alone, and a TPE sweep then enqueues its next trial, whose run needs a folder.
_storages: weakref.WeakKeyDictionary[Engine, Storage] = weakref.WeakKeyDictionary()
_storages_lock = threading.Lock()


def bind_storage(engine: Engine, storage: Storage) -> None:
    with _storages_lock:
        _storages[engine] = storage


def bound_storage(engine: Engine) -> Storage | None:
    with _storages_lock:
        return _storages.get(engine)


def _choose(name: str, value, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise SweepError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _count(name: str, value, cap: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= cap:
        raise SweepError(f"{name} must be a whole number from 1 to {cap}, not {value!r}")
    return value


def _plan(space: Space, sampler: str | None, trials: int | None) -> tuple[str, int]:
    """The sampler (grid unless a range is asked for) and how many trials the sweep trains."""
    sampler = _choose("sampler", sampler or ("random" if space.random else "grid"), SAMPLERS)
    if sampler != "grid":
        return sampler, _count("trials", DEFAULT_TRIALS if trials is None else trials, MAX_SWEEP_TRIALS)
    if space.random:
        raise SweepError(f"a grid sweep lists every value; {', '.join(space.random)} take a range: use random or tpe")
    size = space.grid_size()
    if size > MAX_SWEEP_TRIALS:
        raise SweepError(f"the grid has {size} combinations; a sweep trains at most {MAX_SWEEP_TRIALS}")
    if trials is not None and trials != size:
        raise SweepError(f"a grid sweep trains every combination ({size}); leave out trials or make it {size}")
    return sampler, size


def _check_config(config, space: Space) -> dict:
    if not isinstance(config, dict):
        raise SweepError("config must be a JSON object (the run config every trial starts from)")
    widest = trial_config(config, {key: _widest(space, key) for key in space.keys})
    if len(json.dumps(widest)) > MAX_RUN_CONFIG_BYTES:
        raise SweepError(f"config is larger than {MAX_RUN_CONFIG_BYTES:,} bytes")
    return config


def _widest(space: Space, key: str):
    if key in space.random:
        return space.random[key]["high"]
    return max({**space.grid, **space.choice}[key], key=lambda value: len(json.dumps(value)))


def create_sweep(
    engine: Engine,
    storage: Storage,
    *,
    dataset: str,
    config: dict,
    grid: dict | None = None,
    random: dict | None = None,
    choice: dict | None = None,
    trials: int | None = None,
    sampler: str | None = None,
    pruner: str = "median",
    metric: str = "val_accuracy",
    parallel: int = DEFAULT_PARALLEL,
    seed: int = 0,
) -> dict:
    """Check everything, make the study, ask and enqueue the first trials (all of them for grid and random, `parallel`
    for TPE); answers get_sweep's shape."""
    space = check_space(grid, random, choice)
    sampler, planned = _plan(space, sampler, trials)
    pruner = _choose("pruner", pruner, PRUNERS)
    metric = _choose("metric", metric, METRICS)
    parallel = _count("parallel", parallel, MAX_SWEEP_PARALLEL)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise SweepError(f"seed must be an integer, not {seed!r}")
    config = _check_config(config, space)
    load_manifest(storage, dataset)  # NotFound (404) for a missing dataset
    bind_storage(engine, storage)

    sweep_id = new_run_id()
    row = {
        "id": sweep_id,
        "dataset": dataset,
        "config": config,
        "space": {**space.as_json(), "seed": seed},
        "sampler": sampler,
        "pruner": pruner,
        "metric": metric,
        "trials": planned,
        "parallel": parallel,
        "study_name": STUDY_PREFIX + sweep_id,
        "created_at": db.now(),
    }
    study = studies.create(engine, row["study_name"], _sampler(row, 0), studies.pruner_for(pruner))
    try:
        with db.full_disk("the sweep was not created"), engine.begin() as conn:
            conn.execute(db.sweeps.insert().values(**row))
        first = planned if sampler != "tpe" else min(parallel, planned)
        with _asking_for(engine, sweep_id):  # a first trial that ends at once asks for its successor after these
            for _ in range(first):
                _ask_and_enqueue(engine, storage, row, study)
    except BaseException:
        _undo(engine, storage, row)
        raise
    return get_sweep(engine, sweep_id)


def _sampler(row: dict, asked: int):
    """The row's sampler, seeded per ask: a TPE study is loaded afresh for each later ask, and the same seed would
    make its random start-up suggest the same params again."""
    return studies.sampler_for(row["sampler"], _space(row), row["trials"], row["space"]["seed"] + asked)


def _space(row: dict) -> Space:
    return Space(row["space"]["grid"], row["space"]["random"], row["space"]["choice"])


def _ask_and_enqueue(engine: Engine, storage: Storage, row: dict, study) -> dict:
    from ..queue.service import enqueue  # the queue calls back into sweeps (hooks): imported when used

    trial = study.ask(studies.distributions(_space(row)))
    params = dict(trial.params)
    try:
        return enqueue(
            engine,
            storage,
            dataset=row["dataset"],
            config=trial_config(row["config"], params),
            sweep_id=row["id"],
            params=params,
            trial_number=trial.number,
        )
    except BaseException:
        studies.tell(study, trial.number, None, TrialState.FAIL)  # no job will ever train it
        raise


def _undo(engine: Engine, storage: Storage, row: dict) -> None:
    """A sweep whose trials could not all be enqueued leaves nothing behind: its jobs cancelled, its row and study
    gone."""
    from ..queue.service import cancel

    with engine.begin() as conn:  # first: the queue's hooks then find no sweep to tell (or to ask more for)
        conn.execute(delete(db.sweeps).where(db.sweeps.c.id == row["id"]))
    with engine.connect() as conn:
        job_ids = list(conn.execute(select(db.jobs.c.id).where(db.jobs.c.sweep_id == row["id"])).scalars())
    for job_id in job_ids:
        cancel(engine, storage, job_id)
    studies.delete(engine, row["study_name"])


# Two trials of one sweep that end at once (two workers: the server's threads, or two servers) must not both ask
# for the same free places: asking is one at a time per process, and on PostgreSQL also holds the sweep's row.
# (SQLite's writer lock cannot be held here: the enqueue writes through connections of its own.)
_asking = threading.RLock()


@contextmanager
def _asking_for(engine: Engine, sweep_id: str):
    with _asking, engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(select(db.sweeps.c.id).where(db.sweeps.c.id == sweep_id).with_for_update())
        try:
            yield
        finally:
            conn.rollback()


def ask_more(engine: Engine, storage: Storage | None, row: dict) -> list[dict]:
    """TPE: ask and enqueue trials while fewer than `parallel` are queued or running and the sweep has trials left."""
    if row["sampler"] != "tpe":
        return []
    storage = storage or bound_storage(engine)
    if storage is None:
        raise RuntimeError(f"sweep {row['id']}: no data folder known to enqueue its next trial in")
    enqueued = []
    with _asking_for(engine, row["id"]):
        states = _job_states(engine, row["id"])
        in_flight = sum(state not in ENDED for state in states)
        for asked in range(len(states), min(row["trials"], len(states) + row["parallel"] - in_flight)):
            study = studies.load(engine, row["study_name"], _sampler(row, asked), studies.pruner_for(row["pruner"]))
            enqueued.append(_ask_and_enqueue(engine, storage, row, study))
    return enqueued


def _job_states(engine: Engine, sweep_id: str) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(db.jobs.c.state).where(db.jobs.c.sweep_id == sweep_id)).scalars())


def sweep_row(engine: Engine, sweep_id: str) -> dict:
    with engine.connect() as conn:
        row = conn.execute(select(db.sweeps).where(db.sweeps.c.id == sweep_id)).mappings().first()
    if row is None:
        raise SweepNotFound(f"no sweep {sweep_id!r}")
    return dict(row)


def _trials(engine: Engine, sweep_id: str) -> list[dict]:
    query = (
        select(
            db.jobs.c.id,
            db.jobs.c.state,
            db.jobs.c.params,
            db.jobs.c.trial_number,
            db.runs.c.epochs_done,
            db.runs.c.summary,
        )
        .join(db.runs, db.runs.c.id == db.jobs.c.id)
        .where(db.jobs.c.sweep_id == sweep_id)
        .order_by(db.jobs.c.trial_number)
    )
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def _status(states: list[str], planned: int) -> str:
    if states and all(state in ENDED for state in states) and len(states) >= planned:
        return "done"
    if all(state == "queued" for state in states):
        return "queued"
    return "running"


def _metric_of(job: dict, metric: str, reported: dict[int, float]) -> float | None:
    """The run's summary value once it has one, else the last epoch value reported to its trial."""
    value = (job["summary"] or {}).get(metric)
    if value is None and reported:
        value = reported[max(reported)]
    return value


def get_sweep(engine: Engine, sweep_id: str) -> dict:
    """{sweep_id, status, dataset, sampler, pruner, metric, planned, parallel, space, config, created_at,
    trials: [{run_id, trial_number, params, status, epochs_done, val_accuracy}], best: a trial or None}."""
    row = sweep_row(engine, sweep_id)
    study = studies.load(engine, row["study_name"])
    frozen = studies.frozen_trials(study)
    trials = []
    for job in _trials(engine, sweep_id):
        told = frozen.get(job["trial_number"])
        reported = told.intermediate_values if told else {}
        trials.append(
            {
                "run_id": job["id"],
                "trial_number": job["trial_number"],
                "params": job["params"],
                "status": job["state"],
                "epochs_done": job["epochs_done"],
                row["metric"]: _metric_of(job, row["metric"], reported),
            }
        )
    finished = [t for t in trials if t["status"] == "done" and t[row["metric"]] is not None]
    return {
        **_describe(row),
        "status": _status([t["status"] for t in trials], row["trials"]),
        "trials": trials,
        "best": max(finished, key=lambda t: t[row["metric"]], default=None),
    }


def _describe(row: dict) -> dict:
    return {
        "sweep_id": row["id"],
        "dataset": row["dataset"],
        "sampler": row["sampler"],
        "pruner": row["pruner"],
        "metric": row["metric"],
        "planned": row["trials"],
        "parallel": row["parallel"],
        "space": row["space"],
        "config": row["config"],
        "created_at": row["created_at"],
    }


def list_sweeps(engine: Engine) -> list[dict]:
    """The newest sweeps first, each with its status and its trials' counts by state (no Optuna reads)."""
    with engine.connect() as conn:
        rows = conn.execute(select(db.sweeps).order_by(db.sweeps.c.created_at.desc()).limit(MAX_QUEUE_LIST))
        rows = [dict(r) for r in rows.mappings()]
    answers = []
    for row in rows:
        states = _job_states(engine, row["id"])
        counts = {state: states.count(state) for state in sorted(set(states))}
        answers.append({**_describe(row), "status": _status(states, row["trials"]), "trial_states": counts})
    return answers
