"""The one module that imports TensorFlow: run as a subprocess (`python -m server.artifacts.tf_worker`); the server
imports it only for its constants (TensorFlow is imported inside the commands).

    convert   < {"model_json": FILE, "out": DIR}
        Keras H5 and a tf_keras SavedModel through the tensorflowjs converter, then TFLite (float32, and dynamic-range
        quantized: int8 weights, float activations) from that SavedModel: DIR/keras.h5, DIR/savedmodel/,
        DIR/tflite.tflite, DIR/tflite-dynamic.tflite.
    evaluate  < {"inputs": FILE, "shape": [n, h, w, c], "reference": FILE, "labels": [...], "models": {name: PATH}}
        Each model's predictions on the float32 inputs, against the reference outputs (float32, n x classes):
        {"results": {name: {"accuracy", "max_abs_diff", "agreement"}}}.

Answers are one JSON line on stdout; TensorFlow's chatter goes to stderr.
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

BATCH_SIZE = 64
# The exit status that says "the export extra does not import" (exports.py turns it into a repair hint).
EXIT_EXTRA_BROKEN = 3


def convert(job: dict) -> dict:
    import tensorflow as tf
    from tensorflowjs.converters import converter

    started = time.perf_counter()
    out = job["out"]
    converter.dispatch_tensorflowjs_to_keras_h5_conversion(job["model_json"], os.path.join(out, "keras.h5"))
    saved_model = os.path.join(out, "savedmodel")
    converter.dispatch_tensorflowjs_to_keras_saved_model_conversion(job["model_json"], saved_model)
    _pin_fingerprint_uuid(saved_model)
    for name, optimizations in (("tflite.tflite", []), ("tflite-dynamic.tflite", [tf.lite.Optimize.DEFAULT])):
        lite = tf.lite.TFLiteConverter.from_saved_model(saved_model)
        # No representative dataset: Optimize.DEFAULT then means dynamic-range quantization (int8 weights).
        lite.optimizations = optimizations
        with open(os.path.join(out, name), "wb") as f:
            f.write(lite.convert())
    import tensorflowjs

    return {"seconds": time.perf_counter() - started,
            "versions": {"tensorflow": tf.__version__, "tensorflowjs": tensorflowjs.__version__}}


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
        (output,) = serve(**{name: tf.constant(inputs[start:start + BATCH_SIZE])}).values()
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
    results = {}
    for name, path in job["models"].items():
        started = time.perf_counter()
        outputs = _predictor(name, path)(path, inputs).reshape(reference.shape)
        top = outputs.argmax(axis=1)
        count = len(inputs)
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
    except Exception as exc:  # noqa: BLE001  ImportError, or whatever a broken dependency raises while importing
        # e.g. setuptools >= 81 (pulled in by another install) removed pkg_resources, which tensorflow_hub imports.
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_EXTRA_BROKEN
    answer = handlers[command](job)
    sys.stdout.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
