"""Bad requests to the queue get a clear 4xx with a detail, and change nothing: no job, no run, no worker, no file.
On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from queue_steps import CONFIG, WEBGL_DEVICE, claim, enqueue, register
from sqlalchemy.exc import StatementError
from support import assert_unchanged, disk_state

from server.limits import MAX_ATTEMPTS, MAX_JOB_PRIORITY, MAX_WORKER_NAME_CHARS
from server.queue import service


def _everything(client, data_dir) -> tuple:
    return (
        client.get("/api/queue/jobs").json(),
        client.get("/api/queue/workers").json(),
        client.get("/api/runs").json(),
        disk_state(data_dir),
    )


def _assert_nothing_changed(client, data_dir, before: tuple) -> None:
    jobs, workers, runs, disk = before
    assert client.get("/api/queue/jobs").json() == jobs
    assert client.get("/api/runs").json() == runs
    now = client.get("/api/queue/workers").json()
    assert sorted((w["id"], w["job_id"], w["name"]) for w in now["workers"]) == sorted(
        (w["id"], w["job_id"], w["name"]) for w in workers["workers"]
    )
    assert_unchanged(data_dir, disk)


REFUSED = [
    ("post", "/api/queue/jobs", {"dataset": "nope", "config": CONFIG}, 404),
    ("post", "/api/queue/jobs", {"dataset": "shapes", "config": {"task": "detection"}}, 400),
    ("post", "/api/queue/jobs", {"dataset": "shapes", "requirements": {"gpu": "fast"}}, 400),
    ("post", "/api/queue/jobs", {"dataset": "shapes", "requirements": {"backend": 3}}, 400),
    ("post", "/api/queue/jobs", {"dataset": "shapes", "max_attempts": 0}, 422),
    ("post", "/api/queue/jobs", {"dataset": "shapes", "max_attempts": MAX_ATTEMPTS + 1}, 422),
    ("post", "/api/queue/jobs", {"dataset": "shapes", "priority": MAX_JOB_PRIORITY + 1}, 422),
    ("post", "/api/queue/jobs", {"dataset": "shapes", "owner": "me"}, 422),
    ("post", "/api/queue/jobs", {"dataset": "../etc"}, 400),
    ("post", "/api/queue/workers", {"name": "x" * (MAX_WORKER_NAME_CHARS + 1), "device": WEBGL_DEVICE}, 422),
    ("post", "/api/queue/workers", {"name": "", "device": WEBGL_DEVICE}, 422),
    ("post", "/api/queue/workers", {"name": "tab", "device": {**WEBGL_DEVICE, "user_agent": "x" * 10_000}}, 422),
    ("post", "/api/queue/workers", {"name": "tab", "device": {**WEBGL_DEVICE, "extra": 1}}, 422),
    ("post", "/api/queue/workers", {"name": "tab", "device": {"images_per_second": -1}}, 422),
    ("post", "/api/queue/workers/nobody/claim", None, 404),
    ("post", "/api/queue/workers/nobody/heartbeat", {}, 404),
    ("get", "/api/queue/jobs?state=sleeping", None, 400),
    ("patch", "/api/queue/jobs/0123456789ab", {"priority": 1}, 404),
    ("post", "/api/queue/jobs/0123456789ab/cancel", None, 404),
    ("post", "/api/queue/jobs/0123456789ab/complete", {"attempt_token": "x", "status": "finished"}, 404),
]


def test_bad_requests_are_refused_and_change_nothing(queue_server, qclient):
    enqueue(qclient)
    register(qclient)
    before = _everything(qclient, queue_server.data_dir)
    for method, path, body, status in REFUSED:
        response = qclient.request(method.upper(), path, **({} if body is None else {"json": body}))
        assert response.status_code == status, f"{method} {path} {body}: {response.text}"
        assert response.json()["detail"]
        _assert_nothing_changed(qclient, queue_server.data_dir, before)


def test_bad_heartbeats_and_completions_of_a_claimed_job_change_nothing(queue_server, qclient):
    enqueue(qclient)
    worker, other = register(qclient, "holder"), register(qclient, "other")
    job = claim(qclient, worker)
    before = _everything(qclient, queue_server.data_dir)
    answers = [
        qclient.post(f"/api/queue/workers/{worker}/heartbeat", json={"job_id": job["id"], "attempt_token": "forged"}),
        qclient.post(f"/api/queue/workers/{other}/heartbeat", json={"job_id": job["id"], **_token(job)}),
        qclient.post(f"/api/queue/workers/{worker}/heartbeat", json={"job_id": "0123456789ab", **_token(job)}),
        qclient.post(f"/api/queue/workers/{worker}/heartbeat", json={"job_id": job["id"], "progress": {"epoch": -1}}),
        qclient.post(f"/api/queue/jobs/{job['id']}/complete", json={"attempt_token": "forged", "status": "finished"}),
        qclient.post(f"/api/queue/jobs/{job['id']}/complete", json={**_token(job), "status": "exploded"}),
        qclient.patch(f"/api/queue/jobs/{job['id']}", json={"priority": "high"}),
        qclient.post(f"/api/queue/jobs/{job['id']}/complete", json={"attempt_token": "tökén", "status": "failed"}),
        qclient.post(f"/api/queue/workers/{worker}/heartbeat", json={"job_id": job["id"], "attempt_token": "tökén"}),
        qclient.post(
            f"/api/runs/{job['id']}/epochs",
            json={"epoch": 0},
            headers={"X-Browsertrain-Attempt": "tökén".encode("latin-1")},
        ),
        qclient.post(f"/api/runs/{job['id']}/epochs", json={"epoch": 0}, headers={"X-Browsertrain-Attempt": "x" * 200}),
    ]
    assert [a.status_code for a in answers] == [409, 409, 404, 422, 409, 422, 422, 409, 409, 409, 422]
    _assert_nothing_changed(qclient, queue_server.data_dir, before)
    assert qclient.get("/api/queue/jobs").json()["jobs"][0]["lease_expires_at"] == job["lease_expires_at"]


def _token(job: dict) -> dict:
    return {"attempt_token": job["attempt_token"]}


def test_a_job_that_cannot_be_stored_leaves_no_run_behind(queue_server, qclient):
    before = _everything(qclient, queue_server.data_dir)
    app = queue_server.app
    with pytest.raises(
        (StatementError, TypeError)
    ):  # params that are not JSON: the job's row is refused after the run was made
        service.enqueue(app.state.engine, app.state.storage, dataset="shapes", config=CONFIG, params={"lr": {0.1}})
    _assert_nothing_changed(qclient, queue_server.data_dir, before)
