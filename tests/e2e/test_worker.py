"""The queue's browsers in real Chromium against a real server: the /worker page trains a queued job to the end, the
dashboard lists jobs and workers and its Cancel stops a job in training, and `browsertrain worker` trains two jobs in
two headless browsers and leaves none behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from support import ROOT, imagefolder, upload, zip_bytes
from support.servers import start_isolated

from .test_csp import Watch

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DATASET = "tiny"
# Small and quick on two cores: 16 images of 8x8 pixels at 16x16, wasm (the probe tries only it), a snapshot each epoch.
CONFIG = {
    "epochs": 3,
    "inputSize": 16,
    "batchSize": 4,
    "snapshotEvery": 1,
    "augment": {},
    "model": {"width": 4, "stages": [8], "blocksPerStage": 1},
}
TIMEOUT_SECONDS = 180


@pytest.fixture
def queue_server(tmp_path):
    """A live server that asks for a heartbeat every second, with the tiny dataset."""
    live = start_isolated(
        tmp_path / "srv", env={"BROWSERTRAIN_HEARTBEAT_SECONDS": "1", "BROWSERTRAIN_LEASE_SECONDS": "20"}
    )
    with live.client() as client:
        assert upload(client, DATASET, zip_bytes(imagefolder({"a": 8, "b": 8}, seed=7))).status_code == 201
    yield live
    live.stop()


def enqueue(client: httpx.Client, **config) -> dict:
    response = client.post("/api/queue/jobs", json={"dataset": DATASET, "config": {**CONFIG, **config}})
    assert response.status_code == 201, response.text
    return response.json()


def jobs_by_id(client: httpx.Client) -> dict:
    return {job["id"]: job for job in client.get("/api/queue/jobs").json()["jobs"]}


def wait_until(check, what: str, timeout: float = TIMEOUT_SECONDS):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.3)
    pytest.fail(f"{what} did not happen within {timeout} s")


def test_the_worker_page_trains_a_queued_job_to_the_end_with_its_epochs_and_snapshots(queue_server, page):
    watch = Watch(page)
    with queue_server.client() as client:
        job = enqueue(client)
        page.goto(f"{queue_server.url}/worker?name=tab-1&backend=wasm&maxJobs=1")
        page.wait_for_function("() => document.body.dataset.jobsDone === '1'", timeout=TIMEOUT_SECONDS * 1000)
        state = page.evaluate("() => globalThis.browsertrainWorker")
        assert state["state"] == "stopped" and state["device"]["backend"] == "wasm", state
        assert [(r["run_id"], r["status"]) for r in state["results"]] == [(job["run_id"], "finished")], state["log"]

        run = client.get(f"/api/runs/{job['run_id']}").json()
        assert run["status"] == "finished", run
        assert [e["epoch"] for e in run["epochs"]] == [0, 1, 2]
        assert [s["epoch"] for s in run["snapshots"]] == [1, 2, 3]
        assert run["config"]["epochs"] == 3 and run["info"]["backend"] == "wasm"
        done = jobs_by_id(client)[job["id"]]
        assert done["state"] == "done" and done["attempt"] == 1 and done["worker_name"] == "tab-1"
        workers = client.get("/api/queue/workers").json()["workers"]
        assert [(w["name"], w["device"]["backend"]) for w in workers] == [("tab-1", "wasm")]
        assert workers[0]["device"]["images_per_second"] > 0

    # What a person sees: the device, the state, the jobs done, the log with the run.
    assert page.inner_text("#worker-state") == "Stopped"
    assert page.inner_text("#worker-done") == "1"
    assert "wasm" in page.inner_text("#worker-device")
    assert f"run {job['run_id']} finished" in page.inner_text("#worker-log")
    watch.assert_clean("worker")


def test_the_dashboard_lists_jobs_and_workers_and_cancel_stops_a_job_in_training(queue_server, browser):
    with queue_server.client() as client:
        long_job = enqueue(client, epochs=200)
        waiting = enqueue(client)
        worker_page = browser.new_context().new_page()
        dashboard = browser.new_context().new_page()
        watch = Watch(dashboard)
        try:
            worker_page.goto(f"{queue_server.url}/worker?name=tab-cancel&backend=wasm&maxJobs=1")
            dashboard.goto(f"{queue_server.url}/queue")
            dashboard.wait_for_selector("body[data-ready=true]")
            # The job in training shows its worker and progress; the other waits, with no worker.
            row = f"#jobs tr[data-job='{long_job['id']}']"
            dashboard.wait_for_selector(f"{row}[data-state=claimed]", timeout=TIMEOUT_SECONDS * 1000)
            wait_until(
                lambda: worker_page.evaluate("() => document.body.dataset.job") == long_job["run_id"], "training"
            )
            dashboard.wait_for_function(
                f'() => /^[1-9]\\d* \\/ 200/.test(document.querySelector("{row} td:nth-child(7)").textContent)',
                timeout=TIMEOUT_SECONDS * 1000,
            )
            cells = dashboard.locator(f"{row} td").all_inner_texts()
            assert cells[0] == long_job["run_id"] and cells[1] == DATASET and cells[2] == "claimed"
            assert cells[5] == "tab-cancel"
            assert dashboard.locator(f"#jobs tr[data-job='{waiting['id']}'] td").nth(2).inner_text() == "queued"
            assert dashboard.locator("#job-counts [data-state=queued] b").inner_text() == "1"
            workers = dashboard.locator("#workers tbody tr")
            dashboard.wait_for_function(
                "() => document.querySelector('#workers tbody tr td:nth-child(5)')?.textContent === 'training'"
            )
            assert workers.count() == 1
            worker_cells = workers.first.locator("td").all_inner_texts()
            assert (
                worker_cells[0] == "tab-cancel" and worker_cells[1] == "wasm" and worker_cells[5] == long_job["run_id"]
            )

            # Priority: + raises the waiting job's priority.
            dashboard.click(f"#jobs tr[data-job='{waiting['id']}'] [data-action=up]")
            dashboard.wait_for_function(
                f"() => document.querySelector(\"#jobs tr[data-job='{waiting['id']}'] td:nth-child(4)\")"
                ".textContent === '1'"
            )
            assert jobs_by_id(client)[waiting["id"]]["priority"] == 1

            # Cancel: the job is cancelled, the worker stops training at its next heartbeat, the run is 'stopped'.
            dashboard.click(f"{row} [data-action=cancel]")
            dashboard.wait_for_selector(f"{row}[data-state=cancelled]")
            state = wait_until(
                lambda: (s := worker_page.evaluate("() => globalThis.browsertrainWorker"))["results"] and s,
                "the worker's stop",
                timeout=60,
            )
            assert [(r["run_id"], r["status"]) for r in state["results"]] == [(long_job["run_id"], "stopped")]
            run = client.get(f"/api/runs/{long_job['run_id']}").json()
            assert run["status"] == "stopped" and len(run["epochs"]) < 200, run["status"]
            assert jobs_by_id(client)[long_job["id"]]["state"] == "cancelled"
            assert dashboard.locator(f"{row} [data-action=cancel]").count() == 0  # no Cancel on an ended job
            watch.assert_clean("queue")
        finally:
            worker_page.context.close()
            dashboard.context.close()


def _descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc (Playwright's driver, the browsers and their helpers)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_browsertrain_worker_trains_two_jobs_in_two_browsers_and_leaves_none_behind(queue_server):
    with queue_server.client() as client:
        jobs = [enqueue(client), enqueue(client)]
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server.cli",
                "worker",
                "--server",
                queue_server.url,
                "--count",
                "2",
                "--max-jobs",
                "1",
                "--backend",
                "wasm",
                "--name",
                "cli",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        started: set[int] = set()
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while process.poll() is None and time.monotonic() < deadline:
            started |= _descendants(process.pid)
            time.sleep(0.5)
        if process.poll() is None:
            process.kill()
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        lines = out.strip().splitlines()
        assert len(lines) == 2 and all(" finished (3 epochs" in line for line in lines), (out, err)
        assert {line.split(":")[0] for line in lines} == {"cli-1", "cli-2"}
        assert sorted(line.split()[2] for line in lines) == sorted(job["run_id"] for job in jobs)

        listed = jobs_by_id(client)
        assert {listed[job["id"]]["state"] for job in jobs} == {"done"}
        assert {listed[job["id"]]["worker_name"] for job in jobs} == {"cli-1", "cli-2"}  # one job per worker
        for job in jobs:
            assert client.get(f"/api/runs/{job['run_id']}").json()["status"] == "finished"

    assert len(started) >= 3, started  # the driver and at least two browsers ran
    assert not [pid for pid in started if _alive(pid)], "browser processes outlived the command"


def test_browsertrain_worker_closes_its_browsers_on_sigterm(queue_server):
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "worker", "--server", queue_server.url, "--backend", "wasm"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with queue_server.client() as client:  # registered and waiting: nothing is queued
            wait_until(lambda: client.get("/api/queue/workers").json()["workers"], "registration", timeout=120)
        started = _descendants(process.pid)
        assert len(started) >= 2, started
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0 and "browsers are closed" in err, err
    assert out == ""  # no job, no line
    assert not [pid for pid in started if _alive(pid)], "browser processes outlived the command"


def test_browsertrain_worker_refuses_bad_arguments_before_starting_anything(fake_chromium, tmp_path):
    chromium, mark = fake_chromium
    for argv, said in (
        (["--server", "http://127.0.0.1:9", "--count", "0"], "less than 1"),
        (["--server", "http://127.0.0.1:9"], "did not answer"),  # nothing listens on the discard port
    ):
        result = subprocess.run(
            [sys.executable, "-m", "server.cli", "worker", *argv, "--chromium", chromium],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2 and said in result.stderr, result.stderr
    assert not mark.exists(), "a browser was started"
