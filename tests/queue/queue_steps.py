"""Steps the queue tests repeat: enqueue, register a worker, claim, heartbeat, complete."""

from __future__ import annotations

import httpx

WEBGL_DEVICE = {
    "backend": "webgl",
    "backends": ["webgl", "wasm", "cpu"],
    "gpu_renderer": "ANGLE (test)",
    "images_per_second": 400.0,
    "user_agent": "test",
}
CPU_DEVICE = {"backend": "cpu", "backends": ["cpu"], "images_per_second": 20.0}
CONFIG = {"epochs": 2, "batchSize": 8}


def enqueue(client: httpx.Client, **fields) -> dict:
    response = client.post("/api/queue/jobs", json={"dataset": "shapes", "config": CONFIG, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def register(client: httpx.Client, name: str = "tab", device: dict | None = None) -> str:
    response = client.post("/api/queue/workers", json={"name": name, "device": device or WEBGL_DEVICE})
    assert response.status_code == 201, response.text
    return response.json()["worker_id"]


def claim(client: httpx.Client, worker_id: str) -> dict | None:
    response = client.post(f"/api/queue/workers/{worker_id}/claim")
    assert response.status_code in (200, 204), response.text
    return None if response.status_code == 204 else response.json()["job"]


def heartbeat(client: httpx.Client, worker_id: str, job: dict | None, **progress) -> httpx.Response:
    body = {} if job is None else {"job_id": job["id"], "attempt_token": job["attempt_token"]}
    if progress:
        body["progress"] = progress
    return client.post(f"/api/queue/workers/{worker_id}/heartbeat", json=body)


def complete(client: httpx.Client, job: dict, status: str, error: str | None = None) -> httpx.Response:
    body = {"attempt_token": job["attempt_token"], "status": status}
    if error is not None:
        body["error"] = error
    return client.post(f"/api/queue/jobs/{job['id']}/complete", json=body)


def attempt_header(job: dict) -> dict:
    return {"X-Browsertrain-Attempt": job["attempt_token"]}


def job_state(client: httpx.Client, job_id: str) -> dict:
    listed = {job["id"]: job for job in client.get("/api/queue/jobs").json()["jobs"]}
    return listed[job_id]


def run_of(client: httpx.Client, job_id: str) -> dict:
    response = client.get(f"/api/runs/{job_id}")
    assert response.status_code == 200, response.text
    return response.json()
