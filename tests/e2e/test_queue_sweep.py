"""The queue's acceptance run: a 4-trial grid sweep trained by two `browsertrain worker` processes (headless Chromium
each), one of them killed with its browser mid-trial. Every trial ends done, and the killed one resumes from its
snapshot on the other worker. It runs on SQLite and the data folder, and on PostgreSQL and an S3 store (SeaweedFS)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import httpx
import pytest
from support import ROOT
from support.servers import start_isolated

from .test_worker import _alive, _descendants, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The built-in sample (240 shapes at 64 px), small and quick: 32 px inputs on wasm, a snapshot every epoch.
TRAIN_FLAGS = ["--dataset", "shapes", "--epochs", "6", "--input-size", "32", "--backend", "wasm", "--augment", "off"]
GRID = ["--grid", "lr=0.001,0.003", "--grid", "batch-size=16,32", "--snapshot-every", "1", "--pruner", "none"]
# A killed browser's job goes back to the queue within LEASE plus one reaper round.
LEASE_SECONDS = "6"
SWEEP_TIMEOUT_SECONDS = 300


@pytest.fixture(params=["sqlite-folder", pytest.param("postgres-s3", marks=pytest.mark.postgres)])
def stack(request, tmp_path):
    """A live server on SQLite and its data folder, or on a PostgreSQL database and an S3 bucket."""
    env = {"BROWSERTRAIN_LEASE_SECONDS": LEASE_SECONDS, "BROWSERTRAIN_HEARTBEAT_SECONDS": "1"}
    weed = None
    if request.param == "postgres-s3":
        from support.seaweed import start_seaweed

        weed = start_seaweed(tmp_path / "s3")
        env |= {
            **weed.env,
            "BROWSERTRAIN_DB_URL": request.getfixturevalue("postgres_cluster").create_database(),
            "BROWSERTRAIN_S3_URL": "s3://browsertrain/acceptance",
            "BROWSERTRAIN_S3_ENDPOINT": weed.endpoint,
        }
    live = start_isolated(tmp_path / "srv", env=env)
    yield live, weed
    live.stop()
    if weed:
        weed.stop()


def cli(*args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        **popen,
    )


def show(url: str, sweep_id: str) -> dict:
    process = cli("sweeps", "show", sweep_id, "--server", url, "--json")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return json.loads(out)


def holding(client: httpx.Client, prefix: str) -> dict | None:
    """The job a worker named PREFIX-… trains, once its run has a snapshot and epochs still to go."""
    for worker in client.get("/api/queue/workers").json()["workers"]:
        if worker["name"].startswith(prefix) and worker["job_id"]:
            run = client.get(f"/api/runs/{worker['job_id']}").json()
            if run["snapshots"] and 2 <= run["epochs_done"] < 5:
                return {"job_id": worker["job_id"], "worker_id": worker["id"], "epochs_done": run["epochs_done"]}
    return None


def test_a_grid_sweep_survives_a_worker_killed_with_its_browser_mid_trial(stack):
    live, weed = stack
    made = cli("sweep", *TRAIN_FLAGS, *GRID, "--server", live.url, "--json")
    out, err = made.communicate(timeout=120)
    assert made.returncode == 0, err
    sweep_id = json.loads(out)["sweep_id"]
    assert len(show(live.url, sweep_id)["trials"]) == 4

    # Worker A in a process group of its own, so that one signal kills it with its Playwright driver and browser.
    doomed = cli("worker", "--server", live.url, "--name", "doomed", "--backend", "wasm", start_new_session=True)
    survivor = cli("worker", "--server", live.url, "--name", "survivor", "--backend", "wasm")
    try:
        with live.client() as client:
            held = wait_until(lambda: holding(client, "doomed-"), "worker A holding a trial past its first snapshot")
            browsers = _descendants(doomed.pid)
            os.killpg(doomed.pid, signal.SIGKILL)
            doomed.communicate(timeout=30)
            wait_until(lambda: not [pid for pid in browsers if _alive(pid)], "worker A's browser to die", 30)

            final = wait_until(
                lambda: (s := show(live.url, sweep_id))["status"] == "done" and s,
                "the sweep to end",
                SWEEP_TIMEOUT_SECONDS,
            )
            survivors = {w["id"] for w in client.get("/api/queue/workers").json()["workers"] if "survivor" in w["name"]}
            job = client.get(f"/api/queue/jobs/{held['job_id']}").json()
            run = client.get(f"/api/runs/{held['job_id']}").json()
    finally:
        for process in (doomed, survivor):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.communicate(timeout=60)

    assert [t["status"] for t in final["trials"]] == ["done"] * 4, final
    assert all(t["epochs_done"] == 6 and t["val_accuracy"] is not None for t in final["trials"])
    assert final["best"]["run_id"] in {t["run_id"] for t in final["trials"]}
    # The killed trial: claimed a second time, by the survivor, and resumed from the snapshot the doomed worker sent.
    assert job["state"] == "done" and job["attempt"] == 2 and job["worker_id"] in survivors, job
    assert run["status"] == "finished"
    assert 1 <= run["info"]["resumed_at_epoch"] <= held["epochs_done"], run["info"]
    assert [e["epoch"] for e in run["epochs"]] == list(range(6))
    if weed:  # the artifacts live in the bucket: the resumed run's snapshots are there
        keys = weed.keys("browsertrain", f"acceptance/runs/{run['id']}/")
        assert any(key.endswith("model.weights.bin") for key in keys), keys
