"""Runs: create, epochs, status, snapshots as tfjs posts them, the latest model; and clear answers to bad input."""

from __future__ import annotations

import json

from support import (
    ADAM_WEIGHTS,
    DENSE_WEIGHTS,
    assert_unchanged,
    disk_state,
    latest_model,
    model_json,
    new_run,
    post_snapshot,
    weights_for,
)


def test_run_records_epochs_and_status(mclient):
    run_id = new_run(mclient)
    for epoch in range(3):
        response = mclient.post(
            f"/api/runs/{run_id}/epochs", json={"epoch": epoch, "loss": 1.0 / (epoch + 1), "acc": None}
        )
        assert response.status_code == 201, response.text
    patched = mclient.patch(f"/api/runs/{run_id}", json={"status": "finished", "summary": {"final_loss": 0.33}})
    assert patched.status_code == 200 and patched.json()["status"] == "finished"
    run = mclient.get(f"/api/runs/{run_id}").json()
    assert run["epochs_done"] == 3 and run["summary"] == {"final_loss": 0.33}
    assert [e["epoch"] for e in run["epochs"]] == [0, 1, 2]
    assert run["epochs"][1]["loss"] == 0.5
    assert run_id in [r["id"] for r in mclient.get("/api/runs", params={"dataset": "shapes"}).json()["runs"]]


def test_snapshot_round_trips_byte_equal(mclient):
    run_id = new_run(mclient)
    weights = weights_for(DENSE_WEIGHTS, seed=1)
    response = post_snapshot(mclient, run_id, model_json(), weights, epoch=0)
    assert response.status_code == 201, response.text
    assert response.json()["seq"] == 1 and response.json()["weight_bytes"] == len(weights)
    model, served = latest_model(mclient, run_id)
    assert served == weights
    assert model["modelTopology"] == model_json()["modelTopology"]
    assert model["weightsManifest"][0]["weights"] == DENSE_WEIGHTS
    newer = weights_for(DENSE_WEIGHTS, seed=2)
    assert post_snapshot(mclient, run_id, model_json(), newer, epoch=1).status_code == 201
    assert latest_model(mclient, run_id)[1] == newer
    listed = mclient.get(f"/api/runs/{run_id}/snapshots").json()["snapshots"]
    assert [(s["seq"], s["epoch"]) for s in listed] == [(1, 0), (2, 1)]
    first = mclient.get(f"/api/runs/{run_id}/snapshots/1/model.weights.bin")
    assert first.content == weights


def test_snapshot_with_adam_optimizer_state_is_accepted(mclient):
    run_id = new_run(mclient)
    specs = DENSE_WEIGHTS + ADAM_WEIGHTS
    weights = weights_for(specs, seed=3)
    model = model_json(
        specs,
        trainingConfig={
            "loss": "categoricalCrossentropy",
            "metrics": ["acc"],
            "optimizer_config": {"class_name": "Adam", "config": {"learningRate": 0.001}},
        },
    )
    response = post_snapshot(mclient, run_id, model, weights)
    assert response.status_code == 201, response.text
    served_model, served = latest_model(mclient, run_id)
    assert served == weights
    assert served_model["weightsManifest"][0]["weights"][2] == ADAM_WEIGHTS[0]


def test_run_for_an_unknown_dataset_is_404(module_server, mclient):
    before = disk_state(module_server.data_dir)
    response = mclient.post("/api/runs", json={"dataset": "no-such-dataset"})
    assert response.status_code == 404 and "no-such-dataset" in response.json()["detail"]
    assert_unchanged(module_server.data_dir, before)


def test_run_with_a_stale_dataset_hash_is_409(module_server, mclient):
    before = disk_state(module_server.data_dir)
    response = mclient.post("/api/runs", json={"dataset": "shapes", "dataset_hash": "0000000000000000"})
    assert response.status_code == 409 and "has changed" in response.json()["detail"]
    assert_unchanged(module_server.data_dir, before)


def test_run_of_another_task_than_its_dataset_is_refused(module_server, mclient):
    before = disk_state(module_server.data_dir)
    response = mclient.post("/api/runs", json={"dataset": "shapes", "config": {"task": "detection"}})
    assert response.status_code == 400
    assert "'shapes' is a classification set, but config.task is 'detection'" in response.json()["detail"]
    assert_unchanged(module_server.data_dir, before)


def test_run_config_with_nan_does_not_break_the_run_list(mclient):
    """NaN is not JSON: whatever the server keeps, it must still answer with valid JSON (NaN shows as null)."""
    for body in ('{"dataset": "shapes", "config": {"lr": NaN}}', '{"dataset": "shapes", "info": {"x": Infinity}}'):
        response = mclient.post("/api/runs", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code in (201, 400), response.text
        if response.status_code == 201:
            run = mclient.get(f"/api/runs/{response.json()['id']}")
            assert run.status_code == 200
            assert None in (run.json()["config"] | run.json()["info"]).values()
    listed = mclient.get("/api/runs")
    assert listed.status_code == 200 and json.loads(listed.text)["runs"]
    assert "NaN" not in listed.text and "Infinity" not in listed.text  # a browser's JSON.parse refuses both


def test_run_summary_with_nan_does_not_break_the_run(mclient):
    run_id = new_run(mclient)
    response = mclient.patch(
        f"/api/runs/{run_id}", content='{"summary": {"final_loss": NaN}}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (200, 400), response.text
    assert mclient.get(f"/api/runs/{run_id}").status_code == 200
    assert mclient.get("/api/runs").status_code == 200


def test_epoch_with_nan_loss_is_refused_and_log_stays_readable(mclient):
    run_id = new_run(mclient)
    assert mclient.post(f"/api/runs/{run_id}/epochs", json={"epoch": 0, "loss": 0.5}).status_code == 201
    response = mclient.post(
        f"/api/runs/{run_id}/epochs", content='{"epoch": 1, "loss": NaN}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert "NaN" in response.json()["detail"]
    run = mclient.get(f"/api/runs/{run_id}").json()
    assert [e["epoch"] for e in run["epochs"]] == [0] and run["epochs_done"] == 1


def test_bad_epoch_records_and_statuses_are_refused(module_server, mclient):
    run_id = new_run(mclient)
    before = disk_state(module_server.data_dir)
    for body in ({"loss": 1.0}, {"epoch": -1}, {"epoch": "one"}, {"epoch": 0, "note": "x" * 20_000}):
        response = mclient.post(f"/api/runs/{run_id}/epochs", json=body)
        assert response.status_code in (400, 422), body
        assert response.json()["detail"]
    bad_status = mclient.patch(f"/api/runs/{run_id}", json={"status": "exploded"})
    assert bad_status.status_code == 422 and "status" in json.dumps(bad_status.json()["detail"])
    assert_unchanged(module_server.data_dir, before)


def test_unknown_run_is_404_everywhere(module_server, mclient):
    before = disk_state(module_server.data_dir)
    ghost = "0123456789ab"
    for method, path, kwargs in (
        ("GET", f"/api/runs/{ghost}", {}),
        ("PATCH", f"/api/runs/{ghost}", {"json": {"status": "running"}}),
        ("POST", f"/api/runs/{ghost}/epochs", {"json": {"epoch": 0}}),
        ("GET", f"/api/runs/{ghost}/model.json", {}),
        ("GET", f"/api/runs/{ghost}/snapshots", {}),
        ("GET", f"/api/runs/{ghost}/snapshots/1/model.json", {}),
        ("GET", f"/api/runs/{ghost}/snapshots/1/model.weights.bin", {}),
    ):
        response = mclient.request(method, path, **kwargs)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["detail"]
    snap = post_snapshot(mclient, ghost, model_json(), weights_for(DENSE_WEIGHTS, 0))
    assert snap.status_code == 404
    assert_unchanged(module_server.data_dir, before)


def test_invalid_body_holding_infinity_gets_a_422_not_a_500(mclient):
    """The 422 echoes the body back; Infinity is no JSON, so it comes back as null. (The bytes go as they are.)"""
    response = mclient.post(
        "/api/runs", headers={"Content-Type": "application/json"}, content=b'{"config": Infinity, "info": {"x": NaN}}'
    )
    assert response.status_code == 422, response.text
    assert "dataset" in json.dumps(response.json()["detail"]) and "Infinity" not in response.text


def test_epoch_number_past_the_cap_gets_a_422_not_a_500(mclient):
    from server.limits import MAX_EPOCH

    run_id = new_run(mclient)
    for epoch in (MAX_EPOCH + 1, 2**63, 2**80):
        response = mclient.post(f"/api/runs/{run_id}/epochs", json={"epoch": epoch})
        assert response.status_code == 422, response.text
        assert "less than or equal" in json.dumps(response.json()["detail"])
    assert mclient.post(f"/api/runs/{run_id}/epochs", json={"epoch": MAX_EPOCH}).status_code == 201
    assert mclient.get(f"/api/runs/{run_id}").json()["epochs_done"] == MAX_EPOCH + 1
