"""A queue job whose worker vanished mid-epoch: the reaper frees it once its lease runs out, and the next worker goes on
from the mid-epoch snapshot, training only the rest of that epoch (real Chromium, two worker tabs)."""

from __future__ import annotations

import pytest
from support.servers import start_isolated

from .test_worker import TIMEOUT_SECONDS, jobs_by_id, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ENV = {"BROWSERTRAIN_HEARTBEAT_SECONDS": "1", "BROWSERTRAIN_LEASE_SECONDS": "3"}
# The sample set in batches of 4: about 48 steps an epoch. No epoch-end snapshot before the last, so the latest one
# is the mid-epoch snapshot the test asks for.
CONFIG = {"epochs": 30, "batchSize": 4, "inputSize": 32, "augment": {}, "snapshotEvery": 1000}


def mid_epoch_snapshot(client, run_id: str) -> dict | None:
    snapshots = client.get(f"/api/runs/{run_id}").json()["snapshots"]
    return next((s for s in snapshots if s.get("step")), None)


def test_a_job_resumed_by_another_worker_goes_on_from_the_mid_epoch_snapshot(tmp_path, browser):
    live = start_isolated(tmp_path / "srv", env=ENV)
    first_tab, second_tab = browser.new_context(), browser.new_context()
    try:
        with live.client() as client:
            job = client.post("/api/queue/jobs", json={"dataset": "shapes", "config": CONFIG}).json()
            first = first_tab.new_page()
            first.goto(f"{live.url}/worker?name=vanishing&backend=wasm&maxJobs=1")
            first.wait_for_function("() => document.body.dataset.workerState === 'training'", timeout=60_000)
            first.evaluate("() => browsertrainWorkerControls.snapshot()")
            snapshot = wait_until(lambda: mid_epoch_snapshot(client, job["run_id"]), "a mid-epoch snapshot", timeout=60)
            first_tab.close()  # the worker is gone without a word: no heartbeats, no end of its attempt

            second = second_tab.new_page()
            second.goto(f"{live.url}/worker?name=next&backend=wasm&maxJobs=1")
            second.wait_for_function("() => document.body.dataset.jobsDone === '1'", timeout=TIMEOUT_SECONDS * 1000)
            held = jobs_by_id(client)[job["id"]]
            assert (held["state"], held["attempt"], held["worker_name"]) == ("done", 2, "next")
            run = client.get(f"/api/runs/{job['run_id']}").json()
            assert run["status"] == "finished" and run["epochs_done"] == CONFIG["epochs"]
            info = run["info"]
            assert (info["resumed_at_epoch"], info["resumed_at_step"]) == (snapshot["epoch"], snapshot["step"])
            resumed = run["epochs"][snapshot["epoch"]]
            assert resumed["resumed_at_step"] == snapshot["step"], "the epoch was not resumed at the snapshot's step"
            steps = -(-run["summary"]["train_items"] // CONFIG["batchSize"])
            # The optimizer went on from the snapshot's count and trained the rest of the epoch once: no step twice.
            assert resumed["iterations"] == (snapshot["epoch"] + 1) * steps
            assert run["snapshots"][-1]["epoch"] == CONFIG["epochs"]
    finally:
        for tab in (first_tab, second_tab):
            tab.close()
        live.stop()
