"""The numpy weight quantizer: float16, uint16 and uint8 weights that tfjs decodes as it decodes its converter's."""

from __future__ import annotations

import numpy as np

from .tfjs_model import LayersModel

QUANTIZED_DTYPES = ("float16", "uint16", "uint8")
_AFFINE = {"uint8": np.uint8, "uint16": np.uint16}


def affine_range(low: float, high: float, dtype) -> tuple[float, float, float]:
    """(scale, nudged_min, nudged_max) so that 0 maps exactly to an integer when the range covers it.

    The same nudge as tensorflowjs.quantization (after TFLite's NudgeQuantizationRange): zero padding and ReLU
    outputs stay exactly zero after dequantization.
    """
    quant_max = np.iinfo(dtype).max
    scale = (high - low) / quant_max
    if low <= 0 <= high:
        zero_point = np.round((0 - low) / scale)
        nudged_min = -zero_point * scale
        return scale, nudged_min, quant_max * scale + nudged_min
    return scale, low, high


def quantize_array(values: np.ndarray, dtype: str) -> tuple[bytes, dict]:
    """One float32 weight as stored bytes and its weightsManifest `quantization` entry.

    tfjs decodes uint8/uint16 as `v * scale + min` (in double precision, then float32) and float16 as IEEE halfs.
    """
    values = np.asarray(values, dtype=np.float32)
    if dtype == "float16":
        return values.astype("<f2").tobytes(), {"dtype": "float16", "original_dtype": "float32"}
    if dtype not in _AFFINE:
        raise ValueError(f"unknown quantization dtype {dtype!r} (expected one of {', '.join(QUANTIZED_DTYPES)})")
    target = _AFFINE[dtype]
    low, high = float(values.min()) if values.size else 0.0, float(values.max()) if values.size else 0.0
    if low == high:
        # One value only: store zeros and put the value in `min`, so it comes back exactly.
        quantized = np.zeros(values.shape, dtype=target)
        scale, low = 1.0, low
    else:
        scale, low, high = affine_range(low, high, target)
        quantized = np.round((values.clip(low, high).astype(np.float64) - low) / scale).astype(target)
    entry = {"dtype": dtype, "min": float(low), "scale": float(scale), "original_dtype": "float32"}
    return quantized.astype(np.dtype(target).newbyteorder("<")).tobytes(), entry


def quantize_model(model: LayersModel, dtype: str) -> tuple[list[dict], bytes]:
    """Every float32 weight quantized to `dtype` (integer weights are left as they are): specs and stored bytes."""
    specs, chunks = [], []
    for spec, values in zip(model.specs, model.arrays):
        spec = {k: v for k, v in spec.items() if k not in ("group", "quantization")}
        if spec["dtype"] == "float32":
            data, spec["quantization"] = quantize_array(values, dtype)
        else:
            data = np.ascontiguousarray(values, dtype="<i4").tobytes()
        specs.append(spec)
        chunks.append(data)
    return specs, b"".join(chunks)
