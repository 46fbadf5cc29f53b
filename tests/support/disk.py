"""What is on disk: snapshots of a data folder to prove a refusal changed nothing, and secrets planted outside it that
no response may ever carry."""

from __future__ import annotations

import json
import os
import secrets
import stat
from pathlib import Path

WATCHED = ("datasets", ".staging", "runs")


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
    """datasets/, .staging/ and runs/ in full, the data folder's names, what is beside it, the server's temp folder."""
    state: dict[str, object] = {name: files_under(data_dir / name) for name in WATCHED}
    state["data folder"] = sorted(p.name for p in data_dir.iterdir())
    state["beside the data folder"] = sorted(
        p.name for p in data_dir.parent.iterdir() if not (p.name.startswith("server-") and p.name.endswith(".log"))
    )
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

RUN_ID_OUTSIDE = "abcdefabcdef"  # a symlinked run folder
RUN_ID_SIBLING = "0123456789ab"  # a run folder in runs2/, beside runs/


def _fake_dataset(folder: Path, name: str, marker: str) -> None:
    (folder / "items").mkdir(parents=True)
    payload = marker.encode()
    (folder / "items" / "0.png").write_bytes(payload)
    manifest = {
        "format": "browsertrain-dataset",
        "version": 1,
        "name": name,
        "hash": marker,
        "classes": [marker],
        "num_items": 1,
        "total_bytes": len(payload),
        "source_format": "imagefolder",
        "created_at": "2024-01-01T00:00:00+00:00",
        "items": [
            {
                "id": 0,
                "label": marker,
                "file": "items/0.png",
                "source": marker,
                "width": 1,
                "height": 1,
                "bytes": len(payload),
                "content_type": "text/html",
                "sha256": "0" * 64,
            }
        ],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _fake_run(folder: Path, marker: str) -> None:
    seq_dir = folder / "snapshots" / "s000001"
    seq_dir.mkdir(parents=True)
    (seq_dir / "model.json").write_text(
        json.dumps(
            {
                "modelTopology": {"marker": marker},
                "weightsManifest": [{"paths": ["./model.weights.bin"], "weights": []}],
            }
        )
    )
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
