"""A full disk, for real: the data folder lives on a 4 MiB tmpfs. Imports and snapshots that do not fit fail with a
clear message and leave nothing half-made; what was there before is intact."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support import (
    DENSE_WEIGHTS,
    ROOT,
    assert_unchanged,
    disk_state,
    latest_model,
    model_json,
    new_run,
    post_snapshot,
    start_server,
    upload,
    weights_for,
    write_tree,
    zip_bytes,
)

TMPFS_SIZE = "4m"


@contextmanager
def small_filesystem(mount: Path, size: str = TMPFS_SIZE):
    """`mount` on its own tmpfs of `size` (needs root, which CI and the development machines have)."""
    mount.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command: cannot make a small filesystem to fill")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a {size} tmpfs to fill for real (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.fixture
def tiny_disk(tmp_path):
    """tmp_path/data on its own 4 MiB tmpfs; the server's temp folder beside it is on the big disk."""
    (tmp_path / "tmp").mkdir()
    with small_filesystem(tmp_path / "data") as mount:
        yield mount


@pytest.fixture
def full_server(tiny_disk):
    live = start_server(tiny_disk, env={"TMPDIR": str(tiny_disk.parent / "tmp")})
    yield live
    live.stop()


def free_bytes(folder) -> int:
    return shutil.disk_usage(folder).free


def noise_images(total: int, side: int = 256) -> dict[str, bytes]:
    """Valid PNGs (incompressible noise, stored uncompressed) adding up to at least `total` bytes."""
    members, index, size = {}, 0, 0
    while size < total:
        pixels = np.random.default_rng(index).integers(0, 256, size=(side, side, 3), dtype=np.uint8)
        out = io.BytesIO()
        Image.fromarray(pixels, "RGB").save(out, format="PNG", compress_level=0)
        members[f"{'ab'[index % 2]}/{index:03d}.png"] = out.getvalue()
        size += len(out.getvalue())
        index += 1
    return members


@pytest.mark.slow
def test_upload_bigger_than_the_free_space_fails_clearly(full_server):
    with full_server.client() as c:
        archive = zip_bytes(noise_images(free_bytes(full_server.data_dir) + 512 * 1024), compression=zipfile.ZIP_STORED)
        before = disk_state(full_server.data_dir)
        response = upload(c, "too-big-for-disk", archive)
        assert response.status_code == 507, response.text
        assert "disk is full" in response.json()["detail"]
        assert_unchanged(full_server.data_dir, before)
        # The space came back: a small import still works, and the sample is intact.
        small = upload(c, "fits", zip_bytes(noise_images(10_000, side=32)))
        assert small.status_code == 201, small.text
        assert c.get("/api/datasets/shapes").json()["num_items"] == 240


def test_upload_that_fills_the_disk_while_unpacking_fails_clearly(full_server):
    with full_server.client() as c:
        # The zip itself fits; unpacking it next to itself does not.
        archive = zip_bytes(noise_images(int(free_bytes(full_server.data_dir) * 0.6)), compression=zipfile.ZIP_STORED)
        assert len(archive) < free_bytes(full_server.data_dir)
        before = disk_state(full_server.data_dir)
        response = upload(c, "unpacks-too-big", archive)
        assert response.status_code == 507, response.text
        assert "disk is full" in response.json()["detail"]
        assert_unchanged(full_server.data_dir, before)
        assert c.get("/api/datasets/unpacks-too-big").status_code == 404


def test_cli_import_bigger_than_the_free_space_fails_clearly(tiny_disk, full_server):
    source = write_tree(tiny_disk.parent / "source", noise_images(free_bytes(tiny_disk) + 256 * 1024))
    before = disk_state(tiny_disk)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "datasets",
            "import",
            str(source),
            "--name",
            "cli-big",
            "--data-dir",
            str(tiny_disk),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "the disk is full; nothing was imported" in done.stderr
    assert "Traceback" not in done.stderr
    assert_unchanged(tiny_disk, before)


def test_snapshot_bigger_than_the_free_space_fails_and_the_previous_one_loads(full_server):
    with full_server.client() as c:
        run_id = new_run(c)
        previous = weights_for(DENSE_WEIGHTS, seed=1)
        assert post_snapshot(c, run_id, model_json(), previous).status_code == 201
        elements = free_bytes(full_server.data_dir) // 4 + 100_000
        specs = [{"name": "dense/kernel", "shape": [elements], "dtype": "float32"}]
        before = disk_state(full_server.data_dir)
        response = post_snapshot(c, run_id, model_json(specs), weights_for(specs, 2))
        assert response.status_code == 507, response.text
        assert "disk is full" in response.json()["detail"]
        assert_unchanged(full_server.data_dir, before)
        assert latest_model(c, run_id)[1] == previous
        assert [s["seq"] for s in c.get(f"/api/runs/{run_id}/snapshots").json()["snapshots"]] == [1]


def fill(folder: Path, leave: int = 0) -> Path:
    """Writes a file into `folder` until its filesystem is full, then gives `leave` bytes back."""
    filler = folder / "filler"
    with open(filler, "wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
    with open(filler, "r+b") as out:  # a failed flush may keep the buffer: close, then trim
        out.truncate(max(0, filler.stat().st_size - leave))
    return filler


def epoch_lines(data_dir: Path, run_id: str) -> list[dict]:
    """The run's epoch log, each line parsed: a torn line fails here."""
    text = (data_dir / "runs" / run_id / "epochs.jsonl").read_text()
    assert text.endswith("\n"), "the log ends mid-line"
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.slow
@pytest.mark.parametrize("leave", [0, 4096], ids=["no-space", "one-page"])
def test_epoch_on_a_full_disk_is_refused_whole_and_taken_once_space_returns(full_server, leave):
    with full_server.client() as c:
        run_id = new_run(c)
        assert c.post(f"/api/runs/{run_id}/epochs", json={"epoch": 0, "train_loss": 1.0}).status_code == 201
        filler = fill(full_server.data_dir, leave)
        # ~10 KB: bigger than the space left, so the write is refused or cut short part way.
        record = {"epoch": 1, "train_loss": 0.5, "note": "x" * 10_000}
        response = c.post(f"/api/runs/{run_id}/epochs", json=record)
        assert response.status_code == 507, response.text
        assert response.json()["detail"] == "the disk is full; epoch 1 was not recorded"
        assert [line["epoch"] for line in epoch_lines(full_server.data_dir, run_id)] == [0]
        assert c.get(f"/api/runs/{run_id}").json()["epochs_done"] == 1

        filler.unlink()  # space comes back: the page's retry of the same record is taken
        assert c.post(f"/api/runs/{run_id}/epochs", json=record).status_code == 201
        assert [line["epoch"] for line in epoch_lines(full_server.data_dir, run_id)] == [0, 1]
        run = c.get(f"/api/runs/{run_id}").json()
        assert run["epochs_done"] == 2 and [e["epoch"] for e in run["epochs"]] == [0, 1]


@pytest.fixture
def full_temp_server(tmp_path):
    """The data folder on the big disk, the server's temp folder (TMPDIR) on a 1 MiB tmpfs."""
    with small_filesystem(tmp_path / "tmp", "1m") as temp:
        (tmp_path / "data").mkdir()
        live = start_server(tmp_path / "data", env={"TMPDIR": str(temp)})
        yield live
        live.stop()


def test_upload_bigger_than_the_temp_folder_fails_clearly(full_temp_server):
    data_dir = full_temp_server.data_dir
    with full_temp_server.client() as c:
        archive = zip_bytes(noise_images(2 * 1024 * 1024), compression=zipfile.ZIP_STORED)  # spooled past 1 MB
        before = disk_state(data_dir)
        response = upload(c, "too-big-for-temp", archive)
        assert response.status_code == 507, response.text
        assert response.json()["detail"] == "the server's temporary folder is full; nothing was stored"
        assert_unchanged(data_dir, before)  # the temp folder included: the parser's spool file is gone
        small = upload(c, "fits-in-memory", zip_bytes(noise_images(10_000, side=32)))
        assert small.status_code == 201, small.text
