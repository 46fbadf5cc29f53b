"""What the export tests share: a server with a run trained on the sample dataset in real headless Chromium, a second
server on the same data folder that cannot find the export extra, snapshots built from real ones, and downloads."""

from __future__ import annotations

import http.server
import io
import json
import subprocess
import sys
import threading
import time
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
from support import ROOT, STARTUP_SECONDS, LiveServer, start_server

from server.headless import free_port

HERE = Path(__file__).resolve().parent
# Enough epochs for the sample to reach ~75% validation accuracy (chance is 33%), so a broken export shows.
TRAIN_EPOCHS = 20
TRAIN_SECONDS = 600
FORMATS = ("tfjs", "float16", "uint16", "uint8", "keras", "savedmodel", "tflite", "tflite-dynamic")
# Python with the `export` extra hidden the standard way (a None entry in sys.modules makes find_spec say "absent").
WITHOUT_EXTRA = (
    "import sys; sys.modules['tensorflowjs'] = None; from server.cli import main; sys.exit(main(sys.argv[1:]))"
)


def require_extra() -> None:
    import importlib.util

    if importlib.util.find_spec("tensorflowjs") is None:
        pytest.fail("the export extra is not installed: run `make export-extra` (make test installs it)")


@dataclass
class TrainedRun:
    server: LiveServer
    run_id: str
    summary: dict  # what `browsertrain train --json` printed
    seq: int  # the run's last snapshot

    @property
    def data_dir(self) -> Path:
        return self.server.data_dir

    def snapshot_dir(self, seq: int | None = None) -> Path:
        return self.data_dir / "runs" / self.run_id / "snapshots" / f"s{seq or self.seq:06d}"


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> TrainedRun:
    """A server whose run was trained on `shapes` by the train page itself, in headless Chromium (wasm backend)."""
    data = tmp_path_factory.mktemp("export") / "data"
    data.mkdir()
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


# --- snapshots -------------------------------------------------------------------------------------------------------


def read_snapshot(folder: Path) -> tuple[bytes, bytes]:
    return (folder / "model.json").read_bytes(), (folder / "model.weights.bin").read_bytes()


def weight_offsets(model_json: dict) -> dict[str, tuple[int, list[int]]]:
    """Byte offset and shape of every weight in model.weights.bin (all float32, or Adam's int32 step: 4 bytes each)."""
    offsets, offset = {}, 0
    for group in model_json["weightsManifest"]:
        for spec in group["weights"]:
            offsets[spec["name"]] = (offset, spec["shape"])
            offset += 4 * int(np.prod(spec["shape"], dtype=np.int64))
    return offsets


def lossy_under_uint8(model_raw: bytes, weights: bytes) -> bytes:
    """The same snapshot with one head weight that ruins uint8 quantization but changes no float32 prediction.

    One channel of the last stage is switched off (its pointwise column zeroed, its bias -100, so the ReLU after it
    outputs exactly 0), and that channel's head weight becomes 1e4: in float32, 0 x 1e4 adds nothing. Quantized to
    uint8, the head kernel's range is then [~0, 1e4] in 255 steps of ~39, so every real head weight rounds to 0 and
    the model answers one class for every image: ~33% on three balanced classes, against ~75% in float32.
    """
    model_json = json.loads(model_raw)
    offsets = weight_offsets(model_json)
    data = bytearray(weights)

    def view(name: str) -> np.ndarray:
        offset, shape = offsets[name]
        return np.frombuffer(data, dtype="<f4", count=int(np.prod(shape)), offset=offset).reshape(shape)

    head = view("head/kernel")
    channel = int(np.abs(head).sum(axis=1).argmin())  # the channel the model leans on least
    for name, value in (("stage3_block1/pointwise_kernel", None), ("stage3_block1/bias", -100.0), ("head/kernel", 1e4)):
        array = view(name).copy()
        if name.endswith("pointwise_kernel"):
            array[..., channel] = 0
        elif name.endswith("bias"):
            array[channel] = value
        else:
            array[channel, 0] = value
        offset, _ = offsets[name]
        data[offset : offset + array.nbytes] = array.astype("<f4").tobytes()
    return bytes(data)


def new_run_with_snapshot(
    client: httpx.Client, dataset: str, config: dict, model_raw: bytes, weights: bytes, epoch: int = 1
) -> str:
    """A run on `dataset` holding one snapshot, posted as model.save(tf.io.http(url)) posts it."""
    response = client.post("/api/runs", json={"dataset": dataset, "config": config})
    assert response.status_code == 201, response.text
    run_id = response.json()["id"]
    files = [
        ("model.json", ("model.json", model_raw, "application/json")),
        ("model.weights.bin", ("model.weights.bin", weights, "application/octet-stream")),
    ]
    response = client.post(f"/api/runs/{run_id}/snapshots", files=files, params={"epoch": epoch})
    assert response.status_code == 201, response.text
    return run_id


# --- downloads -------------------------------------------------------------------------------------------------------


def download(client: httpx.Client, run_id: str, fmt: str, **params) -> httpx.Response:
    return client.get(f"/api/runs/{run_id}/export", params={"format": fmt, **params}, timeout=600)


def unzip(data: bytes, folder: Path) -> Path:
    """Extract a zip and return its one top-level folder."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
        assert len(tops) == 1, f"a zip should hold one folder, not {sorted(tops)}"
        archive.extractall(folder)
    return folder / tops.pop()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextmanager
def static_files(folder: Path):
    """Serve `folder` over HTTP on a free loopback port, as a user would host an unzipped tfjs export."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: _QuietHandler(*a, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def node(script: Path, job: dict, timeout: float = 300) -> dict:
    result = subprocess.run(
        ["node", str(script)], input=json.dumps(job), capture_output=True, text=True, cwd=ROOT, timeout=timeout
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def cli(*args: str, python: list[str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    command = (python or [sys.executable, "-m", "server.cli"]) + list(args)
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
