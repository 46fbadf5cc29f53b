"""A finished run is a record that never changes; "train more" starts a child run that names its parent."""

from __future__ import annotations

import sqlite3

from sqlalchemy import inspect
from support import DENSE_WEIGHTS, model_json, new_run, post_snapshot, weights_for

from server import db


def finished_run(client) -> tuple[str, bytes]:
    """A run with two epochs, a snapshot and a final summary; returns its id and its stored GET body."""
    run_id = new_run(client)
    for epoch in range(2):
        assert client.post(f"/api/runs/{run_id}/epochs", json={"epoch": epoch, "train_loss": 1.0}).status_code == 201
    assert post_snapshot(client, run_id, model_json(), weights_for(DENSE_WEIGHTS, 1), epoch=2).status_code == 201
    done = client.patch(f"/api/runs/{run_id}", json={"status": "finished", "summary": {"final_loss": 0.5}})
    assert done.status_code == 200, done.text
    return run_id, client.get(f"/api/runs/{run_id}").content


def test_a_finished_run_refuses_every_change_and_stays_byte_for_byte_the_same(mclient):
    run_id, before = finished_run(mclient)
    refusals = [
        mclient.patch(f"/api/runs/{run_id}", json={"status": "running"}),
        mclient.patch(f"/api/runs/{run_id}", json={"summary": {"final_loss": None}}),
        mclient.patch(f"/api/runs/{run_id}", json={"info": {"resumed_at_epoch": 2}}),
        mclient.post(f"/api/runs/{run_id}/epochs", json={"epoch": 2, "train_loss": 0.1}),
        post_snapshot(mclient, run_id, model_json(), weights_for(DENSE_WEIGHTS, 2), epoch=3),
    ]
    for response in refusals:
        assert response.status_code == 409, response.text
        assert "is finished" in response.json()["detail"] and f"--from {run_id}" in response.json()["detail"]
    assert mclient.get(f"/api/runs/{run_id}").content == before


def test_a_retried_final_patch_is_answered_without_a_change(mclient):
    run_id, before = finished_run(mclient)
    again = mclient.patch(f"/api/runs/{run_id}", json={"status": "finished", "summary": {"final_loss": 0.5}})
    assert again.status_code == 200 and again.json()["status"] == "finished"
    assert mclient.get(f"/api/runs/{run_id}").content == before


def test_a_child_run_names_its_parent_and_the_parent_lists_it(mclient):
    parent, before = finished_run(mclient)
    created = mclient.post("/api/runs", json={"dataset": "shapes", "config": {"epochs": 4}, "parent_run_id": parent})
    assert created.status_code == 201, created.text
    child = created.json()["id"]
    assert mclient.get(f"/api/runs/{child}").json()["parent_run_id"] == parent
    assert mclient.get(f"/api/runs/{parent}").json()["child_run_ids"] == [child]
    assert mclient.get(f"/api/runs/{child}").json()["child_run_ids"] == []


def test_a_child_needs_an_existing_parent_on_the_same_dataset(mclient):
    missing = mclient.post("/api/runs", json={"dataset": "shapes", "parent_run_id": "a" * 12})
    assert missing.status_code == 400 and "does not exist" in missing.json()["detail"]
    bad_id = mclient.post("/api/runs", json={"dataset": "shapes", "parent_run_id": "../etc"})
    assert bad_id.status_code == 400


def test_a_database_made_before_lineage_gains_the_column_and_keeps_its_runs(tmp_path):
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:  # the runs table as the first release created it
        old.execute(
            "CREATE TABLE runs (id VARCHAR(12) PRIMARY KEY, dataset VARCHAR(64) NOT NULL, dataset_hash "
            "VARCHAR(64) NOT NULL, kind VARCHAR(16) NOT NULL, status VARCHAR(16) NOT NULL, config JSON NOT NULL, "
            "info JSON NOT NULL, summary JSON, epochs_done INTEGER NOT NULL, latest_snapshot INTEGER, "
            "created_at VARCHAR(32) NOT NULL, updated_at VARCHAR(32) NOT NULL)"
        )
        old.execute(
            "INSERT INTO runs VALUES ('abcdefabcdef', 'shapes', 'h', 'train', 'finished', '{}', '{}', NULL, 3, "
            "1, '2026-01-01', '2026-01-01')"
        )
    engine = db.connect(f"sqlite:///{path}")
    columns = {c["name"] for c in inspect(engine).get_columns("runs")}
    assert "parent_run_id" in columns
    assert "ix_runs_parent_run_id" in {i["name"] for i in inspect(engine).get_indexes("runs")}
    from server.runs.service import get_run

    old_run = get_run(engine, "abcdefabcdef")
    assert old_run["parent_run_id"] is None and old_run["epochs_done"] == 3
    db.connect(f"sqlite:///{path}")  # a second start finds it done
