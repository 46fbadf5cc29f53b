"""The export formats, their errors, and one snapshot's export folder (what is cached where).

Layout under runs/<id>/exports/v2-s<seq>/ (v2: bump LAYOUT when what an export holds changes):
  tfjs/ float16/ uint16/ uint8/     model.json (labels in userDefinedMetadata) + weight shards + labels.txt +
                                    metadata.json, as tf.loadLayersModel reads them
  <format>.zip                      each of those folders zipped for download
  built-tfjs.json, gate-tfjs.json   written last: their presence means the files before them are whole
  keras.h5 savedmodel/ tflite.tflite tflite-dynamic.tflite   the bare models (labels inside each), for the gate and
                                    for raw downloads
  keras.zip savedmodel.zip tflite.zip tflite-dynamic.zip     each model with labels.txt and metadata.json beside it
  built-tf.json, gate-tf.json
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from ..errors import StatusError
from ..runs.service import RunError, get_run
from ..runs.snapshots import MODEL_FILE, checked_weight_bytes, latest_seq, snapshot_dir
from ..storage import Storage, read_json
from .format_names import FORMATS, REFERENCE, TF_FORMATS, TFJS_FORMATS  # noqa: F401  (re-exported)

EXPORTS = "exports"
LAYOUT = "v2"
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
# The versions CI tested, for every package the extra brings (constraints/lock.sh regenerates them).
EXPORT_CONSTRAINTS = "constraints/export.txt"
INSTALL_HINT = (
    "Keras, SavedModel and TFLite exports need the optional `export` extra (TensorFlow, about 2.9 GB): "
    "run `make export-extra` in the project folder, or there "
    f"`pip install -c {EXPORT_CONSTRAINTS} -e '.[export]'` in the server's virtual environment (the "
    "versions CI tested), then retry"
)


@dataclass(frozen=True)
class Format:
    name: str
    label: str
    quantized: bool
    needs_extra: bool
    raw: str | None = None  # the bare single-file model in the cache folder, for formats that have one

    @property
    def cached(self) -> str:
        """The zip served by default, inside the cache folder."""
        return f"{self.name}.zip"


FORMAT_INFO = {
    "tfjs": Format("tfjs", "TensorFlow.js layers model, float32 (as trained)", False, False),
    "float16": Format("float16", "TensorFlow.js, float16 weights", True, False),
    "uint16": Format("uint16", "TensorFlow.js, uint16 weights", True, False),
    "uint8": Format("uint8", "TensorFlow.js, uint8 weights", True, False),
    "keras": Format("keras", "Keras H5 (tf_keras)", False, True, "keras.h5"),
    "savedmodel": Format("savedmodel", "TensorFlow SavedModel", False, True),
    "tflite": Format("tflite", "TFLite, float32", False, True, "tflite.tflite"),
    "tflite-dynamic": Format(
        "tflite-dynamic", "TFLite, dynamic-range quantized (int8 weights)", True, True, "tflite-dynamic.tflite"
    ),
}
SINGLE_FILE_FORMATS = tuple(name for name, info in FORMAT_INFO.items() if info.raw)


class ExportError(RunError):
    """An export request that cannot be honoured as sent (unknown format, no snapshot); nothing was written."""


class ExtraMissing(ExportError):
    """The format needs the optional `export` extra (501 Not Implemented: this install cannot, another can)."""

    status = 501

    def __init__(self, fmt: str):
        super().__init__(f"{fmt}: {INSTALL_HINT}")


class NeedsConfirm(ExportError):
    """The gate flagged this export (or could not evaluate a quantized one): it is served only when confirmed (409)."""

    status = 409

    def __init__(self, message: str, entry: dict | None):
        super().__init__(message)
        self.entry = entry


class ConversionFailed(StatusError, RuntimeError):
    """A conversion subprocess failed: our bug or a broken install, not the user's request (500, said plainly)."""

    status = 500


class ExtraBroken(ConversionFailed):
    """The `export` extra is installed but does not import: the environment needs repairing, not the request."""

    def __init__(self, reason: str):
        super().__init__(
            f"the `export` extra is installed but TensorFlow does not import ({reason}); another install probably "
            f"changed a package it needs. Repair the environment: `{sys.executable} -m pip install -c "
            f"{PACKAGE_ROOT / EXPORT_CONSTRAINTS} -e '{PACKAGE_ROOT}[export]'` (the versions CI tested), then "
            "retry"
        )


def extra_installed() -> bool:
    """Whether the `export` extra is importable, found without importing it (that would load TensorFlow)."""
    return importlib.util.find_spec("tensorflowjs") is not None


def check_format(fmt: str, raw: bool = False) -> Format:
    if fmt not in FORMAT_INFO:
        raise ExportError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if raw and FORMAT_INFO[fmt].raw is None:
        raise ExportError(
            f"{fmt} has no single model file to serve raw: raw applies to "
            f"{', '.join(SINGLE_FILE_FORMATS)} (the zip holds the model and its labels)"
        )
    return FORMAT_INFO[fmt]


# What says a group of exports (or its gate numbers) is whole; written, published and fetched last.
MARKERS = ("built-tfjs.json", "built-tf.json", "gate-tfjs.json", "gate-tf.json")


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

    def stem(self, fmt: str) -> str:
        return f"{self.run['dataset']}-{self.run['id']}-s{self.seq}-{fmt}"

    def filename(self, fmt: str, raw: bool = False) -> str:
        return self.stem(fmt) + (Path(FORMAT_INFO[fmt].raw).suffix if raw else ".zip")

    def path(self, fmt: str, raw: bool = False) -> Path:
        info = FORMAT_INFO[fmt]
        return self.folder / (info.raw if raw else info.cached)

    def built(self, group: str) -> dict | None:
        return self._marker(f"built-{group}.json")

    def gate(self, group: str) -> dict | None:
        return self._marker(f"gate-{group}.json")

    def _marker(self, name: str) -> dict | None:
        """A marker's content, or None while what it marks is not built. A marker only another server sharing the
        store has built brings the whole folder here first (the markers last)."""
        marker = self.folder / name
        store = self.storage.store
        if not marker.exists() and not store.local and store.exists(self.storage.key(marker)):
            self.storage.fetch_folder(self.folder, last=MARKERS)
        return read_json(marker) if marker.exists() else None

    def publish(self, names: list[str], marker: str) -> None:
        """Keep what a build put in place in the store, its marker after it (see Storage.publish)."""
        for name in names:
            self.storage.publish(self.folder / name)
        self.storage.publish(self.folder / marker)


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
