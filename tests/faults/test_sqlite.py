"""The database under stress, for real: SQLite on its own full tmpfs, and two server processes writing to one
database at once (WAL, busy timeouts)."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing

import pytest
from support import DENSE_WEIGHTS, model_json, new_run, post_snapshot, start_server, weights_for

from .test_disk_full import epoch_lines, fill, small_filesystem

WRITERS_PER_SERVER = 4
EPOCHS_PER_WRITER = 40


@pytest.fixture
def full_database_server(tmp_path):
    """The data folder on the big disk; the database alone on a 2 MiB tmpfs, so only SQLite runs out of space."""
    with small_filesystem(tmp_path / "db", "2m") as db_disk:
        (tmp_path / "data").mkdir()
        live = start_server(tmp_path / "data", env={"BROWSERTRAIN_DB_URL": f"sqlite:///{db_disk}/browsertrain.db"})
        try:
            yield live, db_disk
        finally:
            live.stop()


def test_sqlite_full_disk_during_an_epoch_write_is_507_and_changes_nothing(full_database_server):
    server, db_disk = full_database_server
    with server.client() as c:
        run_id = new_run(c)
        assert c.post(f"/api/runs/{run_id}/epochs", json={"epoch": 0, "train_loss": 1.0}).status_code == 201
        filler = fill(db_disk)
        record = {"epoch": 1, "train_loss": 0.5}
        response = c.post(f"/api/runs/{run_id}/epochs", json=record)
        assert response.status_code == 507, response.text
        assert response.json()["detail"] == "the disk is full; epoch 1 was not recorded"
        # The log and the count agree: the line the database could not count was cut back off.
        assert [line["epoch"] for line in epoch_lines(server.data_dir, run_id)] == [0]
        assert c.get(f"/api/runs/{run_id}").json()["epochs_done"] == 1
        # Other writes say the same, and leave nothing half-made.
        runs_before = sorted(p.name for p in (server.data_dir / "runs").iterdir())
        created = c.post("/api/runs", json={"dataset": "shapes"})
        assert created.status_code == 507 and created.json()["detail"] == "the disk is full; the run was not created"
        assert sorted(p.name for p in (server.data_dir / "runs").iterdir()) == runs_before
        snapshot = post_snapshot(c, run_id, model_json(), weights_for(DENSE_WEIGHTS, 1))
        assert snapshot.status_code == 507, snapshot.text
        assert snapshot.json()["detail"] == "the disk is full; the snapshot was not stored"
        assert not (server.data_dir / "runs" / run_id / "snapshots" / "s000001").exists()

        filler.unlink()  # space comes back: the page's retry is taken, once
        assert c.post(f"/api/runs/{run_id}/epochs", json=record).status_code == 201
        run = c.get(f"/api/runs/{run_id}").json()
        assert [e["epoch"] for e in run["epochs"]] == [0, 1] and run["epochs_done"] == 2
        assert post_snapshot(c, run_id, model_json(), weights_for(DENSE_WEIGHTS, 1)).status_code == 201


@pytest.mark.slow
def test_two_server_processes_writing_one_database_at_once_lose_nothing(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    servers = [start_server(data), start_server(data)]
    try:
        with servers[0].client() as c:
            runs = [new_run(c) for _ in range(2 * WRITERS_PER_SERVER)]
        failures: list[str] = []
        barrier = threading.Barrier(len(runs))

        def writer(index: int) -> None:
            run_id = runs[index]
            with servers[index % 2].client() as c:
                barrier.wait(30)
                for epoch in range(EPOCHS_PER_WRITER):
                    for response in (
                        c.post(f"/api/runs/{run_id}/epochs", json={"epoch": epoch, "w": index}),
                        c.patch(f"/api/runs/{run_id}", json={"status": "running", "summary": {"epoch": epoch}}),
                    ):
                        if response.status_code >= 300:
                            failures.append(f"{response.request.method} {response.status_code} {response.text}")

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(len(runs))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
        assert failures == []
        with servers[1].client() as c:
            for run_id in runs:
                run = c.get(f"/api/runs/{run_id}").json()
                assert run["epochs_done"] == EPOCHS_PER_WRITER and run["summary"] == {"epoch": EPOCHS_PER_WRITER - 1}
                assert [e["epoch"] for e in run["epochs"]] == list(range(EPOCHS_PER_WRITER))
        with closing(sqlite3.connect(data / "browsertrain.db")) as database:  # readers never block the writer
            assert database.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        for server in servers:
            server.stop()
