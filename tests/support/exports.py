"""What the export tests share besides their fixtures (tests/export/conftest.py): the formats, a Python without the
export extra, snapshots built from real ones, downloads, and the programs the tests run (Node, the CLI)."""

from __future__ import annotations

import http.server
import io
import json
import subprocess
import sys
import threading
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest

from .servers import ROOT, LiveServer

FORMATS = ("tfjs", "float16", "uint16", "uint8", "keras", "savedmodel", "tflite", "tflite-dynamic")
TFJS_FORMATS = FORMATS[:4]  # built in numpy, without the export extra
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


def members(data: bytes) -> dict[str, bytes]:
    """A download's files by their path inside its one folder."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename.split("/", 1)[1]: archive.read(info) for info in archive.infolist() if not info.is_dir()}


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
