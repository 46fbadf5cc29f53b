"""Leases: a claim that stops heartbeating is taken back and re-issued with a new attempt, and the old attempt can no
longer write to the run; claims and reaps racing each other take each job once. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time

from queue_steps import attempt_header, claim, complete, enqueue, heartbeat, job_state, register, run_of
from support import DENSE_WEIGHTS, assert_unchanged, disk_state, model_json, weights_for
from support.snapshots import snapshot_files

from server.queue import service

SHORT_LEASE = 1.0
POLL_SECONDS = 0.05


def _post_snapshot(client, job: dict, seed: int):
    files = snapshot_files(model_json(), weights_for(DENSE_WEIGHTS, seed=seed))
    return client.post(
        f"/api/runs/{job['id']}/snapshots", files=files, params={"epoch": 0}, headers=attempt_header(job)
    )


def _wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(POLL_SECONDS)
    return predicate()


def test_an_expired_lease_is_re_issued_and_the_old_attempt_changes_nothing(make_server):
    server = make_server(lease_seconds=SHORT_LEASE)
    with server.client() as client:
        job = enqueue(client)
        laptop, desktop = register(client, "laptop"), register(client, "desktop")
        first = claim(client, laptop)
        headers = attempt_header(first)
        assert client.patch(f"/api/runs/{job['id']}", json={"status": "running"}, headers=headers).status_code == 200
        assert client.post(f"/api/runs/{job['id']}/epochs", json={"epoch": 0}, headers=headers).status_code == 201
        assert _post_snapshot(client, first, seed=1).status_code == 201
        time.sleep(SHORT_LEASE + 0.2)  # the laptop's lid closed: no heartbeat

        second = claim(client, desktop)
        assert second["id"] == job["id"] and second["attempt"] == 2 and second["worker_name"] == "desktop"
        assert second["attempt_token"] != first["attempt_token"]
        assert "no heartbeat" in second["last_error"]

        before, run_before = disk_state(server.data_dir), run_of(client, job["id"])
        beat = heartbeat(client, laptop, first)
        assert beat.status_code == 409 and job["id"] in beat.json()["detail"]
        epoch = client.post(f"/api/runs/{job['id']}/epochs", json={"epoch": 1}, headers=headers)
        assert (
            epoch.status_code == 409 and job["id"] in epoch.json()["detail"] and "attempt 2" in epoch.json()["detail"]
        )
        assert _post_snapshot(client, first, seed=2).status_code == 409
        assert client.patch(f"/api/runs/{job['id']}", json={"status": "failed"}, headers=headers).status_code == 409
        assert client.post(f"/api/runs/{job['id']}/epochs", json={"epoch": 1}).status_code == 409  # no header at all
        assert complete(client, first, "failed").status_code == 409
        assert_unchanged(server.data_dir, before)
        run_after = run_of(client, job["id"])
        assert run_after == run_before and [e["epoch"] for e in run_after["epochs"]] == [0]
        assert len(run_after["snapshots"]) == 1
        assert job_state(client, job["id"])["worker_id"] == desktop

        assert (
            client.post(f"/api/runs/{job['id']}/epochs", json={"epoch": 1}, headers=attempt_header(second)).status_code
            == 201
        )
        assert heartbeat(client, desktop, second).json()["cancel"] is False


def test_the_server_reaper_takes_back_a_silent_claim_and_fails_it_after_max_attempts(make_server):
    server = make_server(lease_seconds=SHORT_LEASE)
    with server.client() as client:  # the app's lifespan runs its reaper
        retried = enqueue(client, max_attempts=2, priority=1)
        last_try = enqueue(client, max_attempts=1)
        worker = register(client)
        assert claim(client, worker)["id"] == retried["id"]
        assert _wait_for(lambda: job_state(client, retried["id"])["state"] == "queued", SHORT_LEASE + 4)
        assert job_state(client, retried["id"])["attempt"] == 1
        assert claim(client, worker)["id"] == retried["id"]
        assert claim(client, worker)["id"] == last_try["id"]
        assert _wait_for(
            lambda: {job_state(client, j["id"])["state"] for j in (retried, last_try)} == {"failed"}, SHORT_LEASE + 4
        )
        assert run_of(client, last_try["id"])["status"] == "failed"
        silent = client.get("/api/queue/workers").json()["workers"][0]
        assert silent["job_id"] is None and silent["state"] == "offline"  # not seen for a lease's length
        assert heartbeat(client, worker, None).status_code == 200
        assert client.get("/api/queue/workers").json()["workers"][0]["state"] == "idle"


def test_a_run_finished_by_a_worker_that_died_before_completing_its_job_is_done_not_re_issued(make_server):
    """The worker sent the run's final PATCH, then died (or lost the network) before its complete: re-issuing the job
    would fail every later attempt (a finished run never changes), so the reaper records it done."""
    server = make_server(lease_seconds=SHORT_LEASE)
    with server.client() as client:
        job = enqueue(client)
        worker = register(client)
        claimed = claim(client, worker)
        finished = client.patch(f"/api/runs/{job['id']}", json={"status": "finished"}, headers=attempt_header(claimed))
        assert finished.status_code == 200, finished.text
        assert _wait_for(lambda: job_state(client, job["id"])["state"] == "done", SHORT_LEASE + 4)
        done = job_state(client, job["id"])
        assert done["attempt"] == 1 and done["worker_id"] == worker and done["last_error"] is None
        assert claim(client, register(client, "next")) is None
        assert run_of(client, job["id"])["status"] == "finished"


def test_heartbeats_keep_a_claim_past_its_lease(make_server):
    server = make_server(lease_seconds=SHORT_LEASE)
    with server.client() as client:
        enqueue(client)
        worker = register(client)
        job = claim(client, worker)
        for _ in range(6):
            time.sleep(SHORT_LEASE / 4)
            assert heartbeat(client, worker, job).status_code == 200
        assert job_state(client, job["id"])["state"] == "claimed"
        assert complete(client, job, "finished").json()["attempt"] == 1


def test_two_workers_claiming_at_once_take_each_job_exactly_once(queue_server):
    jobs = 50
    with queue_server.client() as client:
        queued = {enqueue(client)["id"] for _ in range(jobs)}
        workers = [register(client, f"tab {n}") for n in range(2)]
    taken: dict[str, list[str]] = {worker: [] for worker in workers}
    together = threading.Barrier(len(workers))

    def drain(worker: str) -> None:
        with queue_server.client() as own:
            together.wait()
            while (job := claim(own, worker)) is not None:
                taken[worker].append(job["id"])

    threads = [threading.Thread(target=drain, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [job_id for ids in taken.values() for job_id in ids]
    assert sorted(every) == sorted(queued)  # all taken, none twice
    assert all(taken.values()), "both workers should have taken some"


def test_two_reapers_at_once_take_each_expired_job_back_once(queue_server):
    engine = queue_server.app.state.engine
    with queue_server.client() as client:
        ids = [enqueue(client)["id"] for _ in range(12)]
        worker = register(client)
        for _ in ids:
            claim(client, worker)
    later = time.time() + 3600
    counts = []
    threads = [threading.Thread(target=lambda: counts.append(service.reap(engine, now=later))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == len(ids)
    assert {job["state"] for job in service.list_jobs(engine)} == {"queued"}
