"""Snapshots taken mid-epoch keep their position (epoch, step) for a resume; a step without its epoch is refused."""

from __future__ import annotations

from support import DENSE_WEIGHTS, model_json, new_run, post_snapshot, weights_for


def listed(client, run_id: str) -> list[dict]:
    return client.get(f"/api/runs/{run_id}/snapshots").json()["snapshots"]


def test_a_mid_epoch_snapshot_keeps_its_step_and_an_epoch_end_snapshot_has_none(mclient):
    run_id = new_run(mclient)
    weights = weights_for(DENSE_WEIGHTS, seed=1)
    assert post_snapshot(mclient, run_id, model_json(), weights, epoch=1).status_code == 201
    answer = post_snapshot(mclient, run_id, model_json(), weights, epoch=1, step=17)
    assert answer.status_code == 201, answer.text
    assert (answer.json()["epoch"], answer.json()["step"]) == (1, 17)
    snapshots = listed(mclient, run_id)
    assert [(s["seq"], s["epoch"], s.get("step")) for s in snapshots] == [(1, 1, None), (2, 1, 17)]
    run = mclient.get(f"/api/runs/{run_id}").json()
    assert run["latest_snapshot"] == 2 and run["snapshots"][-1]["step"] == 17


def test_a_step_without_its_epoch_or_out_of_range_is_refused_and_stores_nothing(mclient):
    run_id = new_run(mclient)
    weights = weights_for(DENSE_WEIGHTS, seed=2)
    no_epoch = post_snapshot(mclient, run_id, model_json(), weights, step=3)
    assert no_epoch.status_code == 400 and "epoch" in no_epoch.json()["detail"]
    for step in (0, -1, 10**9):
        assert post_snapshot(mclient, run_id, model_json(), weights, epoch=0, step=step).status_code == 422
    assert listed(mclient, run_id) == []
