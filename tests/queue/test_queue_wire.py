"""On a real socket (uvicorn): a stale attempt's snapshot, refused before its body is read, gets a whole 409 that the
worker can read (not a reset connection), and nothing is stored."""

from __future__ import annotations

from queue_steps import attempt_header, claim, enqueue, register, run_of
from support import DENSE_WEIGHTS, assert_unchanged, disk_state, model_json
from support.snapshots import snapshot_files

BIG_WEIGHTS_BYTES = 20 * 1024 * 1024  # far more than the socket buffers hold


def test_a_stale_attempts_large_snapshot_gets_a_whole_409(server, client):
    job = enqueue(client)
    worker = register(client)
    claimed = claim(client, worker)
    stale = {**claimed, "attempt_token": "an-earlier-attempt"}
    before = disk_state(server.data_dir)
    files = snapshot_files(model_json(DENSE_WEIGHTS), b"\0" * BIG_WEIGHTS_BYTES)
    response = client.post(f"/api/runs/{job['id']}/snapshots", files=files, headers=attempt_header(stale))
    assert response.status_code == 409 and job["id"] in response.json()["detail"]
    assert_unchanged(server.data_dir, before)
    assert run_of(client, job["id"])["snapshots"] == []
