"""The numpy quantizer against the tensorflowjs converter's own, and the tfjs files it writes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from support.exports import require_extra

from server.artifacts import quantize, tfjs_model

ARRAYS = {
    "normal": np.random.default_rng(0).standard_normal((3, 3, 16, 32)).astype(np.float32) * 0.2,
    "all positive": np.random.default_rng(1).uniform(0.5, 2.0, 100).astype(np.float32),
    "all negative": -np.random.default_rng(2).uniform(0.5, 2.0, 100).astype(np.float32),
    "constant": np.full(7, 0.25, np.float32),
    "zeros": np.zeros(5, np.float32),
    "with exact zeros": np.array([-1.3, 0.0, 0.0, 0.7, 2.9], np.float32),
}


def tensorflowjs_quantization():
    """tensorflowjs/quantization.py, loaded on its own (it needs only numpy; its package would import TensorFlow)."""
    require_extra()
    folder = Path(importlib.util.find_spec("tensorflowjs").submodule_search_locations[0])
    spec = importlib.util.spec_from_file_location("tfjs_quantization", folder / "quantization.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dequantize(data: bytes, entry: dict, shape) -> np.ndarray:
    """What tfjs 4.22's io_utils.decodeWeight computes: v * scale + min in double precision, stored as float32."""
    dtype = {"uint8": "u1", "uint16": "<u2", "float16": "<f2"}[entry["dtype"]]
    raw = np.frombuffer(data, dtype=dtype).reshape(shape)
    if entry["dtype"] == "float16":
        return raw.astype(np.float32)
    return (raw.astype(np.float64) * entry["scale"] + entry["min"]).astype(np.float32)


@pytest.mark.parametrize("name", ARRAYS)
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float16"])
def test_same_bytes_and_metadata_as_the_tensorflowjs_converter(name, dtype):
    reference = tensorflowjs_quantization()
    values = ARRAYS[name]
    data, entry = quantize.quantize_array(values, dtype)
    expected, metadata = reference.quantize_weights(values, reference.QUANTIZATION_OPTION_TO_DTYPES[dtype])
    assert data == expected.tobytes()
    if dtype != "float16":
        assert entry["min"] == pytest.approx(float(metadata["min"]), rel=0, abs=0)
        assert entry["scale"] == pytest.approx(float(metadata["scale"]), rel=0, abs=0)
    assert entry["original_dtype"] == "float32"
    json.dumps(entry, allow_nan=False)  # plain JSON numbers, as model.json needs


@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
def test_zero_comes_back_exactly_and_every_value_within_half_a_step(dtype):
    values = ARRAYS["with exact zeros"]
    data, entry = quantize.quantize_array(values, dtype)
    restored = dequantize(data, entry, values.shape)
    assert restored[1] == 0.0 and restored[2] == 0.0
    assert np.abs(restored - values).max() <= entry["scale"] / 2 + 1e-6


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float16"])
def test_a_constant_weight_comes_back_exactly(dtype):
    values = ARRAYS["constant"]
    data, entry = quantize.quantize_array(values, dtype)
    assert np.array_equal(dequantize(data, entry, values.shape), values)


def test_weights_are_cut_into_4_mib_shards_and_read_back_whole(tmp_path):
    big = np.random.default_rng(3).standard_normal(1_500_000).astype(np.float32)  # 6 MB of float32
    small = np.arange(10, dtype=np.float32)
    model = tfjs_model.LayersModel(
        {"modelTopology": {"config": {}}, "format": "layers-model"},
        [
            {"name": "big", "shape": [1_500_000], "dtype": "float32"},
            {"name": "small", "shape": [10], "dtype": "float32"},
        ],
        [big, small],
    )
    for dtype in ("float32", "uint8"):
        folder = tmp_path / dtype
        folder.mkdir()
        specs, data = tfjs_model.float32_weights(model) if dtype == "float32" else quantize.quantize_model(model, dtype)
        files = tfjs_model.write_model(folder, model, specs, data)
        shards = [folder / name for name in files[1:]]
        expected = 2 if dtype == "float32" else 1
        assert [p.name for p in shards] == [f"group1-shard{i + 1}of{expected}.bin" for i in range(expected)]
        assert shards[0].stat().st_size == min(len(data), tfjs_model.SHARD_BYTES)
        assert b"".join(p.read_bytes() for p in shards) == data
        back = tfjs_model.read_model(folder)
        tolerance = 0 if dtype == "float32" else (big.max() - big.min()) / 255
        assert np.abs(back.arrays[0] - big).max() <= tolerance
        manifest = json.loads((folder / "model.json").read_text())["weightsManifest"]
        assert manifest[0]["paths"] == [p.name for p in shards]
