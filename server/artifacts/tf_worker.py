"""The one module that imports TensorFlow: run as a subprocess (`python -m server.artifacts.tf_worker`); the server
imports it only for its constants (TensorFlow is imported inside the commands).

    convert   < {"model_json": FILE, "out": DIR, "metadata": FILE}
        Keras H5 and a tf_keras SavedModel through the tensorflowjs converter, then TFLite (float32, and dynamic-range
        quantized: int8 weights, float activations) from that SavedModel: DIR/keras.h5, DIR/savedmodel/,
        DIR/tflite.tflite, DIR/tflite-dynamic.tflite. Each carries the export metadata (labels.py) inside: H5 root
        attributes, SavedModel assets.extra/, a TFLite metadata entry plus labels.txt and metadata.json appended as
        a zip (TFLite Support's convention for associated files: the .tflite file is also a zip).
    evaluate  < {"inputs": FILE, "shape": [n, h, w, c], "reference": FILE, "labels": [...], "models": {name: PATH}}
        Each model's predictions on the float32 inputs, against the reference outputs (float32, n x classes):
        {"results": {name: {"accuracy", "max_abs_diff", "agreement"}}}. With "outputs_dir" (detection, landmarks)
        each model's raw outputs are written there as NAME.f32 instead, for the gate's Node side to score.

Answers are one JSON line on stdout; TensorFlow's chatter goes to stderr.
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from server.artifacts import labels
from server.artifacts.files import ZIP_TIMESTAMP

BATCH_SIZE = 64
# The exit status that says "the export extra does not import" (exports.py turns it into a repair hint).
EXIT_EXTRA_BROKEN = 3
# Where each format keeps the export metadata (the same JSON as metadata.json).
H5_LABELS_ATTRIBUTE = "labels"
H5_METADATA_ATTRIBUTE = "browsertrain_metadata"
TFLITE_METADATA_NAME = "browsertrain_metadata"
SAVED_MODEL_EXTRA = "assets.extra"  # TensorFlow's folder for files that live with a SavedModel but not in its graph


def convert(job: dict) -> dict:
    import tensorflow as tf
    from tensorflowjs.converters import converter

    started = time.perf_counter()
    out = job["out"]
    with open(job["metadata"], encoding="utf-8") as f:
        metadata = json.load(f)
    files = _label_files(metadata)
    converter.dispatch_tensorflowjs_to_keras_h5_conversion(job["model_json"], os.path.join(out, "keras.h5"))
    _h5_with_labels(os.path.join(out, "keras.h5"), metadata, files[labels.METADATA_FILE])
    saved_model = os.path.join(out, "savedmodel")
    converter.dispatch_tensorflowjs_to_keras_saved_model_conversion(job["model_json"], saved_model)
    _pin_fingerprint_uuid(saved_model)
    # After the conversions: TFLite reads the SavedModel's graph, never assets.extra.
    os.makedirs(os.path.join(saved_model, SAVED_MODEL_EXTRA))
    for name, data in files.items():
        with open(os.path.join(saved_model, SAVED_MODEL_EXTRA, name), "wb") as f:
            f.write(data)
    for name, optimizations in (("tflite.tflite", []), ("tflite-dynamic.tflite", [tf.lite.Optimize.DEFAULT])):
        lite = tf.lite.TFLiteConverter.from_saved_model(saved_model)
        # No representative dataset: Optimize.DEFAULT then means dynamic-range quantization (int8 weights).
        lite.optimizations = optimizations
        with open(os.path.join(out, name), "wb") as f:
            f.write(_tflite_with_labels(lite.convert(), files))
    import tensorflowjs

    return {
        "seconds": time.perf_counter() - started,
        "versions": {"tensorflow": tf.__version__, "tensorflowjs": tensorflowjs.__version__},
    }


def _label_files(metadata: dict) -> dict[str, bytes]:
    files = {labels.METADATA_FILE: labels.metadata_json(metadata).encode()}
    if metadata["labels"] is not None:
        files[labels.LABELS_FILE] = labels.labels_text(metadata["labels"]).encode()
    return files


def _h5_with_labels(path: str, metadata: dict, metadata_bytes: bytes) -> None:
    """Root attributes: `labels` (UTF-8 strings in output order) and the whole metadata as JSON text."""
    import h5py

    with h5py.File(path, "r+") as f:
        if metadata["labels"] is not None:
            f.attrs.create(H5_LABELS_ATTRIBUTE, metadata["labels"], dtype=h5py.string_dtype("utf-8"))
        f.attrs[H5_METADATA_ATTRIBUTE] = metadata_bytes.decode()


def _tflite_with_labels(model: bytes, files: dict[str, bytes]) -> bytes:
    """The model with a metadata entry holding metadata.json, and the label files appended as a zip.

    The entry is added through the flatbuffer object API, as TFLite Support's MetadataPopulator adds its own; the
    zip makes `zipfile.ZipFile("model.tflite").read("labels.txt")` work, and the interpreter ignores the tail.
    """
    import io
    import zipfile

    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    tree = flatbuffer_utils.read_model_from_bytearray(bytearray(model))
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(files[labels.METADATA_FILE], dtype=np.uint8)
    tree.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = TFLITE_METADATA_NAME
    entry.buffer = len(tree.buffers) - 1
    tree.metadata = [*(tree.metadata or []), entry]
    associated = io.BytesIO()
    with zipfile.ZipFile(associated, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, ZIP_TIMESTAMP)
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])  # stored: TFLite Support reads associated files uncompressed
    return flatbuffer_utils.convert_object_to_bytearray(tree, associated.getvalue())


def _pin_fingerprint_uuid(saved_model: str) -> None:
    """Make the SavedModel's fingerprint.pb the same bytes for the same model.

    Everything a SavedModel holds comes out byte-identical from one conversion to the next except the fingerprint's
    `uuid`, a random 64-bit number TensorFlow draws per save. It identifies a save, not a model, so we derive it
    from the fingerprint's own content hashes: the same snapshot then exports to the same bytes.
    """
    import hashlib

    from tensorflow.core.protobuf import fingerprint_pb2

    path = os.path.join(saved_model, "fingerprint.pb")
    if not os.path.exists(path):
        return
    fingerprint = fingerprint_pb2.FingerprintDef()
    with open(path, "rb") as f:
        fingerprint.ParseFromString(f.read())
    content = f"{fingerprint.saved_model_checksum}:{fingerprint.checkpoint_hash}:{fingerprint.signature_def_hash}"
    fingerprint.uuid = str(int.from_bytes(hashlib.sha256(content.encode()).digest()[:8], "big"))
    with open(path, "wb") as f:
        f.write(fingerprint.SerializeToString(deterministic=True))


def _predict_keras(path: str, inputs: np.ndarray) -> np.ndarray:
    import tf_keras

    model = tf_keras.models.load_model(path, compile=False)
    return np.asarray(model.predict(inputs, batch_size=BATCH_SIZE, verbose=0))


def _predict_saved_model(path: str, inputs: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    serve = tf.saved_model.load(path).signatures["serving_default"]
    name = next(iter(serve.structured_input_signature[1]))
    rows = []
    for start in range(0, len(inputs), BATCH_SIZE):
        (output,) = serve(**{name: tf.constant(inputs[start : start + BATCH_SIZE])}).values()
        rows.append(output.numpy())
    return np.concatenate(rows) if rows else np.zeros((0, 0), np.float32)


def _predict_tflite(path: str, inputs: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_path=path)
    (source,) = interpreter.get_input_details()
    interpreter.resize_tensor_input(source["index"], list(inputs.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(source["index"], inputs)
    interpreter.invoke()
    (target,) = interpreter.get_output_details()
    return interpreter.get_tensor(target["index"])


def _predictor(name: str, path: str):
    if path.endswith(".h5"):
        return _predict_keras
    if path.endswith(".tflite"):
        return _predict_tflite
    if os.path.isdir(path):
        return _predict_saved_model
    raise ValueError(f"{name}: no way to load {path}")


def evaluate(job: dict) -> dict:
    inputs = np.fromfile(job["inputs"], dtype="<f4").reshape(job["shape"])
    reference = np.fromfile(job["reference"], dtype="<f4").reshape(len(inputs), -1)
    labels = np.asarray(job["labels"])
    reference_top = reference.argmax(axis=1)
    # Detection and landmarks: the raw outputs go to outputs_dir/<name>.f32, scored by the gate's Node side.
    outputs_dir = job.get("outputs_dir")
    results = {}
    for name, path in job["models"].items():
        started = time.perf_counter()
        outputs = _predictor(name, path)(path, inputs).reshape(reference.shape)
        count = len(inputs)
        if outputs_dir:
            outputs.astype("<f4").tofile(os.path.join(outputs_dir, f"{name}.f32"))
            results[name] = {"seconds": time.perf_counter() - started}
            continue
        top = outputs.argmax(axis=1)
        results[name] = {
            "accuracy": float((top == labels).mean()) if count else None,
            "max_abs_diff": float(np.abs(outputs - reference).max()) if count else 0.0,
            "agreement": float((top == reference_top).mean()) if count else None,
            "seconds": time.perf_counter() - started,
        }
    return {"results": results}


def main() -> int:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    job = json.loads(sys.stdin.read())
    handlers = {"convert": convert, "evaluate": evaluate}
    if command not in handlers:
        print(f"unknown command {command!r} (expected {' or '.join(handlers)})", file=sys.stderr)
        return 2
    try:
        import tensorflow  # noqa: F401
        import tensorflowjs  # noqa: F401
    except Exception as exc:
        # e.g. setuptools >= 81 (pulled in by another install) removed pkg_resources, which tensorflow_hub imports.
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_EXTRA_BROKEN
    answer = handlers[command](job)
    sys.stdout.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
