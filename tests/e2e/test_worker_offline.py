"""A worker whose server goes away mid-job trains on from its IndexedDB copy to the run's last epoch, says it is
offline, and when the server is back (same address, same data) says so and delivers the whole run: every epoch, the
last snapshot, the run's end, the job done."""

from __future__ import annotations

import re

import pytest
from support import imagefolder, upload, zip_bytes
from support.servers import start_isolated, start_server

from .test_worker import DATASET, TIMEOUT_SECONDS, enqueue, jobs_by_id, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EPOCHS = 40  # about 10 epochs a second here: the run ends while the server is away
ENV = {"BROWSERTRAIN_HEARTBEAT_SECONDS": "1", "BROWSERTRAIN_LEASE_SECONDS": "30"}


def shown_epoch(page) -> int:
    """The epoch the worker page shows for its job ('Epoch 7 / 40')."""
    found = re.search(r"Epoch\s+(\d+) /", page.inner_text("#worker-job"))
    return int(found.group(1)) if found else 0


def test_the_worker_trains_on_while_the_server_is_away_and_delivers_the_run_when_it_is_back(tmp_path, page):
    live = start_isolated(tmp_path / "srv", env=ENV)
    with live.client() as client:
        assert upload(client, DATASET, zip_bytes(imagefolder({"a": 8, "b": 8}, seed=7))).status_code == 201
        job = enqueue(client, epochs=EPOCHS, snapshotEvery=10)
    page.goto(f"{live.url}/worker?name=tab-away&backend=wasm&maxJobs=1")
    wait_until(lambda: shown_epoch(page) >= 2, "two epochs")
    live.stop()
    try:
        page.wait_for_function("() => document.body.dataset.workerState === 'offline'", timeout=30_000)
        banner = page.inner_text("#worker-offline")
        assert re.fullmatch(r"offline since \d\d:\d\d:\d\d, training on", banner), banner
        # Training goes on to the last epoch; the job waits for the server to take its last records.
        wait_until(lambda: shown_epoch(page) == EPOCHS, "training on while offline", timeout=60)
        assert page.evaluate("() => document.body.dataset.workerState") == "offline"
        assert page.evaluate("() => document.body.dataset.jobsDone") == "0"
    finally:
        back = start_server(live.data_dir, env={"TMPDIR": str(tmp_path / "srv" / "tmp"), **ENV}, port=live.port)
    try:
        page.wait_for_function("() => document.body.dataset.jobsDone === '1'", timeout=TIMEOUT_SECONDS * 1000)
        log = page.inner_text("#worker-log")
        assert "the server is away; training goes on" in log and "back online" in log, log
        with back.client() as client:
            run = client.get(f"/api/runs/{job['run_id']}").json()
            assert run["status"] == "finished", run["status"]
            assert [e["epoch"] for e in run["epochs"]] == list(range(EPOCHS)), "epochs trained offline were lost"
            assert run["snapshots"] and run["snapshots"][-1]["epoch"] == EPOCHS, log
            assert jobs_by_id(client)[job["id"]]["state"] == "done"
    finally:
        back.stop()


def test_a_worker_whose_lease_ran_out_drops_the_job_when_its_heartbeat_is_refused(tmp_path, page):
    """Its heartbeats are lost (blocked in the browser) until the lease ends and another worker claims the job: the
    next heartbeat gets 409, and the page stops training, reports nothing, and goes back to waiting."""
    live = start_isolated(
        tmp_path / "srv", env={"BROWSERTRAIN_HEARTBEAT_SECONDS": "1", "BROWSERTRAIN_LEASE_SECONDS": "3"}
    )
    try:
        with live.client() as client:
            assert upload(client, DATASET, zip_bytes(imagefolder({"a": 8, "b": 8}, seed=7))).status_code == 201
            job = enqueue(client, epochs=100_000, snapshotEvery=1000)
            page.goto(f"{live.url}/worker?name=tab-lost&backend=wasm")
            wait_until(lambda: shown_epoch(page) >= 1, "training")
            page.route("**/heartbeat", lambda route: route.abort())
            page.wait_for_function("() => document.body.dataset.workerState === 'offline'", timeout=30_000)

            other = client.post("/api/queue/workers", json={"name": "other", "device": {"backend": "cpu"}}).json()

            def claim_once_free():  # a claim runs the reaper first: it frees the job once its lease has run out
                answer = client.post(f"/api/queue/workers/{other['worker_id']}/claim")
                return answer.json()["job"] if answer.status_code == 200 else None

            claimed = wait_until(claim_once_free, "the lease running out", timeout=30)
            assert claimed["id"] == job["id"] and claimed["attempt"] == 2
            page.unroute("**/heartbeat")

            page.wait_for_function("() => document.body.dataset.workerState === 'waiting'", timeout=60_000)
            state = page.evaluate("() => globalThis.browsertrainWorker")
            assert [(r["run_id"], r["status"]) for r in state["results"]] == [(job["run_id"], "dropped")]
            assert state["jobsDone"] == 0 and "another attempt holds its job now" in page.inner_text("#worker-log")
            held = jobs_by_id(client)[job["id"]]
            assert held["state"] == "claimed" and held["worker_name"] == "other" and held["attempt"] == 2
    finally:
        live.stop()
