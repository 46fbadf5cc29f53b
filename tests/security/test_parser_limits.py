"""Input that makes Python's own parsers give up (RecursionError, csv.Error) is a clear 400, never a 500, and nothing
is stored: JSON nested thousands deep, a labels.csv field past the csv module's limit."""

from __future__ import annotations

import json
import zipfile

from support import (
    DENSE_WEIGHTS,
    assert_unchanged,
    disk_state,
    imagefolder,
    latest_model,
    model_json,
    new_run,
    post_snapshot,
    upload,
    weights_for,
    zip_bytes,
)

from server.limits import MAX_JSON_DEPTH

WEIGHTS = weights_for(DENSE_WEIGHTS, seed=7)


def nested(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


def test_snapshot_model_json_nested_10000_deep_is_400_not_500(module_server, mclient):
    run_id = new_run(mclient)
    assert post_snapshot(mclient, run_id, model_json(), WEIGHTS).status_code == 201
    for levels in (10_000, MAX_JSON_DEPTH + 1):
        deep = json.dumps(model_json())[:-1] + f', "deep": {nested(levels)}}}'
        before = disk_state(module_server.data_dir)
        response = post_snapshot(mclient, run_id, deep.encode(), WEIGHTS)
        assert response.status_code == 400, response.text
        assert f"model.json nests deeper than {MAX_JSON_DEPTH} levels" in response.json()["detail"]
        assert_unchanged(module_server.data_dir, before)
    assert latest_model(mclient, run_id)[1] == WEIGHTS


def test_run_bodies_nested_900_deep_are_400_and_the_run_stays_readable(module_server, mclient):
    """Nested 900 deep, json.loads still parses it: it was stored, and every later read of the run was a 500."""
    run_id = new_run(mclient)
    requests = [
        ("POST", f"/api/runs/{run_id}/epochs", '{"epoch": 0, "deep": %s}'),
        ("PATCH", f"/api/runs/{run_id}", '{"summary": {"deep": %s}}'),
        ("POST", "/api/runs", '{"dataset": "shapes", "config": {"deep": %s}}'),
    ]
    for levels in (900, 10_000):
        for method, url, template in requests:
            before = disk_state(module_server.data_dir)
            runs_before = mclient.get("/api/runs").json()
            response = mclient.request(
                method, url, content=template % nested(levels), headers={"content-type": "application/json"}
            )
            assert response.status_code == 400, (method, url, levels, response.text)
            assert "nests deeper than" in response.json()["detail"]
            assert_unchanged(module_server.data_dir, before)
            assert mclient.get("/api/runs").json() == runs_before
    run = mclient.get(f"/api/runs/{run_id}")
    assert run.status_code == 200 and run.json()["epochs"] == []
    # The page's own nesting is far shallower than the cap and still goes through.
    shallow = {"epoch": 0, "deep": json.loads(nested(MAX_JSON_DEPTH - 1))}
    assert mclient.post(f"/api/runs/{run_id}/epochs", json=shallow).status_code == 201


def test_labels_csv_field_over_131072_characters_is_400_not_500(module_server, mclient):
    members = imagefolder({"cat": 2}, seed=900)
    rows = [f"{name},cat" for name in members] + ["cat/000.png," + "x" * 131_073]
    members["labels.csv"] = ("filename,label\n" + "\n".join(rows) + "\n").encode()
    before = disk_state(module_server.data_dir)
    response = upload(mclient, "long-field", zip_bytes(members, compression=zipfile.ZIP_STORED))
    assert response.status_code == 400, response.text
    assert response.json()["detail"].startswith("labels.csv line 4: field larger than field limit")
    assert_unchanged(module_server.data_dir, before)
    assert mclient.get("/api/datasets/long-field").status_code == 404
