"""The allow-list of model topologies: which layer classes a snapshot may use, and each config key's type.

This is the one place to extend when the pages build a new kind of layer: add the class to LAYERS with its keys
(COMMON_KEYS are added to every layer). Anything not listed here is refused before it is stored, so TensorFlow (the
export worker) and tfjs (a page resuming a run) only ever load what is described here. The keys are what tfjs 4.22's
`getConfig()` writes for each class (a snapshot is always a tfjs `model.save`), plus the Keras spellings of the same
options; values are checked by type and range, never by a list of the values the builder happens to use.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..limits import MAX_LAYER_DIMENSION


@dataclass(frozen=True)
class Rule:
    """What a config value must be: `accepts(value)` says whether it is, `wants` says it in words."""

    wants: str
    accepts: Callable[[object], bool]


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _ints(value, low: int, high: int, lengths: range) -> bool:
    return isinstance(value, list) and len(value) in lengths and all(_is_int(v) and low <= v <= high for v in value)


def _one_of(*values: str) -> Rule:
    return Rule(f"one of {', '.join(map(repr, values))}", lambda v: isinstance(v, str) and v in values)


def _or_null(rule: Rule) -> Rule:
    return Rule(f"null or {rule.wants}", lambda v: v is None or rule.accepts(v))


_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}")
NAME = Rule(
    "a name of letters, digits, '_', '.', '-' (at most 128)",
    lambda v: isinstance(v, str) and _NAME.fullmatch(v) is not None,
)
BOOL = Rule("true or false", lambda v: isinstance(v, bool))
NUMBER = Rule("a finite number", _is_number)
NON_NEGATIVE = Rule("a finite number >= 0", lambda v: _is_number(v) and v >= 0)
FRACTION = Rule("a number from 0 to 1", lambda v: _is_number(v) and 0 <= v <= 1)
COUNT = Rule(f"an integer from 1 to {MAX_LAYER_DIMENSION:,}", lambda v: _is_int(v) and 1 <= v <= MAX_LAYER_DIMENSION)
SEED = Rule("null or an integer >= 0", lambda v: v is None or (_is_int(v) and 0 <= v < 2**63))
AXIS = Rule("an axis (an integer from -8 to 8)", lambda v: _is_int(v) and -8 <= v <= 8)
AXES = Rule("an axis or a list of axes", lambda v: AXIS.accepts(v) or _ints(v, -8, 8, range(1, 9)))
WINDOW = Rule(
    f"an integer or a list of 1-3 integers from 1 to {MAX_LAYER_DIMENSION:,}",
    lambda v: COUNT.accepts(v) or _ints(v, 1, MAX_LAYER_DIMENSION, range(1, 4)),
)
SHAPE = Rule(
    "a list of 1-8 dimensions (null or an integer >= 0)",
    lambda v: (
        isinstance(v, list)
        and 1 <= len(v) <= 8
        and all(d is None or (_is_int(d) and 0 <= d <= MAX_LAYER_DIMENSION) for d in v)
    ),
)
TARGET_SHAPE = Rule(
    "a list of 1-8 integers (-1 for one inferred dimension)",
    lambda v: _ints(v, -1, MAX_LAYER_DIMENSION, range(1, 9)) and v.count(-1) <= 1,
)
NOISE_SHAPE = Rule("null or a list of dimensions", lambda v: v is None or SHAPE.accepts(v))
PADDING = _one_of("valid", "same", "causal")
DATA_FORMAT = _one_of("channels_last", "channels_first")
# Only float32: a snapshot's weights are float32 (snapshots.py), and so are the images the pages feed.
DTYPE = _one_of("float32")
# tfjs 4.22's activation class names, and the Keras spellings of the camel-cased ones.
ACTIVATION = _one_of(
    "linear",
    "relu",
    "relu6",
    "elu",
    "selu",
    "sigmoid",
    "hardSigmoid",
    "hard_sigmoid",
    "softplus",
    "softsign",
    "tanh",
    "softmax",
    "logSoftmax",
    "log_softmax",
    "gelu",
    "gelu_new",
    "mish",
    "swish",
)


def _pair(v) -> bool:
    return _ints(v, 0, MAX_LAYER_DIMENSION, range(2, 3))


ZERO_PADDING = Rule(
    "an integer, [rows, columns] or [[top, bottom], [left, right]]",
    lambda v: (
        (_is_int(v) and 0 <= v <= MAX_LAYER_DIMENSION)
        or _pair(v)
        or (isinstance(v, list) and len(v) == 2 and all(_pair(p) for p in v))
    ),
)


def _object(classes: dict[str, dict[str, Rule]], what: str) -> Rule:
    """{"class_name": one of `classes`, "config": {key: value}} with only that class's keys, each of its type."""

    def accepts(value) -> bool:
        if not isinstance(value, dict) or set(value) != {"class_name", "config"}:
            return False
        keys = classes.get(value["class_name"]) if isinstance(value["class_name"], str) else None
        config = value["config"]
        return (
            keys is not None
            and isinstance(config, dict)
            and all(key in keys and keys[key].accepts(item) for key, item in config.items())
        )

    return Rule(f"{what} ({', '.join(sorted(classes))})", accepts)


_RANDOM = {"seed": SEED}
INITIALIZER = _object(
    {
        "Zeros": {},
        "Ones": {},
        "Constant": {"value": NUMBER},
        "Identity": {"gain": NUMBER},
        "RandomUniform": {"minval": NUMBER, "maxval": NUMBER, **_RANDOM},
        "RandomNormal": {"mean": NUMBER, "stddev": NON_NEGATIVE, **_RANDOM},
        "TruncatedNormal": {"mean": NUMBER, "stddev": NON_NEGATIVE, **_RANDOM},
        "VarianceScaling": {
            "scale": NON_NEGATIVE,
            "mode": _one_of("fan_in", "fan_out", "fan_avg"),
            "distribution": _one_of("normal", "uniform", "truncated_normal", "untruncated_normal"),
            **_RANDOM,
        },
        "GlorotUniform": _RANDOM,
        "GlorotNormal": _RANDOM,
        "HeNormal": _RANDOM,
        "HeUniform": _RANDOM,
        "LeCunNormal": _RANDOM,
        "LeCunUniform": _RANDOM,
        "Orthogonal": {"gain": NUMBER, **_RANDOM},
    },
    "an initializer",
)
REGULARIZER = _or_null(_object({"L1L2": {"l1": NON_NEGATIVE, "l2": NON_NEGATIVE}}, "a regularizer"))
_NORM = {"axis": AXES}
CONSTRAINT = _or_null(
    _object(
        {
            "MaxNorm": {"max_value": NON_NEGATIVE, **_NORM},
            "UnitNorm": _NORM,
            "NonNeg": {},
            "MinMaxNorm": {"min_value": NON_NEGATIVE, "max_value": NON_NEGATIVE, "rate": NON_NEGATIVE, **_NORM},
        },
        "a constraint",
    )
)


def _weights(prefix: str) -> dict[str, Rule]:
    """The initializer, regularizer and constraint of one weight (kernel, bias, depthwise, ...)."""
    return {
        f"{prefix}_initializer": INITIALIZER,
        f"{prefix}_regularizer": REGULARIZER,
        f"{prefix}_constraint": CONSTRAINT,
    }


# Every layer's base config (tfjs Layer.getConfig): batch_input_shape and dtype appear on a model's first layer.
COMMON_KEYS = {"name": NAME, "trainable": BOOL, "batch_input_shape": SHAPE, "dtype": DTYPE}

_CONV_BASE = {
    "kernel_size": WINDOW,
    "strides": WINDOW,
    "padding": PADDING,
    "data_format": DATA_FORMAT,
    "dilation_rate": WINDOW,
    "activation": ACTIVATION,
    "use_bias": BOOL,
    "activity_regularizer": REGULARIZER,
    **_weights("bias"),
}
_POOLING = {"pool_size": WINDOW, "strides": _or_null(WINDOW), "padding": PADDING, "data_format": DATA_FORMAT}
_GLOBAL_POOLING = {"data_format": DATA_FORMAT, "keepdims": BOOL}

# Layer class -> its own config keys. Model, Functional and Sequential (a model inside the model) are checked by
# topology.py, which walks into them.
LAYERS: dict[str, dict[str, Rule]] = {
    "InputLayer": {"sparse": BOOL},
    "Conv2D": {**_CONV_BASE, "filters": COUNT, **_weights("kernel")},
    "DepthwiseConv2D": {**_CONV_BASE, "depth_multiplier": COUNT, **_weights("depthwise")},
    "SeparableConv2D": {
        **_CONV_BASE,
        "filters": COUNT,
        "depth_multiplier": COUNT,
        **_weights("depthwise"),
        **_weights("pointwise"),
    },
    "Dense": {
        "units": COUNT,
        "activation": ACTIVATION,
        "use_bias": BOOL,
        "activity_regularizer": REGULARIZER,
        **_weights("kernel"),
        **_weights("bias"),
    },
    "BatchNormalization": {
        "axis": AXES,
        "momentum": FRACTION,
        "epsilon": NON_NEGATIVE,
        "center": BOOL,
        "scale": BOOL,
        **_weights("beta"),
        **_weights("gamma"),
        "moving_mean_initializer": INITIALIZER,
        "moving_variance_initializer": INITIALIZER,
    },
    "ReLU": {"max_value": _or_null(NON_NEGATIVE), "negative_slope": NON_NEGATIVE, "threshold": NUMBER},
    "LeakyReLU": {"alpha": NON_NEGATIVE, "negative_slope": NON_NEGATIVE},
    "Softmax": {"axis": AXES},
    "Activation": {"activation": ACTIVATION},
    "ZeroPadding2D": {"padding": ZERO_PADDING, "data_format": DATA_FORMAT},
    "Add": {},
    "Multiply": {},
    "Concatenate": {"axis": AXIS},
    "GlobalAveragePooling2D": _GLOBAL_POOLING,
    "GlobalMaxPooling2D": _GLOBAL_POOLING,
    "MaxPooling2D": _POOLING,
    "AveragePooling2D": _POOLING,
    "Dropout": {"rate": FRACTION, "noise_shape": NOISE_SHAPE, "seed": SEED},
    "Flatten": {"data_format": DATA_FORMAT},
    "Reshape": {"target_shape": TARGET_SHAPE},
    "Rescaling": {"scale": NUMBER, "offset": NUMBER},
}

# Models inside the model: their config is a graph of layers, walked by topology.py.
CONTAINERS = frozenset({"Model", "Functional", "Sequential"})

# What model.compile() records (LayersModel.getTrainingConfig), which tfjs reads back to compile a loaded model.
OPTIMIZERS: dict[str, dict[str, Rule]] = {
    "Adam": {"learningRate": NON_NEGATIVE, "beta1": FRACTION, "beta2": FRACTION, "epsilon": NON_NEGATIVE},
    "Adamax": {
        "learningRate": NON_NEGATIVE,
        "beta1": FRACTION,
        "beta2": FRACTION,
        "epsilon": NON_NEGATIVE,
        "decay": NON_NEGATIVE,
    },
    "SGD": {"learningRate": NON_NEGATIVE},
    "Momentum": {"learningRate": NON_NEGATIVE, "momentum": NON_NEGATIVE, "useNesterov": BOOL},
    "RMSProp": {
        "learningRate": NON_NEGATIVE,
        "decay": NON_NEGATIVE,
        "momentum": NON_NEGATIVE,
        "epsilon": NON_NEGATIVE,
        "centered": BOOL,
    },
    "Adagrad": {"learningRate": NON_NEGATIVE, "initialAccumulatorValue": NON_NEGATIVE},
    "Adadelta": {"learningRate": NON_NEGATIVE, "rho": FRACTION, "epsilon": NON_NEGATIVE},
}
# A loss or metric is named, never given as code: a plain identifier ('categorical_crossentropy', 'accuracy').
FUNCTION_NAME = Rule(
    "a loss or metric name (letters, digits, '_')",
    lambda v: isinstance(v, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,63}", v) is not None,
)
