"""A sweep's Optuna study, kept in the server's own database (Optuna's RDB storage on the same SQLAlchemy URL).

Optuna creates its own tables (studies, trials, trial_params, ...) beside ours. It also keeps its schema version in a
table named `alembic_version`, which our own migrations (server/migrations) already hold: the server's migrations
always run first (db.connect), so Optuna finds the table filled and leaves it alone, and its version check, which
would read our revision as its own, is skipped (`skip_compatibility_check`). Optuna is pinned, so its tables stay
as this version makes them.

Trials are asked and told by hand (ask/tell): Optuna's heartbeats stay off, a trial runs as long as its job."""

from __future__ import annotations

import logging
import threading
import weakref

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.storages import RDBStorage
from optuna.trial import FrozenTrial, Trial, TrialState
from sqlalchemy.engine import Engine

from ..db import SQLITE_BUSY_TIMEOUT_SECONDS
from .space import Space

DIRECTION = "maximize"  # the metric is an accuracy
# The median pruner stops a trial whose metric at an epoch is below the median of the finished trials' at that
# epoch, once this many trials have finished, and never at the first epochs (too noisy to judge).
MEDIAN_STARTUP_TRIALS = 2
MEDIAN_WARMUP_STEPS = 1
# TPE samples at random until this many trials have finished (or a third of the sweep, whichever is fewer).
TPE_STARTUP_TRIALS = 10

optuna.logging.set_verbosity(optuna.logging.WARNING)
log = logging.getLogger("browsertrain.sweeps")

_storages: weakref.WeakKeyDictionary[Engine, RDBStorage] = weakref.WeakKeyDictionary()
_storages_lock = threading.Lock()


def storage_for(engine: Engine) -> RDBStorage:
    """Optuna's storage on the database `engine` reaches; one per engine (its start-up checks the tables)."""
    with _storages_lock:
        found = _storages.get(engine)
        if found is None:
            url = engine.url.render_as_string(hide_password=False)
            if engine.dialect.name == "sqlite":
                # Like our engine: wait for another writer's lock instead of failing "database is locked".
                kwargs = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}}
            else:
                kwargs = {"pool_pre_ping": True}
            found = RDBStorage(url, engine_kwargs=kwargs, skip_compatibility_check=True)
            _storages[engine] = found
        return found


def close_storage(engine: Engine) -> None:
    """Close the connections Optuna holds on this engine's database (a test dropping its database needs it)."""
    with _storages_lock:
        found = _storages.pop(engine, None)
    if found is not None:
        found.engine.dispose()


def distributions(space: Space) -> dict[str, BaseDistribution]:
    found: dict[str, BaseDistribution] = {}
    for key, values in {**space.grid, **space.choice}.items():
        found[key] = CategoricalDistribution(values)
    for key, spec in space.random.items():
        if isinstance(spec["low"], int) and isinstance(spec["high"], int):
            found[key] = IntDistribution(spec["low"], spec["high"], log=spec["log"])
        else:
            found[key] = FloatDistribution(float(spec["low"]), float(spec["high"]), log=spec["log"])
    return found


def sampler_for(name: str, space: Space, trials: int, seed: int) -> optuna.samplers.BaseSampler:
    if name == "grid":
        return optuna.samplers.GridSampler({**space.grid, **space.choice}, seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    startup = max(1, min(TPE_STARTUP_TRIALS, trials // 3))
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup)


def pruner_for(name: str) -> optuna.pruners.BasePruner:
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=MEDIAN_STARTUP_TRIALS, n_warmup_steps=MEDIAN_WARMUP_STEPS)
    return optuna.pruners.NopPruner()


def create(engine: Engine, name: str, sampler, pruner) -> optuna.Study:
    return optuna.create_study(
        storage=storage_for(engine), study_name=name, direction=DIRECTION, sampler=sampler, pruner=pruner
    )


def load(engine: Engine, name: str, sampler=None, pruner=None) -> optuna.Study:
    return optuna.load_study(storage=storage_for(engine), study_name=name, sampler=sampler, pruner=pruner)


def delete(engine: Engine, name: str) -> None:
    optuna.delete_study(storage=storage_for(engine), study_name=name)


def trial_of(engine: Engine, study: optuna.Study, number: int) -> Trial:
    """The live trial `number` of the study (to report to and ask whether to prune)."""
    storage = storage_for(engine)
    trial_id = storage.get_trial_id_from_study_id_trial_number(storage.get_study_id_from_name(study.study_name), number)
    return Trial(study, trial_id)


def frozen_trials(study: optuna.Study) -> dict[int, FrozenTrial]:
    return {t.number: t for t in study.get_trials(deepcopy=False)}


def is_finished(study: optuna.Study, number: int) -> bool:
    trial = frozen_trials(study).get(number)
    return trial is None or trial.state.is_finished()


def tell(study: optuna.Study, number: int, value: float | None, state: TrialState) -> None:
    """Tell the trial its end once: a trial already told (pruned before its job ended) is left as it is."""
    if is_finished(study, number):
        return
    if state == TrialState.COMPLETE:
        study.tell(number, value)
    else:
        study.tell(number, state=state)
