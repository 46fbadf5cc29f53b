"""SIGKILL mid-request and mid-write: after a restart on the same data folder the previous snapshot loads byte-equal and
no half-written snapshot or import is visible, through the API or on disk."""

from __future__ import annotations

import json
import signal
import socket
import time
from pathlib import Path

import pytest
from support import (
    LiveServer,
    imagefolder,
    latest_model,
    model_json,
    multipart_body,
    new_run,
    png_bytes,
    post_snapshot,
    start_isolated,
    start_server,
    weights_for,
    zip_bytes,
)

pytestmark = pytest.mark.slow  # each test starts, kills and restarts a server

SMALL = [
    {"name": "dense/kernel", "shape": [64, 10], "dtype": "float32"},
    {"name": "dense/bias", "shape": [10], "dtype": "float32"},
]
BIG = [
    {"name": "dense/kernel", "shape": [3000, 4000], "dtype": "float32"},  # 48 MB
    {"name": "dense/bias", "shape": [4000], "dtype": "float32"},
]


def restart(old: LiveServer) -> LiveServer:
    return start_server(old.data_dir, env={"TMPDIR": str(old.data_dir.parent / "tmp")})


def begin_post(server: LiveServer, path: str, parts) -> tuple[socket.socket, bytes]:
    body, content_type = multipart_body(parts)
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.sendall(
        (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
    )
    return sock, body


def snapshot_parts(specs, weights: bytes):
    return [
        ("model.json", "model.json", "application/json", json.dumps(model_json(specs)).encode()),
        ("model.weights.bin", "model.weights.bin", "application/octet-stream", weights),
    ]


def kill_when(server: LiveServer, appeared, seconds: float = 20) -> bool:
    """SIGKILL the server as soon as appeared() is true; say whether it was (else kill at the deadline)."""
    deadline = time.monotonic() + seconds
    seen = False
    while time.monotonic() < deadline:
        if appeared():
            seen = True
            break
        time.sleep(0.001)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(10)
    return seen


def incoming(folder: Path) -> list[Path]:
    return list(folder.glob(".incoming-*")) if folder.exists() else []


def test_sigkill_mid_request_keeps_the_previous_snapshot(tmp_path):
    server = start_isolated(tmp_path)
    try:
        with server.client() as c:
            run_id = new_run(c)
            previous = weights_for(SMALL, seed=1)
            assert post_snapshot(c, run_id, model_json(SMALL), previous, epoch=0).status_code == 201
        sock, body = begin_post(server, f"/api/runs/{run_id}/snapshots", snapshot_parts(BIG, weights_for(BIG, 2)))
        sock.sendall(body[: len(body) // 2])
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(10)
        sock.close()
    finally:
        server.stop()
    server = restart(server)
    try:
        with server.client() as c:
            model, weights = latest_model(c, run_id)
            assert weights == previous
            assert [s["seq"] for s in c.get(f"/api/runs/{run_id}/snapshots").json()["snapshots"]] == [1]
            assert c.get(f"/api/runs/{run_id}").json()["latest_snapshot"] == 1
            # Training goes on: the next snapshot is numbered after the previous one.
            again = post_snapshot(c, run_id, model_json(SMALL), weights_for(SMALL, 3), epoch=1)
            assert again.status_code == 201 and again.json()["seq"] == 2
    finally:
        server.stop()


def test_sigkill_mid_write_keeps_the_previous_snapshot(tmp_path):
    server = start_isolated(tmp_path)
    try:
        with server.client() as c:
            run_id = new_run(c)
            previous = weights_for(SMALL, seed=4)
            assert post_snapshot(c, run_id, model_json(SMALL), previous).status_code == 201
        snapshots = server.data_dir / "runs" / run_id / "snapshots"
        sock, body = begin_post(server, f"/api/runs/{run_id}/snapshots", snapshot_parts(BIG, weights_for(BIG, 5)))
        sock.sendall(body)  # all of it: the server validates, then starts writing the new snapshot folder
        caught = kill_when(server, lambda: bool(incoming(snapshots)))
        sock.close()
        assert caught, "the server never started writing the snapshot"
        assert incoming(snapshots), "killed while the half-written snapshot folder was there"
    finally:
        server.stop()
    server = restart(server)
    try:
        with server.client() as c:
            model, weights = latest_model(c, run_id)
            assert weights == previous
            listed = c.get(f"/api/runs/{run_id}").json()["snapshots"]
            assert [s["seq"] for s in listed] == [1]
            assert ".incoming" not in c.get(f"/api/runs/{run_id}").text
        assert incoming(snapshots) == [], "a restart removes what the killed write left"
    finally:
        server.stop()


def test_sigkill_mid_import_leaves_no_dataset_and_no_staging(tmp_path):
    server = start_isolated(tmp_path)
    members = {
        **imagefolder({"a": 30, "b": 30}, seed=900),
        **{f"a/large{i}.png": png_bytes(950 + i, size=(512, 512)) for i in range(12)},
    }
    try:
        sock, body = begin_post(
            server,
            "/api/datasets",
            [("name", None, None, b"killed"), ("file", "d.zip", "application/zip", zip_bytes(members))],
        )
        sock.sendall(body)
        staging = server.data_dir / ".staging"
        caught = kill_when(server, lambda: any(staging.iterdir()))
        sock.close()
        assert caught, "the server never started the import"
    finally:
        server.stop()
    server = restart(server)
    try:
        with server.client() as c:
            assert c.get("/api/datasets/killed").status_code == 404
            assert [d["name"] for d in c.get("/api/datasets").json()["datasets"]] == ["shapes"]
            assert c.get("/api/datasets/shapes").json()["num_items"] == 240
        assert list((server.data_dir / ".staging").iterdir()) == []
        assert not (server.data_dir / "datasets" / "killed").exists()
    finally:
        server.stop()
