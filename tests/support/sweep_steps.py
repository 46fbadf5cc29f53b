"""What the sweep tests do through the real HTTP API: create a sweep, and act as a worker that trains its trials
(claim, post epochs with their accuracy, finish the run, complete the job)."""

from __future__ import annotations

import httpx

DEVICE = {"backend": "cpu", "backends": ["cpu"], "images_per_second": 50.0}
BASE = {"epochs": 3, "seed": 4}


def create(client: httpx.Client, **body) -> dict:
    response = client.post("/api/sweeps", json={"dataset": "shapes", "config": BASE, **body})
    assert response.status_code == 201, response.text
    return response.json()


def sweep(client: httpx.Client, sweep_id: str) -> dict:
    response = client.get(f"/api/sweeps/{sweep_id}")
    assert response.status_code == 200, response.text
    return response.json()


def jobs_of(client: httpx.Client, sweep_id: str) -> list[dict]:
    jobs = client.get("/api/queue/jobs").json()["jobs"]
    return sorted((j for j in jobs if j["sweep_id"] == sweep_id), key=lambda j: j["trial_number"])


def worker(client: httpx.Client, name: str = "tab") -> str:
    response = client.post("/api/queue/workers", json={"name": name, "device": DEVICE})
    assert response.status_code == 201, response.text
    return response.json()["worker_id"]


def claim(client: httpx.Client, worker_id: str) -> dict:
    response = client.post(f"/api/queue/workers/{worker_id}/claim")
    assert response.status_code == 200, response.text
    return response.json()["job"]


def post_epochs(client: httpx.Client, job: dict, accuracies: list[float | None], first: int = 0) -> None:
    headers = {"X-Browsertrain-Attempt": job["attempt_token"]}
    for epoch, accuracy in enumerate(accuracies, start=first):
        record = {"epoch": epoch, "train_loss": 1.0 - (accuracy or 0), "val_accuracy": accuracy}
        response = client.post(f"/api/runs/{job['id']}/epochs", json=record, headers=headers)
        assert response.status_code in (200, 201), response.text


def finish(client: httpx.Client, job: dict, accuracy: float) -> dict:
    """The run finished with this validation accuracy (as the train page reports it), and its job completed."""
    headers = {"X-Browsertrain-Attempt": job["attempt_token"]}
    summary = {"val_accuracy": accuracy, "reason": "done"}
    patched = client.patch(f"/api/runs/{job['id']}", json={"status": "finished", "summary": summary}, headers=headers)
    assert patched.status_code == 200, patched.text
    completed = client.post(
        f"/api/queue/jobs/{job['id']}/complete", json={"attempt_token": job["attempt_token"], "status": "finished"}
    )
    assert completed.status_code == 200, completed.text
    return completed.json()


def train(client: httpx.Client, worker_id: str, accuracies: list[float]) -> dict:
    """Claim the next job and train it to the end: one epoch per accuracy, the last one the run's."""
    job = claim(client, worker_id)
    post_epochs(client, job, accuracies)
    finish(client, job, accuracies[-1])
    return job
