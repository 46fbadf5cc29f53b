"""Many clients at once: snapshots and epoch records racing on one run, and two uploads racing for one name."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest
from support import imagefolder, latest_model, model_json, new_run, post_snapshot, upload, weights_for, zip_bytes

pytestmark = pytest.mark.live_server  # concurrent clients against one real server process

CLIENTS = 20
EPOCHS_PER_CLIENT = 10
SPECS = [
    {"name": "conv/kernel", "shape": [3, 3, 16, 64], "dtype": "float32"},
    {"name": "dense/kernel", "shape": [256, 100], "dtype": "float32"},
    {"name": "dense/bias", "shape": [100], "dtype": "float32"},
]


def run_together(count: int, work) -> list:
    """Start `count` threads on `work(index)` at the same moment; return their results (or raise their errors)."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list = []

    def body(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    if errors:
        raise errors[0]
    return results


@pytest.mark.slow
def test_twenty_clients_posting_snapshots_and_epochs_to_one_run(module_server, mclient):
    run_id = new_run(mclient)
    posted = {i: weights_for(SPECS, seed=1000 + i) for i in range(CLIENTS)}

    def client_work(index: int) -> list[int]:
        statuses = []
        with module_server.client() as c:
            for k in range(EPOCHS_PER_CLIENT):
                record = {
                    "epoch": index * EPOCHS_PER_CLIENT + k,
                    "client": index,
                    "k": k,
                    "loss": 1.0 / (k + 1),
                    "note": f"client {index} epoch {k} " + "x" * 500,
                }
                statuses.append(c.post(f"/api/runs/{run_id}/epochs", json=record).status_code)
                if k == EPOCHS_PER_CLIENT // 2:
                    statuses.append(post_snapshot(c, run_id, model_json(SPECS), posted[index], epoch=k).status_code)
        return statuses

    for statuses in run_together(CLIENTS, client_work):
        assert statuses == [201] * (EPOCHS_PER_CLIENT + 1)

    model, weights = latest_model(mclient, run_id)
    assert weights in posted.values()
    snapshots = mclient.get(f"/api/runs/{run_id}/snapshots").json()["snapshots"]
    assert [s["seq"] for s in snapshots] == list(range(1, CLIENTS + 1))
    assert {s["sha256"] for s in snapshots} == {hashlib.sha256(w).hexdigest() for w in posted.values()}
    newest = max(snapshots, key=lambda s: s["seq"])
    assert hashlib.sha256(weights).hexdigest() == newest["sha256"], "latest is the last one numbered"
    for snapshot in snapshots:
        served = mclient.get(f"/api/runs/{run_id}/snapshots/{snapshot['seq']}/model.weights.bin").content
        assert hashlib.sha256(served).hexdigest() == snapshot["sha256"]

    log = (module_server.data_dir / "runs" / run_id / "epochs.jsonl").read_bytes()
    assert log.endswith(b"\n")
    lines = log.decode().split("\n")[:-1]
    assert len(lines) == CLIENTS * EPOCHS_PER_CLIENT
    records = [json.loads(line) for line in lines]  # every line whole
    assert sorted((r["client"], r["k"]) for r in records) == [
        (i, k) for i in range(CLIENTS) for k in range(EPOCHS_PER_CLIENT)
    ]
    run = mclient.get(f"/api/runs/{run_id}").json()
    assert run["epochs_done"] == CLIENTS * EPOCHS_PER_CLIENT
    assert len(run["epochs"]) == CLIENTS * EPOCHS_PER_CLIENT
    assert run["latest_snapshot"] == CLIENTS
    leftovers = [
        p.name
        for p in (module_server.data_dir / "runs" / run_id / "snapshots").iterdir()
        if p.name.startswith(".incoming")
    ]
    assert leftovers == []


def test_two_uploads_racing_for_one_name_give_one_dataset(module_server, mclient):
    archives = [zip_bytes(imagefolder({"a": 40, "b": 40}, seed=700 + 100 * i)) for i in range(2)]

    def client_work(index: int):
        with module_server.client() as c:
            response = upload(c, "raced", archives[index])
            return response.status_code, response.json()

    results = run_together(2, client_work)
    statuses = sorted(status for status, _ in results)
    assert statuses == [201, 409], results
    winner = next(body for status, body in results if status == 201)
    loser = next(body for status, body in results if status == 409)
    assert "already exists" in loser["detail"]
    manifest = mclient.get("/api/datasets/raced").json()
    assert manifest["hash"] == winner["hash"] and manifest["num_items"] == 80
    for item in manifest["items"][:5]:
        body = mclient.get(f"/api/datasets/raced/items/{item['id']}").content
        assert hashlib.sha256(body).hexdigest() == item["sha256"]
    assert list((module_server.data_dir / ".staging").iterdir()) == []


@pytest.mark.slow
def test_twenty_clients_reading_while_runs_are_written(module_server):
    """Reads never see a half-written dataset listing, run list or manifest."""

    def client_work(index: int) -> set[int]:
        seen = set()
        with module_server.client() as c:
            for _ in range(10):
                if index % 2:
                    seen.add(c.post("/api/runs", json={"dataset": "shapes"}).status_code)
                else:
                    seen.add(c.get("/api/runs").status_code)
                    seen.add(c.get("/api/datasets").status_code)
                    seen.add(c.get("/api/datasets/shapes/bulk", params={"count": 20}).status_code)
        return seen

    for seen in run_together(CLIENTS, client_work):
        assert seen <= {200, 201}, seen
