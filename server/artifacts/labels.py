"""What every export says about its model: class names in output order, input size, normalisation, task, backbone.

One dict (`export_metadata`) is written three ways: metadata.json and labels.txt beside the model files, and inside the
model itself (tfjs `userDefinedMetadata`, an H5 root attribute, a TFLite metadata entry, SavedModel assets).
Detection and landmarks exports also carry the run's `task_metadata` (anchors, grid, thresholds, point names, resize:
what decoding the raw outputs needs, docs/tasks.md); their `labels` are the class names (detection) or the point
names (landmarks), in output order.
"""

from __future__ import annotations

import json
from pathlib import Path

from .. import __version__
from ..datasets.importer import load_manifest
from ..errors import NotFound
from ..runs.train_config import settings_of
from ..shared_rules import IMAGENET_MEAN, IMAGENET_STD
from ..storage import Storage
from .tfjs_model import LayersModel

METADATA_FILE = "metadata.json"
LABELS_FILE = "labels.txt"
LABEL_FILES = (LABELS_FILE, METADATA_FILE)
CHANNELS = 3
# static/js/data/normalize.js: normalized = (pixel / 255 - mean) / std, per RGB channel (the ImageNet statistics are
# defined in static/shared_rules.json).
_MEAN_STD = {
    "unit": ((0.0,) * CHANNELS, (1.0,) * CHANNELS),
    "symmetric": ((0.5,) * CHANNELS, (0.5,) * CHANNELS),
    "imagenet": (IMAGENET_MEAN, IMAGENET_STD),
}
RESIZE = (
    "a 2D canvas drawImage of the whole image to the input size (no crop, the browser's smoothing), "
    "then tf.browser.fromPixels: RGB, transparent pixels black"
)
LETTERBOX_RESIZE = (
    "a 2D canvas drawImage of the whole image scaled by min(size / width, size / height) and centred on black bars "
    "(letterbox: the aspect ratio kept), then tf.browser.fromPixels: RGB, transparent pixels black"
)
# Tasks whose outputs need the run's task_metadata to be read (static/js/model/tasks/<task>.js).
DECODED_TASKS = ("detection", "landmarks")
# Values per anchor before the class scores in a detection head: x, y, w, h, objectness (yolo_targets.js BOX_FIELDS).
DETECTION_BOX_FIELDS = 5


def normalization(mode: str) -> dict:
    """The run's normalisation as numbers: x = pixel * scale + offset = (pixel / 255 - mean) / std, per channel.

    scale and offset are computed as normalize.js computes them (1 / (255 * std), -mean / std), so applying them in
    float32 gives the very inputs the model trained on.
    """
    if mode not in _MEAN_STD:
        raise ValueError(f"unknown normalisation {mode!r} (expected one of {', '.join(_MEAN_STD)})")
    mean, std = _MEAN_STD[mode]
    if mode == "unit":  # normalize.js multiplies by 1/255 and adds 0 (the same float as the formula, said plainly)
        scale, offset = [1 / 255] * CHANNELS, [0.0] * CHANNELS
    elif mode == "symmetric":
        scale, offset = [1 / 127.5] * CHANNELS, [-1.0] * CHANNELS
    else:
        scale, offset = [1 / (255 * s) for s in std], [-m / s for m, s in zip(mean, std)]
    return {"mode": mode, "mean": list(mean), "std": list(std), "scale": scale, "offset": offset}


def class_names(storage: Storage, run: dict, outputs: int) -> tuple[list[str] | None, str | None]:
    """The dataset's classes in the model's output order (the manifest's, which the page one-hot encodes against),
    or None and why they cannot be known: only the exact dataset version the run trained on names its outputs."""
    try:
        manifest = load_manifest(storage, run["dataset"])
    except NotFound:
        return None, f"dataset {run['dataset']!r} is gone, so its class names are unknown"
    if manifest["hash"] != run["dataset_hash"]:
        return None, (
            f"dataset {run['dataset']!r} changed since this run (hash {manifest['hash']}, the run trained "
            f"on {run['dataset_hash']}), so its class names may not match the outputs"
        )
    if len(manifest["classes"]) != outputs:
        return None, f"the model has {outputs} outputs but dataset {run['dataset']!r} has {len(manifest['classes'])}"
    return list(manifest["classes"]), None


def task_metadata(run: dict) -> dict | None:
    """The run's `info.task_metadata` (written when a detection or landmarks run starts), or None."""
    return (run.get("info") or {}).get("task_metadata")


def task_names(run: dict, task: str, outputs: int) -> tuple[list[str] | None, str | None]:
    """A detection run's class names or a landmarks run's point names, from the run's own task_metadata, checked
    against the head's size (A·(5+C) filters per cell, or 2K units); or None and why they cannot be known."""
    meta = task_metadata(run)
    if not meta or meta.get("task") != task:
        return None, f"this {task} run recorded no task_metadata, so its outputs cannot be named or decoded"
    if task == "detection":
        names = list(meta.get("classes") or [])
        expected = len(meta.get("anchors") or []) * (DETECTION_BOX_FIELDS + len(names))
        shape = f"{len(meta.get('anchors') or [])} anchors × (5 + {len(names)} classes)"
    else:
        names = list(meta.get("point_names") or [])
        expected, shape = 2 * len(names), f"x, y of {len(names)} points"
    if outputs != expected:
        return None, f"the model has {outputs} outputs per position, the run's task_metadata {shape}: {expected}"
    return names, None


def export_metadata(storage: Storage, run: dict, seq: int, epoch: int | None, model: LayersModel) -> dict:
    """The metadata of one snapshot's exports; the same snapshot gives the same dict (no clock, no paths)."""
    settings = settings_of(run.get("config"))
    decoded = settings.task in DECODED_TASKS
    if decoded:
        labels, why = task_names(run, settings.task, model.output_units)
    else:
        labels, why = class_names(storage, run, model.output_units)
    meta = task_metadata(run) if decoded and why is None else None
    letterbox = ((meta or {}).get("resize") or {}).get("mode") == "letterbox"
    # An image model takes [height, width, channels]; any other input (a plain vector) is recorded as its shape.
    shape = list(model.input_shape)
    image = dict(zip(("height", "width", "channels"), shape)) if len(shape) == 3 else {"shape": shape}
    extra = {"task_metadata": meta} if decoded else {}
    return {
        "labels": labels,
        "labels_unavailable": why,
        "input": {**image, "name": model.input_name, "resize": LETTERBOX_RESIZE if letterbox else RESIZE},
        "normalization": normalization(settings.normalization),
        "task": settings.task,
        **extra,
        "backbone": settings.backbone,
        "browsertrain_version": __version__,
        "run": {
            "id": run["id"],
            "dataset": run["dataset"],
            "dataset_hash": run["dataset_hash"],
            "snapshot": seq,
            "epoch": epoch,
        },
    }


def labels_text(labels: list[str] | None) -> str:
    """labels.txt: one class name per line, in output order. A line break inside a name (possible in a labels.csv)
    becomes a space here, so line i is always output i; metadata.json keeps the exact names."""
    return "".join(" ".join(label.splitlines()) + "\n" for label in labels or [])


def metadata_json(metadata: dict) -> str:
    return json.dumps(metadata, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def write_label_files(folder: Path, metadata: dict) -> list[str]:
    """labels.txt and metadata.json into `folder` (labels.txt only when the class names are known)."""
    (folder / METADATA_FILE).write_text(metadata_json(metadata), encoding="utf-8")
    if metadata["labels"] is None:
        return [METADATA_FILE]
    (folder / LABELS_FILE).write_text(labels_text(metadata["labels"]), encoding="utf-8")
    return list(LABEL_FILES)
