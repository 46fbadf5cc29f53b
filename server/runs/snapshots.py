"""Weight snapshots as tfjs sends them (model.json + model.weights.bin): validated, stored atomically, served."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.engine import Engine

from .. import db, json_depth
from ..errors import NotFound
from ..limits import MAX_WEIGHT_ELEMENTS
from ..storage import (
    INCOMING_PREFIX,
    SNAPSHOTS_DIR,
    Storage,
    atomic_write_json,
    full_disk,
    locked,
    owned_folder,
    read_json,
)
from .service import RunError, check_unfinished, get_run
from .topology import check_model_json

LATEST = "latest.json"
WEIGHTS_FILE = "model.weights.bin"
MODEL_FILE = "model.json"
_ACCEPTED_WEIGHT_PATHS = ({"./" + WEIGHTS_FILE}, {WEIGHTS_FILE})
_SNAPSHOT_DIR = re.compile(r"s(\d{6})")
# Model weights must be float32; Adam's step counter ("iter") is the one integer tfjs saves.
_DTYPE_BYTES = {"float32": 4}
_INTEGER_STATE = {"iter"}
# What tfjs writes for one weight (io.WeightsManifestEntry); "quantization" is named so that it can be refused clearly.
_SPEC_KEYS = {"name", "shape", "dtype", "group", "quantization"}
_SPEC_GROUPS = {"model", "optimizer"}


class SnapshotError(RunError):
    """A snapshot that does not describe its own weights; nothing was stored."""


def _weight_specs(model_json: dict) -> list[dict]:
    if not isinstance(model_json.get("modelTopology"), dict):
        raise SnapshotError("model.json has no modelTopology")
    manifest = model_json.get("weightsManifest")
    if not isinstance(manifest, list) or not manifest:
        raise SnapshotError("model.json has no weightsManifest")
    # tf.io.http sends one group for its one weights file: two groups naming that file would have the same bytes
    # read twice, as two different weights.
    if len(manifest) != 1:
        raise SnapshotError(f"weightsManifest must hold exactly one group (for ./{WEIGHTS_FILE}), not {len(manifest)}")
    group = manifest[0]
    paths = group.get("paths") if isinstance(group, dict) else None
    # Checked as strings first: set() of a list holding lists or objects raised TypeError (a 500).
    if (
        not isinstance(paths, list)
        or not all(isinstance(p, str) for p in paths)
        or len(paths) != 1
        or set(paths) not in _ACCEPTED_WEIGHT_PATHS
    ):
        raise SnapshotError(f"weight paths must be exactly ['./{WEIGHTS_FILE}']")
    if not isinstance(group.get("weights"), list) or set(group) - {"paths", "weights"}:
        raise SnapshotError("a weightsManifest group holds paths and a weights list, nothing else")
    return group["weights"]


def expected_weight_bytes(model_json: dict) -> int:
    """Check every weight spec and return how many bytes of weights they describe."""
    total_elements, total_bytes = 0, 0
    names = set()
    for spec in _weight_specs(model_json):
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise SnapshotError("a weight spec has no name")
        if spec["name"] in names:
            raise SnapshotError(f"two weights are named {spec['name']!r}")
        names.add(spec["name"])
        if set(spec) - _SPEC_KEYS or spec.get("group", "model") not in _SPEC_GROUPS:
            raise SnapshotError(f"weight {spec['name']!r} has keys or a group tfjs does not write")
        shape, dtype = spec.get("shape"), spec.get("dtype")
        if (
            not isinstance(shape, list)
            or len(shape) > 6
            or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= MAX_WEIGHT_ELEMENTS for d in shape)
        ):
            raise SnapshotError(f"weight {spec['name']!r} has an invalid shape {shape!r}")
        is_step_counter = spec["name"].split("/")[-1] in _INTEGER_STATE and dtype == "int32" and shape == []
        if not isinstance(dtype, str) or (dtype not in _DTYPE_BYTES and not is_step_counter):
            raise SnapshotError(f"weight {spec['name']!r} has dtype {dtype!r}; snapshots hold float32 weights")
        if "quantization" in spec:
            raise SnapshotError("snapshots hold unquantized weights")
        elements = math.prod(shape)
        total_elements += elements
        if total_elements > MAX_WEIGHT_ELEMENTS:
            raise SnapshotError(f"weights hold more than {MAX_WEIGHT_ELEMENTS:,} elements")
        total_bytes += elements * 4
    return total_bytes


def checked_weight_bytes(model_json: dict) -> int:
    """The whole of model.json checked (weights manifest, then topology against the allow-list); its weight bytes."""
    expected = expected_weight_bytes(model_json)
    check_model_json(model_json)
    return expected


def parse_model_json(raw: bytes) -> dict:
    try:
        model_json = json_depth.loads(raw, "model.json")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SnapshotError(f"model.json is not JSON ({exc})") from None
    except json_depth.TooDeep as exc:
        raise SnapshotError(str(exc)) from None
    if not isinstance(model_json, dict):
        raise SnapshotError("model.json must be a JSON object")
    return model_json


def _snapshot_dirs(storage: Storage, snapshots: Path) -> list[int]:
    """The snapshots' numbers, as the store has them (with a shared store: those any server stored)."""
    return sorted(int(m.group(1)) for name in storage.folders(snapshots) if (m := _SNAPSHOT_DIR.fullmatch(name)))


def save_snapshot(
    engine: Engine,
    storage: Storage,
    run_id: str,
    model_raw: bytes,
    weights: bytes,
    epoch: int | None,
    step: int | None = None,
) -> dict:
    """Validate, then store as a new numbered folder; `latest.json` moves only once the folder is whole. `step`: taken
    mid-epoch, after that many steps of epoch `epoch` (0-based; `epoch` whole epochs done), kept in its meta."""
    check_unfinished(get_run(engine, run_id))
    model_json = parse_model_json(model_raw)
    expected = checked_weight_bytes(model_json)
    if expected != len(weights):
        raise SnapshotError(f"model.json describes {expected:,} bytes of weights but {len(weights):,} arrived")
    with full_disk("the snapshot was not stored"):
        return _store(engine, storage, run_id, model_raw, weights, {"epoch": epoch, **({"step": step} if step else {})})


def _store(engine: Engine, storage: Storage, run_id: str, model_raw: bytes, weights: bytes, position: dict) -> dict:
    snapshots = storage.run_dir(run_id) / SNAPSHOTS_DIR
    snapshots.mkdir(parents=True, exist_ok=True)  # parents: a run created through another server sharing the store
    with owned_folder(snapshots, INCOMING_PREFIX) as work:
        for name, data in ((MODEL_FILE, model_raw), (WEIGHTS_FILE, weights)):
            with open(work / name, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        meta = {
            **position,
            "created_at": db.now(),
            "weight_bytes": len(weights),
            "sha256": hashlib.sha256(weights).hexdigest(),
        }
        with locked(snapshots):  # one numbering and one `latest` move at a time
            # With a shared store the numbering is the store's: a run has one writer at a time (its job's current
            # attempt), which may be on another server than the last one.
            seq = (_snapshot_dirs(storage, snapshots) or [0])[-1] + 1
            meta["seq"] = seq
            atomic_write_json(work / "meta.json", meta)
            # A shared store first, under the folder's final name (meta.json last, which is what lists it): if the
            # store fails, nothing has moved yet and the snapshot is honestly not stored.
            storage.publish(work, last=("meta.json",), under=snapshots / f"s{seq:06d}")
            # The database first: if its disk is full, nothing has moved yet and the snapshot is honestly not stored.
            with db.full_disk("the snapshot was not stored"), engine.begin() as conn:
                conn.execute(
                    update(db.runs).where(db.runs.c.id == run_id).values(latest_snapshot=seq, updated_at=db.now())
                )
            os.rename(work, snapshots / f"s{seq:06d}")
            atomic_write_json(snapshots / LATEST, meta)
            storage.publish(snapshots / LATEST)
        return meta


def latest_seq(storage: Storage, run_id: str) -> int | None:
    path = storage.run_dir(run_id) / SNAPSHOTS_DIR / LATEST
    return read_json(path)["seq"] if storage.fetch(path, refresh=True) else None  # it moves: always the store's


def list_snapshots(storage: Storage, run_id: str) -> list[dict]:
    snapshots = storage.run_dir(run_id) / SNAPSHOTS_DIR
    metas = [snapshots / f"s{seq:06d}" / "meta.json" for seq in _snapshot_dirs(storage, snapshots)]
    return [read_json(meta) for meta in metas if storage.fetch(meta)]


def snapshot_dir(storage: Storage, run_id: str, seq: int) -> Path:
    folder = storage.run_dir(run_id) / SNAPSHOTS_DIR / f"s{int(seq):06d}"
    if not all((folder / name).exists() for name in (MODEL_FILE, WEIGHTS_FILE, "meta.json")):
        storage.fetch_folder(folder, last=("meta.json",))  # stored by another server (a listing fetches meta.json)
    if not (folder / "meta.json").exists():
        raise NotFound(f"snapshot {seq}")
    return folder


def model_json_for(storage: Storage, run_id: str, seq: int, weights_prefix: str) -> dict:
    """The stored model.json with its weight path pinned to this snapshot, so a newer one can't mix in."""
    model_json = read_json(snapshot_dir(storage, run_id, seq) / MODEL_FILE)
    for group in model_json["weightsManifest"]:
        group["paths"] = [weights_prefix + WEIGHTS_FILE]
    return model_json
