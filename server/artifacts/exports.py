"""A snapshot's exports in every format, through the quality gate: what the API and the CLI call.

formats.py names the formats and the cache folder, build.py builds them (labels included), gate.py measures them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..runs.train_config import settings_of
from ..storage import atomic_write_json, locked, read_json
from . import gate, tfjs_model
from .build import ensure_tf, ensure_tfjs, run_worker
from .files import work_dir

# Callers (routes, CLI) import the formats and errors from here, the one module they use.
from .formats import (  # `X as X`: re-exported for the routes and the CLI
    FORMAT_INFO as FORMAT_INFO,
    FORMATS as FORMATS,
    INSTALL_HINT as INSTALL_HINT,
    REFERENCE as REFERENCE,
    TFJS_FORMATS as TFJS_FORMATS,
    ConversionFailed as ConversionFailed,
    ExportError as ExportError,
    ExtraMissing as ExtraMissing,
    NeedsConfirm as NeedsConfirm,
    SnapshotExports as SnapshotExports,
    check_format as check_format,
    extra_installed as extra_installed,
    open_snapshot as open_snapshot,
)

# --- the quality gate -------------------------------------------------------------------------------------------------


def _normalization(sx: SnapshotExports) -> str:
    return settings_of(sx.run.get("config")).normalization


def _with_drops(results: dict, reference_accuracy: float | None) -> dict:
    """A classifier's entries gain their accuracy drop; detection and landmarks entries have their own scores."""
    return {
        name: {**entry, "accuracy_drop_points": gate.accuracy_drop_points(entry, reference_accuracy)}
        if "accuracy" in entry
        else entry
        for name, entry in results.items()
    }


def _cached_gate(sx: SnapshotExports, group: str, measure) -> dict:
    """Run `measure(model, validation, work)` once per snapshot, under its lock, kept as gate-<group>.json."""
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
        sx.publish([], f"gate-{group}.json")
        return report


def ensure_gate_tfjs(sx: SnapshotExports) -> dict:
    """Accuracy and max |Δ output| of every tfjs export on the validation split; raises GateUnavailable."""
    ensure_tfjs(sx)

    def measure(_model, validation, _work):
        answer = gate.evaluate_tfjs(
            validation, _normalization(sx), {fmt: sx.folder / fmt for fmt in TFJS_FORMATS}, REFERENCE
        )
        reference_entry = answer["results"][REFERENCE]
        reference_accuracy = reference_entry.get("accuracy")
        return {
            "seq": sx.seq,
            "reference": REFERENCE,
            "reference_accuracy": reference_accuracy,
            # Detection and landmarks: the float32 model's own quality on the split, beside the exports' fidelity.
            "task": (validation.task or {}).get("task", "classification"),
            "reference_map50": reference_entry.get("map50"),
            "reference_nme": reference_entry.get("nme"),
            "dataset": validation.dataset,
            "dataset_hash": validation.dataset_hash,
            "val_items": validation.count,
            "split_items": validation.split_items,
            "normalization": _normalization(sx),
            "backend": answer["backend"],
            "seconds": round(answer["seconds"], 3),
            "formats": _with_drops(answer["results"], reference_accuracy),
        }

    return _cached_gate(sx, "tfjs", measure)


def ensure_gate_tf(sx: SnapshotExports) -> dict:
    """The TensorFlow formats on the same inputs, against the same float32 tfjs outputs; raises GateUnavailable."""
    reference = ensure_gate_tfjs(sx)
    ensure_tf(sx)

    def measure(model, validation, work):
        height, width, channels = model.input_shape
        gate.evaluate_tfjs(
            validation,
            _normalization(sx),
            {REFERENCE: sx.folder / REFERENCE},
            REFERENCE,
            inputs_out=work / "inputs.f32",
            outputs_out=work / "outputs.f32",
        )
        models = {
            "keras": sx.folder / "keras.h5",
            "savedmodel": sx.folder / "savedmodel",
            "tflite": sx.folder / "tflite.tflite",
            "tflite-dynamic": sx.folder / "tflite-dynamic.tflite",
        }
        job = {
            "inputs": str(work / "inputs.f32"),
            "shape": [validation.count, height, width, channels],
            "reference": str(work / "outputs.f32"),
            "labels": validation.labels,
            "models": {name: str(path) for name, path in models.items()},
        }
        if validation.task:  # raw outputs out, boxes or points scored by the gate's Node side
            answer = run_worker("evaluate", {**job, "outputs_dir": str(work)})
            outputs = {name: work / f"{name}.f32" for name in models}
            answer["results"] = gate.compare_outputs(validation, work / "outputs.f32", outputs)
        else:
            answer = run_worker("evaluate", job)
        return {
            "seq": sx.seq,
            "reference": REFERENCE,
            "reference_accuracy": reference["reference_accuracy"],
            "val_items": validation.count,
            "formats": _with_drops(answer["results"], reference["reference_accuracy"]),
        }

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
            raise NeedsConfirm(
                f"{fmt}: the quality gate could not evaluate this quantized export ({reason}); "
                "confirm to download it anyway",
                None,
            )
        raise NeedsConfirm(f"{fmt} {gate.flag_reason(entry, max_drop)}; confirm to download it anyway", entry)
    return {**verdict, "reason": reason} if reason else verdict


# --- what callers use -------------------------------------------------------------------------------------------------


def export(
    sx: SnapshotExports,
    fmt: str,
    *,
    max_drop: float = gate.DEFAULT_MAX_ACCURACY_DROP,
    confirm: bool = False,
    raw: bool = False,
) -> tuple[Path, str, dict]:
    """Build (or reuse) one export and pass it through the gate: (file, download name, verdict).

    The download is a zip (the model, labels.txt, metadata.json); `raw` serves a single-file format's bare model,
    which still carries its labels inside.
    """
    info = check_format(fmt, raw)
    if info.needs_extra:
        ensure_tf(sx)
    else:
        ensure_tfjs(sx)
    verdict = check_gate(sx, fmt, max_drop, confirm)
    return sx.path(fmt, raw), sx.filename(fmt, raw), verdict


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
        formats.append(
            {
                "format": fmt,
                "label": info.label,
                "filename": sx.filename(fmt),
                "raw_filename": sx.filename(fmt, raw=True) if info.raw else None,
                "quantized": info.quantized,
                "needs_extra": info.needs_extra,
                "built": built[group] is not None,
                "bytes": path.stat().st_size if built[group] is not None and path.exists() else None,
                "weight_bytes": (built["tfjs"] or {}).get("weight_bytes", {}).get(fmt),
                "quantize_ms": (built["tfjs"] or {}).get("quantize_ms", {}).get(fmt) if info.quantized else None,
                "gate": entry,
                "verdict": verdict,
            }
        )
    tfjs_report = reports["tfjs"] or {}
    topology = tfjs_model.LayersModel(read_json(sx.snapshot / tfjs_model.MODEL_FILE))
    return {
        "run_id": sx.run["id"],
        "dataset": sx.run["dataset"],
        "seq": sx.seq,
        "epoch": sx.meta.get("epoch"),
        "input_shape": topology.input_shape,
        "input_name": topology.input_name,
        "normalization": _normalization(sx),
        "labels": (built["tfjs"] or {}).get("labels"),
        "labels_unavailable": (built["tfjs"] or {}).get("labels_unavailable"),
        # What decoding a detection or landmarks model's outputs needs (the export page's snippets use it).
        "task": settings_of(sx.run.get("config")).task,
        "task_metadata": (built["tfjs"] or {}).get("task_metadata"),
        "max_accuracy_drop": max_drop,
        "extra": {"installed": extra_installed(), "install": INSTALL_HINT},
        "gate": {
            key: tfjs_report.get(key)
            for key in (
                "reference_accuracy",
                "task",
                "reference_map50",
                "reference_nme",
                "val_items",
                "split_items",
                "normalization",
                "backend",
                "seconds",
            )
        },
        "convert_seconds": (built["tf"] or {}).get("convert_seconds"),
        "formats": formats,
    }
