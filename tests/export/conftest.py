"""The export tests' servers: one with a run trained on the sample dataset in real headless Chromium, and a second on
the same data folder that cannot find the export extra. Their helpers live in tests/support/exports.py."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest
from support import ROOT, STARTUP_SECONDS, LiveServer, start_server
from support.exports import WITHOUT_EXTRA, TrainedRun
from support.task_snapshots import upload_task_sets

from server.headless import free_port

# Enough epochs for the sample to reach ~75% validation accuracy (chance is 33%), so a broken export shows.
TRAIN_EPOCHS = 20
TRAIN_SECONDS = 600


def fresh_data_dir(tmp_path_factory, name: str):
    """An empty data folder for a server of its own."""
    data = tmp_path_factory.mktemp(name) / "data"
    data.mkdir()
    return data


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> TrainedRun:
    """A server whose run was trained on `shapes` by the train page itself, in headless Chromium (wasm backend)."""
    data = fresh_data_dir(tmp_path_factory, "export")
    live = start_server(data)
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "server.cli",
                "train",
                "--dataset",
                "shapes",
                "--epochs",
                str(TRAIN_EPOCHS),
                "--backend",
                "wasm",
                "--seed",
                "1",
                "--json",
                "--server",
                live.url,
                "--timeout",
                str(TRAIN_SECONDS),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=TRAIN_SECONDS + 60,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        assert summary["reason"] == "done", summary
        with live.client() as client:
            run = client.get(f"/api/runs/{summary['run_id']}").json()
        yield TrainedRun(live, summary["run_id"], summary, run["snapshots"][-1]["seq"])
    finally:
        live.stop()


@pytest.fixture(scope="session")
def no_extra_server(trained) -> LiveServer:
    """A second server on the trained server's data folder, in a Python that cannot find the export extra."""
    port = free_port()
    log = open(trained.data_dir.parent / f"server-{port}.log", "wb")
    with log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                WITHOUT_EXTRA,
                "serve",
                "--data-dir",
                str(trained.data_dir),
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    live = LiveServer(f"http://127.0.0.1:{port}", trained.data_dir, process, port)
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        assert process.poll() is None and time.monotonic() < deadline, "the server without the extra did not start"
        try:
            if httpx.get(f"{live.url}/api/datasets", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    yield live
    live.stop()


@pytest.fixture(scope="session")
def task_server(tmp_path_factory) -> LiveServer:
    """A server holding the two small annotated sets (`boxes`, `points`) that detection and landmarks runs use."""
    live = start_server(fresh_data_dir(tmp_path_factory, "task-exports"))
    try:
        upload_task_sets(live)
        yield live
    finally:
        live.stop()
