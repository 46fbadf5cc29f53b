"""The queue as a worker and a user meet it: enqueue, claim, heartbeat, complete; priorities, requirements, cancel,
retries. Each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from queue_steps import (
    CONFIG,
    CPU_DEVICE,
    attempt_header,
    claim,
    complete,
    enqueue,
    heartbeat,
    job_state,
    register,
    run_of,
)

from server.queue import service


def test_a_job_goes_from_queued_to_done_through_one_worker(qclient):
    job = enqueue(qclient)
    assert job["state"] == "queued" and job["attempt"] == 0 and job["run_id"] == job["id"]
    assert job["config"] == CONFIG and "attempt_token" not in job
    run = run_of(qclient, job["id"])
    assert run["status"] == "created" and run["kind"] == "train" and run["config"] == CONFIG

    worker = register(qclient, "laptop")
    claimed = claim(qclient, worker)
    assert claimed["id"] == job["id"] and claimed["state"] == "claimed" and claimed["attempt"] == 1
    assert claimed["worker_id"] == worker and claimed["worker_name"] == "laptop" and claimed["attempt_token"]
    assert claim(qclient, worker) is None  # nothing else is queued: 204

    beat = heartbeat(qclient, worker, claimed, epoch=1, epochs=2, images_per_second=300.0)
    assert beat.status_code == 200, beat.text
    assert beat.json()["cancel"] is False and beat.json()["lease_expires_at"] >= claimed["lease_expires_at"]
    listed = qclient.get("/api/queue/workers").json()["workers"]
    assert [(w["id"], w["state"], w["job_id"]) for w in listed] == [(worker, "training", job["id"])]
    assert listed[0]["progress"]["epoch"] == 1

    headers = attempt_header(claimed)
    assert qclient.patch(f"/api/runs/{job['id']}", json={"status": "running"}, headers=headers).status_code == 200
    for epoch in range(2):
        posted = qclient.post(f"/api/runs/{job['id']}/epochs", json={"epoch": epoch, "loss": 1.0}, headers=headers)
        assert posted.status_code == 201, posted.text
    finished = qclient.patch(f"/api/runs/{job['id']}", json={"status": "finished", "summary": {}}, headers=headers)
    assert finished.status_code == 200, finished.text

    done = complete(qclient, claimed, "finished")
    assert done.status_code == 200 and done.json()["state"] == "done"
    assert complete(qclient, claimed, "finished").json() == done.json()  # the same call again: the same answer
    assert run_of(qclient, job["id"])["epochs_done"] == 2
    assert qclient.get("/api/queue/workers").json()["workers"][0]["state"] == "idle"


def test_claims_take_the_highest_priority_then_the_oldest(qclient):
    low = enqueue(qclient, priority=-1)
    first = enqueue(qclient)
    second = enqueue(qclient)
    urgent = enqueue(qclient, priority=5)
    listed = [job["id"] for job in qclient.get("/api/queue/jobs", params={"state": "queued"}).json()["jobs"]]
    assert listed == [urgent["id"], first["id"], second["id"], low["id"]]
    worker = register(qclient)
    assert [claim(qclient, worker)["id"] for _ in range(4)] == listed
    raised = enqueue(qclient)
    enqueue(qclient)
    patched = qclient.patch(f"/api/queue/jobs/{raised['id']}", json={"priority": 3})
    assert patched.status_code == 200 and patched.json()["priority"] == 3
    later = enqueue(qclient, priority=1)
    assert [claim(qclient, worker)["id"] for _ in range(2)] == [raised["id"], later["id"]]


def test_a_job_goes_only_to_a_worker_whose_device_fits(qclient):
    needs_webgl = enqueue(qclient, requirements={"backend": "webgl"}, priority=2)
    needs_speed = enqueue(qclient, requirements={"min_images_per_second": 100}, priority=1)
    anyone = enqueue(qclient)
    slow_cpu = register(qclient, "old laptop", CPU_DEVICE)
    assert claim(qclient, slow_cpu)["id"] == anyone["id"]  # the two above it want what it lacks
    assert claim(qclient, slow_cpu) is None
    fast_gpu = register(qclient, "desktop")
    assert [claim(qclient, fast_gpu)["id"] for _ in range(2)] == [needs_webgl["id"], needs_speed["id"]]


def test_cancelling_a_claimed_job_tells_its_worker_to_stop_and_stops_the_run(qclient):
    job = enqueue(qclient)
    worker = register(qclient)
    claimed = claim(qclient, worker)
    cancelled = qclient.post(f"/api/queue/jobs/{job['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    beat = heartbeat(qclient, worker, claimed)
    assert beat.status_code == 200 and beat.json()["cancel"] is True
    assert run_of(qclient, job["id"])["status"] == "stopped"
    refused = qclient.post(f"/api/runs/{job['id']}/epochs", json={"epoch": 0}, headers=attempt_header(claimed))
    assert refused.status_code == 409
    stopped = complete(qclient, claimed, "stopped")
    assert stopped.status_code == 200 and stopped.json()["state"] == "cancelled"
    assert claim(qclient, worker) is None
    assert qclient.post(f"/api/queue/jobs/{job['id']}/cancel").json()["state"] == "cancelled"


def test_a_done_job_cannot_be_cancelled(qclient):
    enqueue(qclient)
    worker = register(qclient)
    claimed = claim(qclient, worker)
    assert complete(qclient, claimed, "finished").status_code == 200
    refused = qclient.post(f"/api/queue/jobs/{claimed['id']}/cancel")
    assert refused.status_code == 409 and claimed["id"] in refused.json()["detail"]
    assert job_state(qclient, claimed["id"])["state"] == "done"


def test_a_failing_job_is_retried_then_fails_for_good_after_max_attempts(qclient):
    job = enqueue(qclient, max_attempts=2)
    worker = register(qclient)
    first = claim(qclient, worker)
    again = complete(qclient, first, "failed", error="WebGL context lost")
    assert again.status_code == 200
    assert again.json()["state"] == "queued" and again.json()["last_error"] == "WebGL context lost"
    assert run_of(qclient, job["id"])["status"] == "created"
    second = claim(qclient, worker)
    assert second["id"] == job["id"] and second["attempt"] == 2 and second["attempt_token"] != first["attempt_token"]
    assert complete(qclient, first, "failed").status_code == 409  # the first attempt is over
    failed = complete(qclient, second, "failed", error="out of memory")
    assert failed.json()["state"] == "failed" and failed.json()["last_error"] == "out of memory"
    assert run_of(qclient, job["id"])["status"] == "failed"
    assert claim(qclient, worker) is None


def test_a_run_that_is_not_a_job_takes_writes_without_an_attempt_header(qclient):
    enqueue(qclient)  # the queue holds a job; the plain run below is none of its business
    created = qclient.post("/api/runs", json={"dataset": "shapes", "config": CONFIG})
    run_id = created.json()["id"]
    assert qclient.post(f"/api/runs/{run_id}/epochs", json={"epoch": 0, "loss": 1.0}).status_code == 201
    assert qclient.patch(f"/api/runs/{run_id}", json={"status": "finished"}).status_code == 200
    assert run_of(qclient, run_id)["epochs_done"] == 1


def test_a_pruned_sweep_trial_stops_its_worker_and_stays_pruned(queue_server, qclient):
    app = queue_server.app
    engine, storage = app.state.engine, app.state.storage
    trial = service.enqueue(
        engine, storage, dataset="shapes", config=CONFIG, sweep_id="5eed5eed5eed", params={"lr": 0.01}, trial_number=0
    )
    assert trial["sweep_id"] == "5eed5eed5eed" and trial["params"] == {"lr": 0.01}
    worker = register(qclient)
    claimed = claim(qclient, worker)
    epoch = qclient.post(f"/api/runs/{trial['id']}/epochs", json={"epoch": 0}, headers=attempt_header(claimed))
    assert epoch.status_code == 201  # the sweep hears of it (server/sweeps/hooks.py)
    assert service.cancel(engine, None, trial["id"], state="pruned")["state"] == "pruned"
    assert heartbeat(qclient, worker, claimed).json()["cancel"] is True
    assert complete(qclient, claimed, "stopped").json()["state"] == "pruned"
    assert run_of(qclient, trial["id"])["status"] == "stopped"
    assert qclient.get("/api/queue/jobs", params={"state": "pruned"}).json()["jobs"][0]["id"] == trial["id"]
