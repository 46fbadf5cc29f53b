"""A snapshot's exports in every format: built once into the run's folder (atomically, reproducibly) and served from there.

Layout under runs/<id>/exports/v1-s<seq>/ (v1: bump LAYOUT when what an export holds changes):
  tfjs/ float16/ uint16/ uint8/     model.json + weight shards, as tf.loadLayersModel reads them
  <format>.zip                      each of those folders zipped for download
  built-tfjs.json, gate-tfjs.json   written last: their presence means the files before them are whole
  keras.h5 savedmodel/ savedmodel.zip tflite.tflite tflite-dynamic.tflite, built-tf.json, gate-tf.json
Same snapshot, same bytes: zips have fixed timestamps and sorted entries, and the TensorFlow subprocess pins the one
random field a SavedModel holds. The server never imports TensorFlow; tf_worker.py runs it in a subprocess.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from ..runs.service import RunError, get_run
from ..runs.snapshots import MODEL_FILE, checked_weight_bytes, latest_seq, snapshot_dir
from ..storage import Storage, atomic_write_json, locked, read_json
from . import gate, quantize, tf_worker, tfjs_model
from .files import move_into_place, work_dir, write_zip

EXPORTS = "exports"
LAYOUT = "v1"
REFERENCE = "tfjs"
TFJS_FORMATS = ("tfjs", "float16", "uint16", "uint8")
TF_FORMATS = ("keras", "savedmodel", "tflite", "tflite-dynamic")
FORMATS = TFJS_FORMATS + TF_FORMATS
WORKER_TIMEOUT_SECONDS = 900
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
# The versions CI tested, for every package the extra brings (constraints/lock.sh regenerates them).
EXPORT_CONSTRAINTS = "constraints/export.txt"
INSTALL_HINT = ("Keras, SavedModel and TFLite exports need the optional `export` extra (TensorFlow, about 2.9 GB): "
                "run `make export-extra` in the project folder, or there "
                f"`pip install -c {EXPORT_CONSTRAINTS} -e '.[export]'` in the server's virtual environment (the "
                "versions CI tested), then retry")


@dataclass(frozen=True)
class Format:
    name: str
    label: str
    suffix: str
    quantized: bool
    needs_extra: bool
    cached: str                   # the file served, inside the cache folder


FORMAT_INFO = {
    "tfjs": Format("tfjs", "TensorFlow.js layers model, float32 (as trained)", ".zip", False, False, "tfjs.zip"),
    "float16": Format("float16", "TensorFlow.js, float16 weights", ".zip", True, False, "float16.zip"),
    "uint16": Format("uint16", "TensorFlow.js, uint16 weights", ".zip", True, False, "uint16.zip"),
    "uint8": Format("uint8", "TensorFlow.js, uint8 weights", ".zip", True, False, "uint8.zip"),
    "keras": Format("keras", "Keras H5 (tf_keras)", ".h5", False, True, "keras.h5"),
    "savedmodel": Format("savedmodel", "TensorFlow SavedModel", ".zip", False, True, "savedmodel.zip"),
    "tflite": Format("tflite", "TFLite, float32", ".tflite", False, True, "tflite.tflite"),
    "tflite-dynamic": Format("tflite-dynamic", "TFLite, dynamic-range quantized (int8 weights)", ".tflite", True, True,
                             "tflite-dynamic.tflite"),
}


class ExportError(RunError):
    """An export request that cannot be honoured as sent (unknown format, no snapshot); nothing was written."""


class ExtraMissing(ExportError):
    def __init__(self, fmt: str):
        super().__init__(f"{fmt}: {INSTALL_HINT}")


class NeedsConfirm(ExportError):
    """The gate flagged this export (or could not evaluate a quantized one): it is served only when confirmed."""

    def __init__(self, message: str, entry: dict | None):
        super().__init__(message)
        self.entry = entry


class ConversionFailed(RuntimeError):
    """A conversion subprocess failed: our bug or a broken install, not the user's request."""


class ExtraBroken(ConversionFailed):
    """The `export` extra is installed but does not import: the environment needs repairing, not the request."""

    def __init__(self, reason: str):
        super().__init__(
            f"the `export` extra is installed but TensorFlow does not import ({reason}); another install probably "
            f"changed a package it needs. Repair the environment: `{sys.executable} -m pip install -c "
            f"{PACKAGE_ROOT / EXPORT_CONSTRAINTS} -e '{PACKAGE_ROOT}[export]'` (the versions CI tested), then "
            "retry")


def extra_installed() -> bool:
    """Whether the `export` extra is importable, found without importing it (that would load TensorFlow)."""
    return importlib.util.find_spec("tensorflowjs") is not None


def check_format(fmt: str) -> Format:
    if fmt not in FORMAT_INFO:
        raise ExportError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    return FORMAT_INFO[fmt]


@dataclass
class SnapshotExports:
    """One snapshot of one run and the folder its exports live in."""

    storage: Storage
    run: dict
    seq: int
    snapshot: Path
    folder: Path

    @property
    def meta(self) -> dict:
        return read_json(self.snapshot / "meta.json")

    def filename(self, fmt: str) -> str:
        return f"{self.stem(fmt)}{FORMAT_INFO[fmt].suffix}"

    def stem(self, fmt: str) -> str:
        return f"{self.run['dataset']}-{self.run['id']}-s{self.seq}-{fmt}"

    def path(self, fmt: str) -> Path:
        return self.folder / FORMAT_INFO[fmt].cached

    def built(self, group: str) -> dict | None:
        marker = self.folder / f"built-{group}.json"
        return read_json(marker) if marker.exists() else None

    def gate(self, group: str) -> dict | None:
        marker = self.folder / f"gate-{group}.json"
        return read_json(marker) if marker.exists() else None


def open_snapshot(storage: Storage, engine: Engine, run_id: str, seq: int | None = None) -> SnapshotExports:
    run = get_run(engine, run_id)
    if seq is None:
        seq = latest_seq(storage, run_id)
        if seq is None:
            raise ExportError("this run has no snapshot yet: train it first (snapshots are taken every few epochs)")
    folder = storage.run_dir(run_id) / EXPORTS / f"{LAYOUT}-s{int(seq):06d}"
    snapshot = snapshot_dir(storage, run_id, seq)
    # Checked again here, not only when posted: a snapshot stored before the allow-list existed (or put in the data
    # folder by hand) must not reach TensorFlow or tfjs unchecked either.
    checked_weight_bytes(read_json(snapshot / MODEL_FILE))
    return SnapshotExports(storage, run, int(seq), snapshot, folder)


# --- building ----------------------------------------------------------------------------------------------------------

def ensure_tfjs(sx: SnapshotExports) -> dict:
    """The float32 and quantized tfjs exports (milliseconds of numpy): built once, then read from the cache."""
    if (built := sx.built("tfjs")) is not None:
        return built
    with locked(sx.folder):
        if (built := sx.built("tfjs")) is not None:
            return built
        model = tfjs_model.for_inference(tfjs_model.read_model(sx.snapshot))
        work = work_dir(sx.folder)
        try:
            timings = {}
            for fmt in TFJS_FORMATS:
                started = time.perf_counter()
                if fmt == REFERENCE:
                    specs, data = tfjs_model.float32_weights(model)
                else:
                    specs, data = quantize.quantize_model(model, fmt)
                timings[fmt] = round((time.perf_counter() - started) * 1000, 3)
                (work / fmt).mkdir()
                tfjs_model.write_model(work / fmt, model, specs, data)
                write_zip(work / FORMAT_INFO[fmt].cached, work / fmt, sx.stem(fmt))
            names = [*TFJS_FORMATS, *(FORMAT_INFO[f].cached for f in TFJS_FORMATS)]
            move_into_place(work, sx.folder, names)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        built = {"seq": sx.seq, "snapshot_sha256": sx.meta.get("sha256"), "quantize_ms": timings,
                 "weight_bytes": {fmt: _weight_bytes(sx.folder / fmt) for fmt in TFJS_FORMATS}}
        atomic_write_json(sx.folder / "built-tfjs.json", built)
        return built


def _weight_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.name != tfjs_model.MODEL_FILE)


def _run_worker(command: str, job: dict) -> dict:
    try:
        result = subprocess.run([sys.executable, "-m", "server.artifacts.tf_worker", command],
                                input=json.dumps(job).encode(), capture_output=True, timeout=WORKER_TIMEOUT_SECONDS,
                                cwd=PACKAGE_ROOT)
    except subprocess.TimeoutExpired:
        raise ConversionFailed(f"the TensorFlow {command} took longer than {WORKER_TIMEOUT_SECONDS} s") from None
    lines = result.stderr.decode(errors="replace").strip().splitlines()
    if result.returncode == tf_worker.EXIT_EXTRA_BROKEN:
        raise ExtraBroken(lines[-1] if lines else "no reason given")
    if result.returncode != 0:
        raise ConversionFailed(f"the TensorFlow {command} failed: {lines[-1] if lines else result.returncode}")
    return json.loads(result.stdout.decode().strip().splitlines()[-1])


def ensure_tf(sx: SnapshotExports) -> dict:
    """Keras H5, SavedModel and TFLite through the tensorflowjs converter, in a subprocess (seconds)."""
    if (built := sx.built("tf")) is not None:
        return built
    if not extra_installed():
        raise ExtraMissing("keras, savedmodel and tflite")
    ensure_tfjs(sx)
    with locked(sx.folder):
        if (built := sx.built("tf")) is not None:
            return built
        work = work_dir(sx.folder)
        try:
            answer = _run_worker("convert", {"model_json": str(sx.folder / REFERENCE / tfjs_model.MODEL_FILE),
                                             "out": str(work)})
            write_zip(work / "savedmodel.zip", work / "savedmodel", sx.stem("savedmodel"))
            names = ["keras.h5", "savedmodel", "savedmodel.zip", "tflite.tflite", "tflite-dynamic.tflite"]
            move_into_place(work, sx.folder, names)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        built = {"seq": sx.seq, "convert_seconds": round(answer["seconds"], 3), "versions": answer["versions"]}
        atomic_write_json(sx.folder / "built-tf.json", built)
        return built


# --- the quality gate --------------------------------------------------------------------------------------------------

def _normalization(sx: SnapshotExports) -> str:
    return (sx.run.get("config") or {}).get("normalization", gate.RUN_DEFAULTS["normalization"])


def _with_drops(results: dict, reference_accuracy: float | None) -> dict:
    return {name: {**entry, "accuracy_drop_points": gate.accuracy_drop_points(entry, reference_accuracy)}
            for name, entry in results.items()}


def _cached_gate(sx: SnapshotExports, group: str, measure) -> dict:
    """Run `measure(model, validation, work)` once per snapshot, under its lock; its report is kept as gate-<group>.json."""
    if (report := sx.gate(group)) is not None:
        return report
    with locked(sx.folder):
        if (report := sx.gate(group)) is not None:
            return report
        model = tfjs_model.read_model(sx.folder / REFERENCE)
        work = work_dir(sx.folder)
        try:
            validation = gate.validation_set(sx.storage, sx.run, model.input_shape[0], model.output_units, work)
            report = measure(model, validation, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        atomic_write_json(sx.folder / f"gate-{group}.json", report)
        return report


def ensure_gate_tfjs(sx: SnapshotExports) -> dict:
    """Accuracy and max |Δ output| of every tfjs export on the validation split; raises GateUnavailable."""
    ensure_tfjs(sx)

    def measure(_model, validation, _work):
        answer = gate.evaluate_tfjs(validation, _normalization(sx),
                                    {fmt: sx.folder / fmt for fmt in TFJS_FORMATS}, REFERENCE)
        reference_accuracy = answer["results"][REFERENCE]["accuracy"]
        return {"seq": sx.seq, "reference": REFERENCE, "reference_accuracy": reference_accuracy,
                "dataset": validation.dataset, "dataset_hash": validation.dataset_hash,
                "val_items": validation.count, "split_items": validation.split_items,
                "normalization": _normalization(sx), "backend": answer["backend"],
                "seconds": round(answer["seconds"], 3),
                "formats": _with_drops(answer["results"], reference_accuracy)}

    return _cached_gate(sx, "tfjs", measure)


def ensure_gate_tf(sx: SnapshotExports) -> dict:
    """The TensorFlow formats on the same inputs, against the same float32 tfjs outputs; raises GateUnavailable."""
    reference = ensure_gate_tfjs(sx)
    ensure_tf(sx)

    def measure(model, validation, work):
        height, width, channels = model.input_shape
        gate.evaluate_tfjs(validation, _normalization(sx), {REFERENCE: sx.folder / REFERENCE}, REFERENCE,
                           inputs_out=work / "inputs.f32", outputs_out=work / "outputs.f32")
        models = {"keras": sx.folder / "keras.h5", "savedmodel": sx.folder / "savedmodel",
                  "tflite": sx.folder / "tflite.tflite", "tflite-dynamic": sx.folder / "tflite-dynamic.tflite"}
        answer = _run_worker("evaluate", {
            "inputs": str(work / "inputs.f32"), "shape": [validation.count, height, width, channels],
            "reference": str(work / "outputs.f32"), "labels": validation.labels,
            "models": {name: str(path) for name, path in models.items()}})
        return {"seq": sx.seq, "reference": REFERENCE, "reference_accuracy": reference["reference_accuracy"],
                "val_items": validation.count,
                "formats": _with_drops(answer["results"], reference["reference_accuracy"])}

    return _cached_gate(sx, "tf", measure)


def gate_entry(sx: SnapshotExports, fmt: str) -> tuple[dict | None, str | None]:
    """The gate's numbers for one format (building what they need), or None and why they cannot be had."""
    try:
        report = ensure_gate_tf(sx) if FORMAT_INFO[fmt].needs_extra else ensure_gate_tfjs(sx)
    except gate.GateUnavailable as exc:
        return None, str(exc)
    return report["formats"].get(fmt), None


def check_gate(sx: SnapshotExports, fmt: str, max_drop: float, confirm: bool) -> dict:
    """Raise NeedsConfirm unless the export passes the gate (or the user confirmed); return the verdict."""
    info = check_format(fmt)
    if fmt == REFERENCE:
        return {"status": "reference", "needs_confirm": False}
    entry, reason = gate_entry(sx, fmt)
    verdict = gate.verdict(entry, max_drop)
    if entry is None and not info.quantized:
        verdict = {"status": "unknown", "needs_confirm": False}  # a float32 conversion: nothing quantized to vouch for
    if verdict["needs_confirm"] and not confirm:
        if entry is None:
            raise NeedsConfirm(f"{fmt}: the quality gate could not evaluate this quantized export ({reason}); "
                               "confirm to download it anyway", None)
        raise NeedsConfirm(
            f"{fmt} loses {entry['accuracy_drop_points']:.2f} points of validation accuracy "
            f"({_percent(entry['accuracy'] + entry['accuracy_drop_points'] / 100)} → {_percent(entry['accuracy'])}, "
            f"max |Δ output| {entry['max_abs_diff']:.4g}), more than the {max_drop:g} allowed; "
            "confirm to download it anyway", entry)
    return {**verdict, "reason": reason} if reason else verdict


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


# --- what callers use --------------------------------------------------------------------------------------------------

def export(sx: SnapshotExports, fmt: str, *, max_drop: float = gate.DEFAULT_MAX_ACCURACY_DROP,
           confirm: bool = False) -> tuple[Path, str, dict]:
    """Build (or reuse) one export and pass it through the gate: (file, download name, verdict)."""
    info = check_format(fmt)
    if info.needs_extra:
        ensure_tf(sx)
    else:
        ensure_tfjs(sx)
    verdict = check_gate(sx, fmt, max_drop, confirm)
    return sx.path(fmt), sx.filename(fmt), verdict


def build(sx: SnapshotExports, group: str) -> str | None:
    """Build a group of formats and its gate numbers ('tfjs', or 'tf' when the extra is installed).

    Returns why the gate could not evaluate them, or None when it did.
    """
    if group not in ("tfjs", "tf"):
        raise ExportError(f"unknown group {group!r}: use tfjs or tf")
    try:
        ensure_gate_tf(sx) if group == "tf" else ensure_gate_tfjs(sx)
    except gate.GateUnavailable as exc:
        ensure_tf(sx) if group == "tf" else ensure_tfjs(sx)
        return str(exc)
    return None


def summary(sx: SnapshotExports, max_drop: float = gate.DEFAULT_MAX_ACCURACY_DROP) -> dict:
    """What is built for this snapshot, with sizes and gate numbers; builds nothing."""
    built = {"tfjs": sx.built("tfjs"), "tf": sx.built("tf")}
    reports = {"tfjs": sx.gate("tfjs"), "tf": sx.gate("tf")}
    formats = []
    for fmt in FORMATS:
        info = FORMAT_INFO[fmt]
        group = "tf" if info.needs_extra else "tfjs"
        path = sx.path(fmt)
        entry = (reports[group] or {}).get("formats", {}).get(fmt)
        if fmt == REFERENCE:
            verdict = {"status": "reference", "needs_confirm": False}
        elif entry is None:
            verdict = {"status": "unknown", "needs_confirm": info.quantized}
        else:
            verdict = gate.verdict(entry, max_drop)
        formats.append({
            "format": fmt, "label": info.label, "filename": sx.filename(fmt), "quantized": info.quantized,
            "needs_extra": info.needs_extra, "built": built[group] is not None,
            "bytes": path.stat().st_size if built[group] is not None and path.exists() else None,
            "weight_bytes": (built["tfjs"] or {}).get("weight_bytes", {}).get(fmt),
            "quantize_ms": (built["tfjs"] or {}).get("quantize_ms", {}).get(fmt) if info.quantized else None,
            "gate": entry, "verdict": verdict,
        })
    tfjs_report = reports["tfjs"] or {}
    topology = tfjs_model.LayersModel(read_json(sx.snapshot / tfjs_model.MODEL_FILE))
    return {
        "run_id": sx.run["id"], "dataset": sx.run["dataset"], "seq": sx.seq, "epoch": sx.meta.get("epoch"),
        "input_shape": topology.input_shape, "input_name": topology.input_name, "normalization": _normalization(sx),
        "max_accuracy_drop": max_drop,
        "extra": {"installed": extra_installed(), "install": INSTALL_HINT},
        "gate": {key: tfjs_report.get(key) for key in
                 ("reference_accuracy", "val_items", "split_items", "normalization", "backend", "seconds")},
        "convert_seconds": (built["tf"] or {}).get("convert_seconds"),
        "formats": formats,
    }

