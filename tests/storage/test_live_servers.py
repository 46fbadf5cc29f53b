"""Two real server processes, configured only by environment variables, sharing one database and one S3 store."""

from __future__ import annotations

import pytest
from support import imagefolder, upload, zip_bytes
from support.servers import start_server
from support.snapshots import DENSE_WEIGHTS, latest_model, model_json, post_snapshot, weights_for

# Slow: each process starts with the sample dataset, and the first stores its 240 items in the store.
pytestmark = [pytest.mark.live_server, pytest.mark.slow]


def test_two_server_processes_on_their_own_data_folders_serve_one_store(seaweed, s3_url, tmp_path):
    env = {
        **seaweed.env,
        "BROWSERTRAIN_S3_URL": s3_url,
        "BROWSERTRAIN_S3_ENDPOINT": seaweed.endpoint,
        "BROWSERTRAIN_DB_URL": f"sqlite:///{tmp_path / 'shared.db'}",
    }
    servers = []
    try:
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            servers.append(start_server(tmp_path / name, env=env))
        a, b = servers
        with a.client() as ca, b.client() as cb:
            assert upload(ca, "blocks", zip_bytes(imagefolder({"circle": 3, "square": 3}))).status_code == 201
            # Both started with the sample dataset, which only the first to store it imported.
            assert {d["name"] for d in cb.get("/api/datasets").json()["datasets"]} == {"blocks", "shapes"}
            assert cb.get("/api/datasets/blocks/items/5").content == ca.get("/api/datasets/blocks/items/5").content
            run = cb.post("/api/runs", json={"dataset": "blocks", "config": {"epochs": 2}})
            assert run.status_code == 201, run.text
            run_id = run.json()["id"]
            weights = weights_for(DENSE_WEIGHTS, seed=5)
            assert post_snapshot(cb, run_id, model_json(), weights, epoch=1).status_code == 201
            assert ca.post(f"/api/runs/{run_id}/epochs", json={"epoch": 0}).status_code == 201
            assert latest_model(ca, run_id)[1] == weights
            assert [e["epoch"] for e in cb.get(f"/api/runs/{run_id}").json()["epochs"]] == [0]
    finally:
        for server in servers:
            server.stop()
