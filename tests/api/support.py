"""What the server tests share: isolated servers, what is on disk, raw HTTP, and builders for images, zips, forms and
tfjs snapshots."""

from __future__ import annotations

import io
import json
import os
import secrets
import socket
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from conftest import LiveServer, start_server

WATCHED = ("datasets", ".staging", "runs")


# --- servers ---------------------------------------------------------------------------------------------------------

def start_isolated(base: Path, *args: str, env: dict | None = None, host: str = "127.0.0.1") -> LiveServer:
    """A server whose data folder is base/data and whose temp folder is base/tmp, so stray temp files show."""
    data = base / "data"
    data.mkdir(parents=True)
    tmp = base / "tmp"
    tmp.mkdir()
    return start_server(data, *args, host=host, env={"TMPDIR": str(tmp), **(env or {})})


def log_text(server: LiveServer) -> str:
    return (server.data_dir.parent / f"server-{server.port}.log").read_text(errors="replace")


# --- what is on disk -------------------------------------------------------------------------------------------------

def files_under(folder: Path) -> dict[str, object]:
    """Every entry under `folder` (links not followed): files by size and mtime, folders and links by kind."""
    found: dict[str, object] = {}
    if not folder.exists():
        return found
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            key = str(path.relative_to(folder))
            if stat.S_ISLNK(st.st_mode):
                found[key] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                found[key] = "folder"
            else:
                found[key] = (st.st_size, st.st_mtime_ns)
    return found


def disk_state(data_dir: Path) -> dict:
    """datasets/, .staging/ and runs/ in full, the data folder's names, what is beside it, and the server's temp folder."""
    state: dict[str, object] = {name: files_under(data_dir / name) for name in WATCHED}
    state["data folder"] = sorted(p.name for p in data_dir.iterdir())
    state["beside the data folder"] = sorted(
        p.name for p in data_dir.parent.iterdir() if not (p.name.startswith("server-") and p.name.endswith(".log")))
    state["server temp folder"] = files_under(data_dir.parent / "tmp")
    state["outside the data folder"] = files_under(data_dir.parent / "outside")
    return state


def assert_unchanged(data_dir: Path, before: dict) -> None:
    after = disk_state(data_dir)
    for key in before.keys() | after.keys():
        old, new = before.get(key), after.get(key)
        if old != new:
            if isinstance(old, dict) and isinstance(new, dict):
                added = sorted(new.keys() - old.keys())
                removed = sorted(old.keys() - new.keys())
                changed = sorted(k for k in old.keys() & new.keys() if old[k] != new[k])
                raise AssertionError(f"{key} changed: added {added}, removed {removed}, changed {changed}")
            raise AssertionError(f"{key} changed: {old!r} -> {new!r}")


# --- things outside the data folder that must never be served --------------------------------------------------------

RUN_ID_OUTSIDE = "abcdefabcdef"      # a symlinked run folder
RUN_ID_SIBLING = "0123456789ab"      # a run folder in runs2/, beside runs/


def _fake_dataset(folder: Path, name: str, marker: str) -> None:
    (folder / "items").mkdir(parents=True)
    payload = marker.encode()
    (folder / "items" / "0.png").write_bytes(payload)
    manifest = {"format": "browsertrain-dataset", "version": 1, "name": name, "hash": marker, "classes": [marker],
                "num_items": 1, "total_bytes": len(payload), "source_format": "imagefolder",
                "created_at": "2024-01-01T00:00:00+00:00",
                "items": [{"id": 0, "label": marker, "file": "items/0.png", "source": marker, "width": 1, "height": 1,
                           "bytes": len(payload), "content_type": "text/html", "sha256": "0" * 64}]}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _fake_run(folder: Path, marker: str) -> None:
    seq_dir = folder / "snapshots" / "s000001"
    seq_dir.mkdir(parents=True)
    (seq_dir / "model.json").write_text(json.dumps(
        {"modelTopology": {"marker": marker}, "weightsManifest": [{"paths": ["./model.weights.bin"], "weights": []}]}))
    (seq_dir / "model.weights.bin").write_bytes(marker.encode())
    (seq_dir / "meta.json").write_text(json.dumps({"seq": 1, "epoch": 0, "sha256": marker}))
    (folder / "snapshots" / "latest.json").write_text(json.dumps({"seq": 1, "sha256": marker}))
    (folder / "epochs.jsonl").write_text(json.dumps({"epoch": 0, "marker": marker}) + "\n")


def plant_outside(data_dir: Path) -> list[str]:
    """Put secrets where a path trick would reach them; return the markers that must never appear in a response.

    - secret.txt beside the data folder;
    - datasets/linked and runs/abcdefabcdef: symlinks to dataset- and run-shaped folders outside the data folder;
    - datasets2/secretset and runs2/0123456789ab: sibling folders whose names start like the real ones;
    - datasets/hollow (an item file that is a symlink to secret.txt), datasets/mirror (a symlinked manifest).
    """
    markers = [f"SECRET{secrets.token_hex(8)}" for _ in range(5)]
    (data_dir.parent / "secret.txt").write_text(markers[0])
    outside = data_dir.parent / "outside"
    _fake_dataset(outside / "linkedset", "linked", markers[1])
    (data_dir / "datasets" / "linked").symlink_to(outside / "linkedset", target_is_directory=True)
    _fake_run(outside / "linkedrun", markers[2])
    (data_dir / "runs" / RUN_ID_OUTSIDE).symlink_to(outside / "linkedrun", target_is_directory=True)
    _fake_dataset(data_dir / "datasets2" / "secretset", "secretset", markers[3])
    _fake_run(data_dir / "runs2" / RUN_ID_SIBLING, markers[4])
    # Real folders inside datasets/ whose files are symlinks: an item pointing at secret.txt, a manifest pointing at
    # the outside dataset's manifest.
    _fake_dataset(data_dir / "datasets" / "hollow", "hollow", "hollow")
    item = data_dir / "datasets" / "hollow" / "items" / "0.png"
    item.unlink()
    item.symlink_to(data_dir.parent / "secret.txt")
    (data_dir / "datasets" / "mirror").mkdir()
    (data_dir / "datasets" / "mirror" / "manifest.json").symlink_to(outside / "linkedset" / "manifest.json")
    return markers


def assert_not_leaked(body: bytes, markers: list[str]) -> None:
    for marker in markers:
        assert marker.encode() not in body, "a response carried content from outside the data folder"


# --- raw HTTP: the server receives exactly these bytes, nothing normalised -------------------------------------------

@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)

    @property
    def detail(self) -> str:
        value = self.json()["detail"]
        return value if isinstance(value, str) else json.dumps(value)


def read_until_closed(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def parse_response(data: bytes) -> RawResponse:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/1.1 "):
        raise AssertionError(f"no HTTP response, got {data[:200]!r}")
    status = int(lines[0].split()[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers.setdefault(key.strip().lower(), value.strip())
    if headers.get("transfer-encoding") == "chunked":
        decoded, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                break
            decoded, rest = decoded + rest[:size], rest[size + 2:]
        body = decoded
    elif "content-length" in headers:
        body = body[: int(headers["content-length"])]
    return RawResponse(status, headers, body)


def raw_request(port: int, method: str, target: str, *, headers: dict | None = None, body: bytes = b"",
                host: str | None = None, timeout: float = 15) -> RawResponse:
    """Send one request byte for byte (`target` is not normalised or re-encoded) and read the whole answer."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host if host is not None else f'127.0.0.1:{port}'}",
             "Connection: close"]
    for key, value in (headers or {}).items():
        lines.append(f"{key}: {value}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        return parse_response(read_until_closed(sock))


# --- images, zips and forms ------------------------------------------------------------------------------------------

def png_bytes(seed: int = 0, size: tuple[int, int] = (8, 8)) -> bytes:
    """A small PNG whose pixels depend on `seed`, so different seeds give different bytes."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(seed: int = 0, size: tuple[int, int] = (8, 8)) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(png_bytes(seed, size))).save(out, format="JPEG")
    return out.getvalue()


def mpo_bytes(seed: int = 0, size: tuple[int, int] = (32, 24)) -> bytes:
    """A multi-picture JPEG as phone cameras write it: a JPEG, then a second one (here its colours inverted)."""
    first = Image.open(io.BytesIO(png_bytes(seed, size))).convert("RGB")
    second = Image.eval(first, lambda value: 255 - value)
    out = io.BytesIO()
    first.save(out, format="MPO", save_all=True, append_images=[second], quality=95)
    return out.getvalue()


def imagefolder(classes: dict[str, int], *, prefix: str = "", seed: int = 0) -> dict[str, bytes]:
    """{'cat': 2, 'dog': 3} -> {'cat/000.png': <png>, ...}, every image different."""
    members, n = {}, seed
    for label, count in classes.items():
        for index in range(count):
            members[f"{prefix}{label}/{index:03d}.png"] = png_bytes(n)
            n += 1
    return members


def labels_csv(labels: dict[str, str], *, header: bool = True, seed: int = 100) -> dict[str, bytes]:
    """{'a.png': 'cat'} -> images plus labels.csv."""
    members = {name: png_bytes(seed + i) for i, name in enumerate(labels)}
    rows = (["filename,label"] if header else []) + [f"{name},{label}" for name, label in labels.items()]
    members["labels.csv"] = ("\n".join(rows) + "\n").encode()
    return members


def write_tree(folder: Path, members: dict[str, bytes]) -> Path:
    for name, data in members.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


def zip_bytes(members: dict[str, bytes] | list[tuple[str, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in (members.items() if isinstance(members, dict) else members):
            archive.writestr(name, data)
    return out.getvalue()


def upload(client: httpx.Client, name: str, archive: bytes, filename: str = "dataset.zip") -> httpx.Response:
    return client.post("/api/datasets", files={"file": (filename, archive, "application/zip")}, data={"name": name})


def multipart_body(parts: list[tuple[str, str | None, str | None, bytes]], boundary: str | None = None
                   ) -> tuple[bytes, str]:
    """Build multipart/form-data by hand: parts are (field name, filename or None, content type or None, data)."""
    boundary = boundary or f"----browsertrain{secrets.token_hex(8)}"
    out = io.BytesIO()
    for field, filename, content_type, data in parts:
        disposition = f'form-data; name="{field}"' + (f'; filename="{filename}"' if filename is not None else "")
        out.write(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode())
        if content_type:
            out.write(f"Content-Type: {content_type}\r\n".encode())
        out.write(b"\r\n" + data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


# --- tfjs snapshots, built the way model.save(tf.io.http(url)) sends them ---------------------------------------------

DENSE_WEIGHTS = [
    {"name": "dense/kernel", "shape": [4, 2], "dtype": "float32"},
    {"name": "dense/bias", "shape": [2], "dtype": "float32"},
]
# includeOptimizer: true appends Adam's step counter and its two moments per weight.
ADAM_WEIGHTS = [
    {"name": "iter", "shape": [], "dtype": "int32", "group": "optimizer"},
    {"name": "dense/kernel/m", "shape": [4, 2], "dtype": "float32", "group": "optimizer"},
    {"name": "dense/bias/m", "shape": [2], "dtype": "float32", "group": "optimizer"},
    {"name": "dense/kernel/v", "shape": [4, 2], "dtype": "float32", "group": "optimizer"},
    {"name": "dense/bias/v", "shape": [2], "dtype": "float32", "group": "optimizer"},
]


def model_json(weights: list[dict] | None = None, paths: list | None = None, **extra) -> dict:
    """A tfjs functional model (what tf.model() saves): an InputLayer of 4 features, then one Dense layer."""
    layers = [
        {"name": "input", "class_name": "InputLayer", "inbound_nodes": [],
         "config": {"batch_input_shape": [None, 4], "dtype": "float32", "sparse": False, "name": "input"}},
        {"name": "dense", "class_name": "Dense", "inbound_nodes": [[["input", 0, 0, {}]]],
         "config": {"units": 2, "activation": "linear", "use_bias": True, "name": "dense", "trainable": True}}]
    topology = {"class_name": "Model", "config": {"name": "model_1", "layers": layers,
                                                   "input_layers": [["input", 0, 0]],
                                                   "output_layers": [["dense", 0, 0]]},
                "keras_version": "tfjs-layers 4.22.0", "backend": "tensor_flow.js"}
    return {"modelTopology": topology, "format": "layers-model",
            "generatedBy": "TensorFlow.js tfjs-layers v4.22.0", "convertedBy": None,
            "weightsManifest": [{"paths": paths if paths is not None else ["./model.weights.bin"],
                                 "weights": weights if weights is not None else DENSE_WEIGHTS}], **extra}


def weights_for(specs: list[dict], seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    out = bytearray()
    for spec in specs:
        count = int(np.prod(spec["shape"], dtype=np.int64))
        if spec["dtype"] == "int32":
            out += np.full(count, seed, dtype="<i4").tobytes()
        else:
            out += rng.standard_normal(count).astype("<f4").tobytes()
    return bytes(out)


def snapshot_files(model: dict | bytes, weights: bytes) -> list:
    raw = model if isinstance(model, bytes) else json.dumps(model).encode()
    return [("model.json", ("model.json", raw, "application/json")),
            ("model.weights.bin", ("model.weights.bin", weights, "application/octet-stream"))]


def post_snapshot(client: httpx.Client, run_id: str, model: dict | bytes, weights: bytes, **params) -> httpx.Response:
    return client.post(f"/api/runs/{run_id}/snapshots", files=snapshot_files(model, weights), params=params)


def new_run(client: httpx.Client, dataset: str = "shapes") -> str:
    response = client.post("/api/runs", json={"dataset": dataset, "config": {"epochs": 3}})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def latest_model(client: httpx.Client, run_id: str) -> tuple[dict, bytes]:
    """What tf.loadLayersModel(url) fetches: model.json, then each weights path relative to it."""
    response = client.get(f"/api/runs/{run_id}/model.json")
    assert response.status_code == 200, response.text
    model = response.json()
    weights = b""
    for group in model["weightsManifest"]:
        for path in group["paths"]:
            part = client.get(f"/api/runs/{run_id}/{path}")
            assert part.status_code == 200, part.text
            weights += part.content
    return model, weights


# --- fixtures (imported by each test folder's conftest.py) ------------------------------------------------------------

@pytest.fixture(scope="module")
def module_server(tmp_path_factory):
    """One isolated server per test module; tests compare the disk before and after, so they may share it."""
    live = start_isolated(tmp_path_factory.mktemp("module"))
    yield live
    live.stop()


@pytest.fixture
def mclient(module_server):
    with module_server.client() as c:
        yield c
