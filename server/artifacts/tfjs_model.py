"""tfjs layers-model files: read a snapshot's weights by name, drop the optimizer, write model.json + shards."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from ..runs.snapshots import MODEL_FILE

# What the tfjs converter writes (tensorflowjs.write_weights): one group, its bytes cut into 4 MiB shards at any byte,
# so a browser fetches a few cacheable files instead of one large one.
SHARD_BYTES = 4 * 1024 * 1024
_NUMPY_DTYPES = {"float32": "<f4", "int32": "<i4", "uint8": "u1", "uint16": "<u2", "float16": "<f2"}
OPTIMIZER_GROUP = "optimizer"


class ModelFileError(ValueError):
    """A model.json whose weights cannot be read as described."""


@dataclass
class LayersModel:
    """A tfjs layers model in memory: model.json without its weightsManifest, and each weight as a numpy array."""

    model_json: dict
    specs: list[dict] = field(default_factory=list)
    arrays: list[np.ndarray] = field(default_factory=list)

    @property
    def input_shape(self) -> list:
        """[height, width, channels] of the first input, read from the topology."""
        for layer in self.model_json["modelTopology"]["config"]["layers"]:
            if layer.get("class_name") == "InputLayer":
                return list(layer["config"]["batch_input_shape"][1:])
        raise ModelFileError("the model has no InputLayer")

    @property
    def input_name(self) -> str:
        return self.model_json["modelTopology"]["config"]["input_layers"][0][0]

    @property
    def output_units(self) -> int:
        """Values per position of the output layer: a dense head's units, or a conv head's filters (detection's
        A·(5+C) per grid cell)."""
        config = self.model_json["modelTopology"]["config"]
        last = config["output_layers"][0][0]
        for layer in config["layers"]:
            if layer["name"] == last:
                layer_config = layer["config"]
                return int(layer_config["units"] if "units" in layer_config else layer_config["filters"])
        raise ModelFileError(f"output layer {last!r} not found")


def _spec_bytes(spec: dict) -> int:
    dtype = spec.get("quantization", {}).get("dtype", spec["dtype"])
    return math.prod(spec["shape"]) * np.dtype(_NUMPY_DTYPES[dtype]).itemsize


def read_model(folder: Path) -> LayersModel:
    """Read model.json and every weight it lists (its shards concatenated in order), quantized weights decoded."""
    model_json = json.loads((folder / MODEL_FILE).read_bytes())
    model = LayersModel({k: v for k, v in model_json.items() if k != "weightsManifest"})
    for group in model_json["weightsManifest"]:
        data = b"".join((folder / path).read_bytes() for path in group["paths"])
        offset = 0
        for spec in group["weights"]:
            size = _spec_bytes(spec)
            if offset + size > len(data):
                raise ModelFileError(f"weight {spec['name']!r} runs past the end of its {len(data):,} bytes")
            raw = np.frombuffer(
                data,
                dtype=_NUMPY_DTYPES[spec.get("quantization", {}).get("dtype", spec["dtype"])],
                count=math.prod(spec["shape"]),
                offset=offset,
            ).reshape(spec["shape"])
            model.specs.append(spec)
            model.arrays.append(_decode(spec, raw))
            offset += size
        if offset != len(data):
            raise ModelFileError(f"the weights take {offset:,} bytes but the files hold {len(data):,}")
    return model


def _decode(spec: dict, raw: np.ndarray) -> np.ndarray:
    """The weight as tfjs sees it after loading (io_utils.decodeWeights): float32 from any quantization."""
    quantization = spec.get("quantization")
    if quantization is None:
        return raw
    if quantization["dtype"] == "float16":
        return raw.astype(np.float32)
    return (raw.astype(np.float64) * quantization["scale"] + quantization["min"]).astype(np.float32)


def for_inference(model: LayersModel) -> LayersModel:
    """The model without its optimizer: Adam's step counter and moments dropped, and the trainingConfig with them.

    tfjs compiles a loaded model from its trainingConfig (optimizer included), so keeping the config without the
    optimizer weights would hand users a fresh Adam that claims to be the trained one; an export is for inference,
    and whoever fine-tunes calls compile() with what they choose.
    """
    kept = [(spec, array) for spec, array in zip(model.specs, model.arrays) if spec.get("group") != OPTIMIZER_GROUP]
    model_json = {k: v for k, v in model.model_json.items() if k != "trainingConfig"}
    return LayersModel(model_json, [dict(spec) for spec, _ in kept], [array for _, array in kept])


def write_model(folder: Path, model: LayersModel, specs: list[dict], data: bytes) -> list[str]:
    """Write model.json and the weight shards into `folder` (which must exist); return the file names written.

    `specs` and `data` are the weights as stored (quantized or not); the topology is written as it came.
    """
    count = max(1, math.ceil(len(data) / SHARD_BYTES))
    paths = [f"group1-shard{i + 1}of{count}.bin" for i in range(count)]
    for i, path in enumerate(paths):
        (folder / path).write_bytes(data[i * SHARD_BYTES : (i + 1) * SHARD_BYTES])
    model_json = {
        **model.model_json,
        "format": "layers-model",
        "generatedBy": model.model_json.get("generatedBy"),
        "convertedBy": f"browsertrain {__version__}",
        "weightsManifest": [{"paths": paths, "weights": specs}],
    }
    (folder / MODEL_FILE).write_text(json.dumps(model_json, separators=(",", ":"), allow_nan=False))
    return [MODEL_FILE, *paths]


def float32_weights(model: LayersModel) -> tuple[list[dict], bytes]:
    """The weights as tfjs saved them: specs without their training-time group, little-endian values in order."""
    specs = [{k: v for k, v in spec.items() if k not in ("group", "quantization")} for spec in model.specs]
    data = b"".join(
        np.ascontiguousarray(a, dtype=_NUMPY_DTYPES[s["dtype"]]).tobytes() for s, a in zip(specs, model.arrays)
    )
    return specs, data
