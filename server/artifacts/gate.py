"""The quality gate: each export's accuracy and max |Δ output| against the float32 tfjs model on the validation split.

The split is the browser's own (static/js/data/split.js, run by Node), over the dataset's items in manifest order with
the run's valFraction and seed. Pillow decodes and resizes those images to RGB bytes once, approximating the
browser's canvas resize (bilinear; premultiplied alpha, so fully transparent pixels read as black); a Node subprocess
(evaluate.mjs, the npm tfjs on its wasm backend) normalises them with static/js/data/normalize.js and loads every
tfjs export with tf.loadLayersModel. The TensorFlow formats are compared against the same inputs and the same
float32 outputs in the TensorFlow subprocess. Every comparison is model against model on identical inputs, so a small
difference from the browser's resampling moves both sides alike.

Detection and landmarks exports are judged on what a user reads off them, not on argmax accuracy (task_gate.mjs):
a detection export must find the float32 model's boxes (`box_agreement`: the matched IoU of the two models' boxes,
at least MIN_BOX_AGREEMENT), a landmarks export must put its points where the float32 model puts them
(`nme_vs_reference`: their distance over the object's box diagonal, at most MAX_POINT_SHIFT). The mAP@0.5 and the
NME against the validation split's true annotations are reported beside them.
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
from ..shared_rules import MAX_POINT_SHIFT, MIN_BOX_AGREEMENT, RUN_DEFAULTS  # noqa: F401  (re-exported)
from ..storage import Storage, inside
from .format_names import DEFAULT_MAX_ACCURACY_DROP  # noqa: F401  (re-exported)
from .labels import DECODED_TASKS, task_metadata
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
    # Detection and landmarks: the run's task_metadata, and each chosen item's annotations as the manifest has them.
    task: dict | None = None
    annotations: list[dict] | None = None


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


def _letterboxed(image: Image.Image, size: int) -> Image.Image:
    """The image scaled to fit size x size with its aspect ratio and centred on black (static/js/data/geometry.js
    resizeTransform 'letterbox'); the canvas draws at fractional offsets, Pillow at the nearest whole pixel."""
    scale = min(size / image.width, size / image.height)
    width, height = max(1, round(image.width * scale)), max(1, round(image.height * scale))
    canvas = Image.new(image.mode, (size, size))  # zeros: black, and transparent in RGBA (read as black below)
    canvas.paste(image.resize((width, height), Image.Resampling.BILINEAR), ((size - width) // 2, (size - height) // 2))
    return canvas


def read_rgb(path: Path, size: int, resize: str = "stretch") -> np.ndarray:
    """One image as the train page sees it: first frame, EXIF-oriented, resized to size x size (stretched, or
    letterboxed), RGB bytes."""
    with Image.open(path) as image:
        image.seek(0)
        image = _as_browser_decodes(ImageOps.exif_transpose(image))
        has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
        image = image.convert("RGBA" if has_alpha else "RGB")
        if resize == "letterbox" and image.width != image.height:
            image = _letterboxed(image, size)
        elif image.size != (size, size):
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
    decoded = settings.task in DECODED_TASKS
    meta = task_metadata(run) if decoded else None
    if decoded and (meta or {}).get("task") != settings.task:
        raise GateUnavailable(f"this {settings.task} run recorded no task_metadata, so its outputs cannot be decoded")
    if not decoded and len(classes) != classes_out:
        raise GateUnavailable(
            f"the model has {classes_out} outputs but dataset {run['dataset']!r} has {len(classes)} classes"
        )
    items = manifest["items"]
    # The split the page made: stratified by item label (detection and landmarks items have none: one stratum).
    split = validation_positions([item.get("label") for item in items], settings.val_fraction, settings.split_seed)
    if not split:
        raise GateUnavailable("this run has no validation split (valFraction 0, or one item per class)")
    chosen = spread(split, max(1, MAX_GATE_PIXEL_BYTES // (size * size * CHANNELS)))
    folder = storage.dataset_dir(run["dataset"])
    index = {label: i for i, label in enumerate(classes)}
    resize = ((meta or {}).get("resize") or {}).get("mode", "stretch")
    pixels = work / "pixels.bin"
    paths = [inside(folder, *Path(items[position]["file"]).parts) for position in chosen]
    storage.fetch_many(paths)  # from a shared store, what this server has not got yet
    with open(pixels, "wb") as out:
        for path in paths:
            out.write(read_rgb(path, size, resize).tobytes())
    annotated = ("width", "height", "boxes", "points", "box")
    return ValidationSet(
        pixels,
        len(chosen),
        size,
        [] if decoded else [index[items[p]["label"]] for p in chosen],
        len(split),
        run["dataset"],
        run["dataset_hash"],
        meta,
        [{k: items[p][k] for k in annotated if k in items[p]} for p in chosen] if decoded else None,
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
            **_task_job(validation),
        },
    )


def _task_job(validation: ValidationSet) -> dict:
    """What evaluate.mjs needs to score boxes or points instead of accuracy (nothing for a classifier)."""
    return {"task": validation.task, "items": validation.annotations} if validation.task else {}


def compare_outputs(validation: ValidationSet, reference: Path, outputs: dict[str, Path]) -> dict:
    """Score other formats' raw outputs (float32 files, as the TensorFlow worker wrote them) against the reference's
    outputs, as evaluate_tfjs scores the tfjs exports: {name: {box or point scores, max_abs_diff}}."""
    job = {"count": validation.count, "reference": str(reference), "outputs": {k: str(v) for k, v in outputs.items()}}
    return run_node("compare", {**job, **_task_job(validation)})["results"]


def accuracy_drop_points(entry: dict, reference_accuracy: float | None) -> float | None:
    if entry.get("accuracy") is None or reference_accuracy is None:
        return None
    return round((reference_accuracy - entry["accuracy"]) * 100, 6)


def verdict(entry: dict | None, max_drop: float) -> dict:
    """What the gate says about one export: passed, flagged or unknown. A classifier is flagged when it loses more
    than max_drop points of accuracy, a detector when its boxes agree with the float32 model's less than
    MIN_BOX_AGREEMENT, a landmarks model when its points move more than MAX_POINT_SHIFT from the float32 model's."""
    if entry is not None and "box_agreement" in entry:
        score, flagged = entry["box_agreement"], lambda v: v < MIN_BOX_AGREEMENT
    elif entry is not None and "nme_vs_reference" in entry:
        score, flagged = entry["nme_vs_reference"], lambda v: v > MAX_POINT_SHIFT
    else:
        score, flagged = (entry or {}).get("accuracy_drop_points"), lambda v: v > max_drop
    if score is None:
        return {"status": "unknown", "needs_confirm": True}
    return {"status": "flagged" if flagged(score) else "passed", "needs_confirm": flagged(score)}


def flag_reason(entry: dict, max_drop: float) -> str:
    """Why an export was flagged, in the words a user reads before confirming the download ("uint8 " + this)."""
    if "box_agreement" in entry:
        return (
            f"finds boxes that agree with the float32 model's only {entry['box_agreement']:.3f} (matched IoU; "
            f"mAP@0.5 {_number(entry.get('map50'))}), below the {MIN_BOX_AGREEMENT:g} required"
        )
    if "nme_vs_reference" in entry:
        return (
            f"moves its points {entry['nme_vs_reference']:.4f} of the box diagonal from the float32 model's "
            f"(NME {_number(entry.get('nme'))}), more than the {MAX_POINT_SHIFT:g} allowed"
        )
    before = entry["accuracy"] + entry["accuracy_drop_points"] / 100
    return (
        f"loses {entry['accuracy_drop_points']:.2f} points of validation accuracy "
        f"({before * 100:.1f}% → {entry['accuracy'] * 100:.1f}%, max |Δ output| {entry['max_abs_diff']:.4g}), "
        f"more than the {max_drop:g} allowed"
    )


def _number(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.3f}"
