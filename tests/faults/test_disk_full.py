"""A full disk, for real: the data folder lives on a 4 MiB tmpfs. Imports and snapshots that do not fit fail with a
clear message and leave nothing half-made; what was there before is intact."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from PIL import Image

from api.support import (DENSE_WEIGHTS, assert_unchanged, disk_state, latest_model, model_json, new_run,
                         post_snapshot, upload, weights_for, write_tree, zip_bytes)
from conftest import ROOT, start_server

TMPFS_SIZE = "4m"


@pytest.fixture
def tiny_disk(tmp_path):
    """tmp_path/data on its own 4 MiB tmpfs (needs root, which CI and the development machines have)."""
    mount = tmp_path / "data"
    mount.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command: cannot make a small filesystem to fill")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a {TMPFS_SIZE} tmpfs to fill for real (needs root): {done.stderr.strip()}")
    (tmp_path / "tmp").mkdir()
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


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


def test_upload_bigger_than_the_free_space_fails_clearly(full_server):
    with full_server.client() as c:
        archive = zip_bytes(noise_images(free_bytes(full_server.data_dir) + 512 * 1024),
                            compression=zipfile.ZIP_STORED)
        before = disk_state(full_server.data_dir)
        response = upload(c, "too-big-for-disk", archive)
        assert response.status_code == 400, response.text
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
        assert response.status_code == 400, response.text
        assert "disk is full" in response.json()["detail"]
        assert_unchanged(full_server.data_dir, before)
        assert c.get("/api/datasets/unpacks-too-big").status_code == 404


def test_cli_import_bigger_than_the_free_space_fails_clearly(tiny_disk, full_server):
    source = write_tree(tiny_disk.parent / "source", noise_images(free_bytes(tiny_disk) + 256 * 1024))
    before = disk_state(tiny_disk)
    done = subprocess.run([sys.executable, "-m", "server.cli", "datasets", "import", str(source), "--name", "cli-big",
                           "--data-dir", str(tiny_disk)], cwd=ROOT, capture_output=True, text=True, timeout=120)
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
        assert response.status_code == 400, response.text
        assert "disk is full" in response.json()["detail"]
        assert_unchanged(full_server.data_dir, before)
        assert latest_model(c, run_id)[1] == previous
        assert [s["seq"] for s in c.get(f"/api/runs/{run_id}/snapshots").json()["snapshots"]] == [1]
