"""Building a snapshot's exports into its cache folder, once, atomically and reproducibly, labels included.

The tfjs group is numpy (milliseconds); the TensorFlow group runs tf_worker.py in a subprocess, so the server never
imports TensorFlow. Same snapshot, same bytes: zips have fixed timestamps and sorted entries, metadata.json has sorted
keys and no clock, and the worker pins the one random field a SavedModel holds.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from ..storage import atomic_write_json, locked, read_json
from . import labels, quantize, tf_worker, tfjs_model
from .files import move_into_place, tree, work_dir, write_zip
from .formats import (
    FORMAT_INFO,
    PACKAGE_ROOT,
    REFERENCE,
    SINGLE_FILE_FORMATS,
    TFJS_FORMATS,
    ConversionFailed,
    ExtraBroken,
    ExtraMissing,
    SnapshotExports,
    extra_installed,
)
from .subprocess_json import ChildFailed, run_json

WORKER_TIMEOUT_SECONDS = 900
# The name a single-file model has inside its zip, beside labels.txt and metadata.json.
ZIPPED_MODEL = {"keras": "model.h5", "tflite": "model.tflite", "tflite-dynamic": "model.tflite"}
SAVED_MODEL = "savedmodel"


def ensure_tfjs(sx: SnapshotExports) -> dict:
    """The float32 and quantized tfjs exports (milliseconds of numpy): built once, then read from the cache."""
    if (built := sx.built("tfjs")) is not None:
        return built
    with locked(sx.folder):
        if (built := sx.built("tfjs")) is not None:
            return built
        model = tfjs_model.for_inference(tfjs_model.read_model(sx.snapshot))
        metadata = labels.export_metadata(sx.storage, sx.run, sx.seq, sx.meta.get("epoch"), model)
        # tf.loadLayersModel hands this to model.getUserDefinedMetadata(): the labels travel inside model.json too.
        model.model_json["userDefinedMetadata"] = metadata
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
                labels.write_label_files(work / fmt, metadata)
                write_zip(work / FORMAT_INFO[fmt].cached, sx.stem(fmt), tree(work / fmt))
            names = [*TFJS_FORMATS, *(FORMAT_INFO[f].cached for f in TFJS_FORMATS)]
            move_into_place(work, sx.folder, names)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        built = {
            "seq": sx.seq,
            "snapshot_sha256": sx.meta.get("sha256"),
            "quantize_ms": timings,
            "weight_bytes": {fmt: _weight_bytes(sx.folder / fmt) for fmt in TFJS_FORMATS},
            "labels": metadata["labels"],
            "labels_unavailable": metadata["labels_unavailable"],
            "task_metadata": metadata.get("task_metadata"),
        }
        atomic_write_json(sx.folder / "built-tfjs.json", built)
        sx.publish(names, "built-tfjs.json")
        return built


def _weight_bytes(folder: Path) -> int:
    return sum(
        p.stat().st_size
        for p in folder.iterdir()
        if p.name != tfjs_model.MODEL_FILE and p.name not in labels.LABEL_FILES
    )


def metadata(sx: SnapshotExports) -> dict:
    """The snapshot's export metadata, as its tfjs exports hold it (building them if needed)."""
    ensure_tfjs(sx)
    return read_json(sx.folder / REFERENCE / labels.METADATA_FILE)


def run_worker(command: str, job: dict) -> dict:
    """Run tf_worker.py's `command` with `job` and return its answer (TensorFlow is imported only in that child)."""
    argv = [sys.executable, "-m", "server.artifacts.tf_worker", command]
    try:
        return run_json(argv, job, what=f"the TensorFlow {command}", timeout=WORKER_TIMEOUT_SECONDS, cwd=PACKAGE_ROOT)
    except ChildFailed as exc:
        if exc.returncode == tf_worker.EXIT_EXTRA_BROKEN:
            raise ExtraBroken(exc.reason or "no reason given") from None
        raise ConversionFailed(str(exc)) from None


def ensure_tf(sx: SnapshotExports) -> dict:
    """Keras H5, SavedModel and TFLite through the tensorflowjs converter, in a subprocess (seconds); each carries the
    labels inside (the worker embeds them) and is zipped with labels.txt and metadata.json beside it."""
    if (built := sx.built("tf")) is not None:
        return built
    if not extra_installed():
        raise ExtraMissing("keras, savedmodel and tflite")
    ensure_tfjs(sx)
    reference = sx.folder / REFERENCE
    with locked(sx.folder):
        if (built := sx.built("tf")) is not None:
            return built
        work = work_dir(sx.folder)
        try:
            answer = run_worker(
                "convert",
                {
                    "model_json": str(reference / tfjs_model.MODEL_FILE),
                    "out": str(work),
                    "metadata": str(reference / labels.METADATA_FILE),
                },
            )
            beside = {name: reference / name for name in labels.LABEL_FILES if (reference / name).exists()}
            write_zip(
                work / FORMAT_INFO[SAVED_MODEL].cached, sx.stem(SAVED_MODEL), {**tree(work / SAVED_MODEL), **beside}
            )
            for fmt in SINGLE_FILE_FORMATS:
                write_zip(
                    work / FORMAT_INFO[fmt].cached,
                    sx.stem(fmt),
                    {ZIPPED_MODEL[fmt]: work / FORMAT_INFO[fmt].raw, **beside},
                )
            names = [
                SAVED_MODEL,
                *(FORMAT_INFO[fmt].raw for fmt in SINGLE_FILE_FORMATS),
                *(FORMAT_INFO[fmt].cached for fmt in (SAVED_MODEL, *SINGLE_FILE_FORMATS)),
            ]
            move_into_place(work, sx.folder, names)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        built = {"seq": sx.seq, "convert_seconds": round(answer["seconds"], 3), "versions": answer["versions"]}
        atomic_write_json(sx.folder / "built-tf.json", built)
        sx.publish(names, "built-tf.json")
        return built
