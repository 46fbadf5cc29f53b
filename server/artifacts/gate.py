"""The quality gate: each export's accuracy and max |Δ output| against the float32 tfjs model on the validation split.

The split is the browser's own (static/js/data/split.js, run by Node), over the dataset's items in manifest order with
the run's valFraction and seed. Pillow decodes and resizes those images to RGB bytes once, approximating the
browser's canvas resize (bilinear; premultiplied alpha, so fully transparent pixels read as black); a Node subprocess
(evaluate.mjs, the npm tfjs on its wasm backend) normalises them with static/js/data/normalize.js and loads every
tfjs export with tf.loadLayersModel. The TensorFlow formats are compared against the same inputs and the same
float32 outputs in the TensorFlow subprocess. Every comparison is model against model on identical inputs, so a small
difference from the browser's resampling moves both sides alike.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ..datasets.importer import load_manifest
from ..errors import NotFound
from ..limits import MAX_GATE_PIXEL_BYTES
from ..runs.train_config import settings_of
from ..shared_rules import RUN_DEFAULTS  # noqa: F401  (re-exported)
from ..storage import Storage, inside
from .format_names import DEFAULT_MAX_ACCURACY_DROP  # noqa: F401  (re-exported)
from .subprocess_json import ChildFailed, run_json

EVALUATE_SCRIPT = Path(__file__).with_name("evaluate.mjs")
NODE_TIMEOUT_SECONDS = 900
CHANNELS = 3


class GateUnavailable(Exception):
    """The gate cannot evaluate this run (dataset gone or changed, no validation split, no Node.js)."""


@dataclass
class ValidationSet:
    pixels: Path  # count * size * size * 3 RGB bytes
    count: int
    size: int
    labels: list[int]  # class index per item, in the model's output order
    split_items: int  # the split's size (count is smaller only past MAX_GATE_PIXEL_BYTES)
    dataset: str
    dataset_hash: str


def node_binary() -> str:
    node = shutil.which("node")
    if node is None:
        raise GateUnavailable("Node.js is not installed, so the exports cannot be evaluated (apt-get install nodejs)")
    return node


def run_node(command: str, job: dict) -> dict:
    """Run evaluate.mjs with `job` on stdin and return its JSON answer; its failures become GateUnavailable."""
    argv = [node_binary(), str(EVALUATE_SCRIPT), command]
    try:
        return run_json(argv, job, what="the evaluation", timeout=NODE_TIMEOUT_SECONDS, cwd=EVALUATE_SCRIPT.parent)
    except ChildFailed as exc:
        raise GateUnavailable(str(exc)) from None


def validation_positions(labels: list[str], val_fraction: float, seed: int) -> list[int]:
    """Positions (in manifest order) of the items the browser validated on."""
    return run_node("split", {"labels": labels, "val_fraction": val_fraction, "seed": seed})["val"]


def _as_browser_decodes(image: Image.Image) -> Image.Image:
    """16-bit grey as 8 bits the way browsers take it: the high byte of each sample (Chromium decodes 30207 as 117).
    Pillow's convert() clips it to 255 instead; its 16-bit RGB(A) and grey+alpha modes already keep the high byte."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        high = np.right_shift(np.asarray(image).astype(np.uint32), 8).clip(0, 255).astype(np.uint8)
        return Image.fromarray(high)
    return image


def read_rgb(path: Path, size: int) -> np.ndarray:
    """One image as the train page sees it: first frame, EXIF-oriented, resized to size x size, RGB bytes."""
    with Image.open(path) as image:
        image.seek(0)
        image = _as_browser_decodes(ImageOps.exif_transpose(image))
        has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
        image = image.convert("RGBA" if has_alpha else "RGB")
        if image.size != (size, size):
            # Pillow resizes RGBA premultiplied, as a canvas does.
            image = image.resize((size, size), Image.Resampling.BILINEAR)
        pixels = np.asarray(image, dtype=np.uint8)
    if has_alpha:
        rgb = pixels[..., :3].copy()
        rgb[pixels[..., 3] == 0] = 0
        return rgb
    return pixels


def spread(positions: list[int], limit: int) -> list[int]:
    """At most `limit` of `positions`, evenly spaced (the split is ordered by class, so never just the first ones)."""
    if len(positions) <= limit:
        return positions
    picks = np.unique(np.linspace(0, len(positions) - 1, limit).round().astype(int))
    return [positions[i] for i in picks]


def validation_set(storage: Storage, run: dict, size: int, classes_out: int, work: Path) -> ValidationSet:
    """Decode the run's validation images into `work`/pixels.bin; GateUnavailable when the run cannot be evaluated."""
    settings = settings_of(run.get("config"))
    try:
        manifest = load_manifest(storage, run["dataset"])
    except NotFound:
        raise GateUnavailable(f"dataset {run['dataset']!r} is gone, so there is no validation split") from None
    if manifest["hash"] != run["dataset_hash"]:
        raise GateUnavailable(
            f"dataset {run['dataset']!r} changed since this run (hash {manifest['hash']}, "
            f"the run trained on {run['dataset_hash']})"
        )
    classes = manifest["classes"]
    if len(classes) != classes_out:
        raise GateUnavailable(
            f"the model has {classes_out} outputs but dataset {run['dataset']!r} has {len(classes)} classes"
        )
    items = manifest["items"]
    split = validation_positions([item["label"] for item in items], settings.val_fraction, settings.split_seed)
    if not split:
        raise GateUnavailable("this run has no validation split (valFraction 0, or one item per class)")
    chosen = spread(split, max(1, MAX_GATE_PIXEL_BYTES // (size * size * CHANNELS)))
    folder = storage.dataset_dir(run["dataset"])
    index = {label: i for i, label in enumerate(classes)}
    pixels = work / "pixels.bin"
    with open(pixels, "wb") as out:
        for position in chosen:
            out.write(read_rgb(inside(folder, *Path(items[position]["file"]).parts), size).tobytes())
    return ValidationSet(
        pixels,
        len(chosen),
        size,
        [index[items[p]["label"]] for p in chosen],
        len(split),
        run["dataset"],
        run["dataset_hash"],
    )


def evaluate_tfjs(
    validation: ValidationSet,
    normalization: str,
    models: dict[str, Path],
    reference: str,
    inputs_out: Path | None = None,
    outputs_out: Path | None = None,
) -> dict:
    """tf.loadLayersModel each folder in Node and compare every model's predictions with the reference's."""
    return run_node(
        "evaluate",
        {
            "pixels": str(validation.pixels),
            "count": validation.count,
            "size": validation.size,
            "labels": validation.labels,
            "normalization": normalization,
            "reference": reference,
            "models": {name: str(path) for name, path in models.items()},
            "inputs_out": str(inputs_out) if inputs_out else None,
            "outputs_out": str(outputs_out) if outputs_out else None,
        },
    )


def accuracy_drop_points(entry: dict, reference_accuracy: float | None) -> float | None:
    if entry.get("accuracy") is None or reference_accuracy is None:
        return None
    return round((reference_accuracy - entry["accuracy"]) * 100, 6)


def verdict(entry: dict | None, max_drop: float) -> dict:
    """What the gate says about one export: passed, flagged (loses more than max_drop points) or unknown."""
    if entry is None or entry.get("accuracy_drop_points") is None:
        return {"status": "unknown", "needs_confirm": True}
    flagged = entry["accuracy_drop_points"] > max_drop
    return {"status": "flagged" if flagged else "passed", "needs_confirm": flagged}
