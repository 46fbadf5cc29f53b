"""Sweeps through the real API on SQLite and on PostgreSQL: a grid enqueues its product, random stays in its ranges,
TPE asks for the next trial when one ends, the median pruner stops a poor trial, and bad input writes nothing."""

from __future__ import annotations

import math
import threading

import optuna
import pytest
from support.sweep_steps import BASE, claim, create, finish, jobs_of, post_epochs, sweep, train, worker

from server.sweeps.study import storage_for


def test_a_two_by_two_grid_enqueues_four_trials_with_their_params_in_their_configs(sclient):
    made = create(sclient, grid={"batchSize": [8, 16], "model.width": [4, 8]}, pruner="none")
    assert made["sampler"] == "grid" and made["planned"] == 4 and made["status"] == "queued"
    jobs = jobs_of(sclient, made["sweep_id"])
    assert sorted((j["params"]["batchSize"], j["params"]["model.width"]) for j in jobs) == [
        (8, 4),
        (8, 8),
        (16, 4),
        (16, 8),
    ]
    for job in jobs:
        params = job["params"]
        assert job["state"] == "queued" and job["dataset"] == "shapes"
        assert job["config"] == {**BASE, "batchSize": params["batchSize"], "model": {"width": params["model.width"]}}
        run = sclient.get(f"/api/runs/{job['id']}").json()
        assert run["config"] == job["config"] and run["status"] == "created"
    shown = sweep(sclient, made["sweep_id"])
    assert [t["run_id"] for t in shown["trials"]] == [j["id"] for j in jobs]
    assert all(t["status"] == "queued" and t["val_accuracy"] is None for t in shown["trials"])
    assert shown["best"] is None
    listed = sclient.get("/api/sweeps").json()["sweeps"]
    assert [(s["sweep_id"], s["trial_states"]) for s in listed] == [(made["sweep_id"], {"queued": 4})]


def test_random_trials_stay_in_their_ranges_and_a_log_range_spreads_over_its_decades(sclient):
    made = create(
        sclient,
        random={"lr": {"low": 1e-5, "high": 1e-1, "log": True}, "model-width": {"low": 2, "high": 9}},
        choice={"augment.flip": [True, False]},
        trials=5,
    )
    assert made["sampler"] == "random" and made["planned"] == 5
    jobs = jobs_of(sclient, made["sweep_id"])
    assert len(jobs) == 5
    lrs = [j["params"]["lr"] for j in jobs]
    assert all(1e-5 <= lr <= 1e-1 for lr in lrs)
    # Uniform on [1e-5, 0.1], a draw under 1e-2 has odds of 1 in 10; spread over the four decades, 3 in 4.
    assert sum(lr < 1e-2 for lr in lrs) >= 3, lrs
    assert len({round(math.log10(lr)) for lr in lrs}) >= 2, lrs
    for job in jobs:
        width, flip = job["params"]["model.width"], job["params"]["augment.flip"]
        assert isinstance(width, int) and 2 <= width <= 9 and isinstance(flip, bool)
        assert job["config"]["model"] == {"width": width} and job["config"]["augment"] == {"flip": flip}
        assert job["config"]["lr"] == job["params"]["lr"]


def test_tpe_keeps_parallel_trials_in_flight_and_asks_for_the_next_when_one_ends(sclient):
    made = create(sclient, sampler="tpe", random={"lr": {"low": 1e-4, "high": 1e-1, "log": True}}, trials=3, parallel=2)
    sweep_id = made["sweep_id"]
    assert len(jobs_of(sclient, sweep_id)) == 2
    tab = worker(sclient)
    first = train(sclient, tab, [0.5, 0.7])
    jobs = jobs_of(sclient, sweep_id)
    assert len(jobs) == 3 and sum(j["state"] == "queued" for j in jobs) == 2
    assert jobs[-1]["trial_number"] == 2 and jobs[-1]["params"]["lr"] != first["params"]["lr"]
    second = train(sclient, tab, [0.6, 0.9])
    assert len(jobs_of(sclient, sweep_id)) == 3  # three trials planned, three asked
    assert sweep(sclient, sweep_id)["status"] == "running"
    third = claim(sclient, tab)
    post_epochs(sclient, third, [0.2])
    finish(sclient, third, 0.4)
    done = sweep(sclient, sweep_id)
    assert done["status"] == "done" and [t["status"] for t in done["trials"]] == ["done"] * 3
    assert {t["run_id"]: t["val_accuracy"] for t in done["trials"]} == {
        first["id"]: 0.7,
        second["id"]: 0.9,
        third["id"]: 0.4,
    }
    assert done["best"]["run_id"] == second["id"] and done["best"]["params"] == second["params"]
    study = optuna.load_study(
        storage=storage_for(sclient.app.state.engine), study_name=f"browsertrain-sweep-{sweep_id}"
    )
    assert sorted(t.value for t in study.trials) == [0.4, 0.7, 0.9] and study.best_value == 0.9


def test_the_median_pruner_stops_a_poor_trial_and_its_run_after_good_ones_finished(sclient):
    made = create(sclient, grid={"lr": [0.001, 0.002, 0.003, 0.004]})
    sweep_id = made["sweep_id"]
    tab = worker(sclient)
    train(sclient, tab, [0.6, 0.8, 0.9])
    train(sclient, tab, [0.5, 0.7, 0.85])
    poor = claim(sclient, tab)
    post_epochs(sclient, poor, [0.1])  # the first epoch is never judged (too noisy)
    assert jobs_of(sclient, sweep_id)[2]["state"] == "claimed"
    post_epochs(sclient, poor, [0.15], first=1)
    job = next(j for j in jobs_of(sclient, sweep_id) if j["id"] == poor["id"])
    assert job["state"] == "pruned"
    assert sclient.get(f"/api/runs/{poor['id']}").json()["status"] == "stopped"
    beat = sclient.post(
        f"/api/queue/workers/{tab}/heartbeat", json={"job_id": poor["id"], "attempt_token": poor["attempt_token"]}
    )
    assert beat.status_code == 200 and beat.json()["cancel"] is True
    # A good trial goes on past the same epoch.
    good = claim(sclient, tab)
    post_epochs(sclient, good, [0.7, 0.9])
    assert next(j for j in jobs_of(sclient, sweep_id) if j["id"] == good["id"])["state"] == "claimed"
    shown = sweep(sclient, sweep_id)
    pruned = next(t for t in shown["trials"] if t["run_id"] == poor["id"])
    assert pruned["status"] == "pruned" and pruned["val_accuracy"] == 0.15 and pruned["epochs_done"] == 2
    assert shown["status"] == "running" and shown["best"]["val_accuracy"] == 0.9


BAD = [
    ({"grid": {"nosuch": [1, 2]}}, "'nosuch' is not a run setting"),
    ({"grid": {"batchSize": [8, "sixteen"]}}, "batchSize: 'sixteen' is not an integer"),
    ({"grid": {"batchSize": [0, 8]}}, "batchSize must be at least 1"),
    ({"grid": {"model.block": ["plain", "wide"]}}, "'wide' is not one of plain, residual, dense"),
    ({"grid": {"batchSize": []}}, "give a non-empty list"),
    ({"random": {"lr": {"low": 0.1, "high": 0.01}}}, "low (0.1) must be below high (0.01)"),
    ({"random": {"fineTuneBlocks": {"low": 0, "high": 3, "log": True}}}, "a log range needs low above 0"),
    ({"random": {"model.block": {"low": 1, "high": 2}}}, "only numbers take a range"),
    ({"grid": {"lr": [0.1, 0.01]}, "random": {"lr": {"low": 0.1, "high": 0.5}}}, "one way only"),
    ({"grid": {"lr": [0.1]}, "random": {"seed": {"low": 1, "high": 9}}, "sampler": "grid"}, "use random or tpe"),
    (
        {"grid": {"seed": list(range(15)), "lr": [i / 1000 for i in range(1, 16)]}},
        "225 combinations; a sweep trains at most 200",
    ),
    ({"random": {"lr": {"low": 0.01, "high": 0.5}}, "trials": 201}, "trials must be a whole number from 1 to 200"),
    ({"grid": {"lr": [0.1, 0.2]}, "trials": 3}, "a grid sweep trains every combination (2)"),
    ({"grid": {"lr": [0.1, 0.2]}, "parallel": 33}, "parallel must be a whole number from 1 to 32"),
    ({"grid": {"lr": [0.1, 0.2]}, "sampler": "bayes"}, "sampler must be one of grid, random, tpe"),
    ({"grid": {"lr": [0.1, 0.2]}, "pruner": "hyperband"}, "pruner must be one of median, none"),
    ({"grid": {"lr": [0.1, 0.2]}, "metric": "val_loss"}, "metric must be one of val_accuracy"),
    ({"grid": {"lr": [0.1, 0.2]}, "config": [1, 2]}, "config must be a JSON object"),
    ({}, "needs at least one setting to vary"),
    # Found by the queue when the first trial is enqueued: the study made by then is taken back.
    ({"grid": {"lr": [0.1, 0.2]}, "config": {"task": "detection"}}, "is a classification set"),
]


@pytest.mark.parametrize(("body", "detail"), BAD, ids=[detail for _, detail in BAD])
def test_a_bad_sweep_is_refused_with_its_reason_and_nothing_is_written(sclient, body, detail):
    response = sclient.post("/api/sweeps", json={"dataset": "shapes", "config": BASE, **body})
    assert response.status_code == 400, response.text
    assert detail in response.json()["detail"]
    _nothing_written(sclient)


def test_a_sweep_on_a_missing_dataset_is_refused_and_nothing_is_written(sclient):
    response = sclient.post("/api/sweeps", json={"dataset": "nosuch", "grid": {"lr": [0.1, 0.2]}})
    assert response.status_code == 404 and "nosuch" in response.json()["detail"]
    _nothing_written(sclient)


def _nothing_written(client) -> None:
    assert client.get("/api/sweeps").json()["sweeps"] == []
    assert client.get("/api/queue/jobs").json()["jobs"] == []
    assert client.get("/api/runs").json()["runs"] == []
    assert optuna.get_all_study_names(storage_for(client.app.state.engine)) == []


def test_two_tpe_trials_ending_at_once_ask_for_no_more_than_the_sweep_plans(sclient):
    made = create(sclient, sampler="tpe", random={"lr": {"low": 1e-4, "high": 1e-1, "log": True}}, trials=3, parallel=2)
    tabs = [worker(sclient, name) for name in ("left", "right")]
    jobs = [claim(sclient, tab) for tab in tabs]
    for job, accuracy in zip(jobs, (0.6, 0.8), strict=True):
        post_epochs(sclient, job, [accuracy])
    together = threading.Barrier(2)

    def end(job: dict, accuracy: float) -> None:
        together.wait()
        finish(sclient, job, accuracy)

    threads = [threading.Thread(target=end, args=(job, a)) for job, a in zip(jobs, (0.6, 0.8), strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    states = [j["state"] for j in jobs_of(sclient, made["sweep_id"])]
    assert sorted(states) == ["done", "done", "queued"]  # three planned: one more, not one per ended trial
