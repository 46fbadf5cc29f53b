"""tfjs snapshots, built the way model.save(tf.io.http(url)) sends them, and the runs that hold them."""

from __future__ import annotations

import json

import httpx
import numpy as np

DENSE_WEIGHTS = [
    {"name": "dense/kernel", "shape": [4, 2], "dtype": "float32"},
    {"name": "dense/bias", "shape": [2], "dtype": "float32"},
]
# includeOptimizer: true appends Adam's step counter and its two moments per weight.
ADAM_WEIGHTS = [
    {"name": "iter", "shape": [], "dtype": "int32", "group": "optimizer"},
    {"name": "dense/kernel/m", "shape": [4, 2], "dtype": "float32", "group": "optimizer"},
    {"name": "dense/bias/m", "shape": [2], "dtype": "float32", "group": "optimizer"},
    {"name": "dense/kernel/v", "shape": [4, 2], "dtype": "float32", "group": "optimizer"},
    {"name": "dense/bias/v", "shape": [2], "dtype": "float32", "group": "optimizer"},
]


def model_json(weights: list[dict] | None = None, paths: list | None = None, **extra) -> dict:
    """A tfjs functional model (what tf.model() saves): an InputLayer of 4 features, then one Dense layer."""
    layers = [
        {
            "name": "input",
            "class_name": "InputLayer",
            "inbound_nodes": [],
            "config": {"batch_input_shape": [None, 4], "dtype": "float32", "sparse": False, "name": "input"},
        },
        {
            "name": "dense",
            "class_name": "Dense",
            "inbound_nodes": [[["input", 0, 0, {}]]],
            "config": {"units": 2, "activation": "linear", "use_bias": True, "name": "dense", "trainable": True},
        },
    ]
    topology = {
        "class_name": "Model",
        "config": {
            "name": "model_1",
            "layers": layers,
            "input_layers": [["input", 0, 0]],
            "output_layers": [["dense", 0, 0]],
        },
        "keras_version": "tfjs-layers 4.22.0",
        "backend": "tensor_flow.js",
    }
    return {
        "modelTopology": topology,
        "format": "layers-model",
        "generatedBy": "TensorFlow.js tfjs-layers v4.22.0",
        "convertedBy": None,
        "weightsManifest": [
            {
                "paths": paths if paths is not None else ["./model.weights.bin"],
                "weights": weights if weights is not None else DENSE_WEIGHTS,
            }
        ],
        **extra,
    }


def weights_for(specs: list[dict], seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    out = bytearray()
    for spec in specs:
        count = int(np.prod(spec["shape"], dtype=np.int64))
        if spec["dtype"] == "int32":
            out += np.full(count, seed, dtype="<i4").tobytes()
        else:
            out += rng.standard_normal(count).astype("<f4").tobytes()
    return bytes(out)


def snapshot_files(model: dict | bytes, weights: bytes) -> list:
    raw = model if isinstance(model, bytes) else json.dumps(model).encode()
    return [
        ("model.json", ("model.json", raw, "application/json")),
        ("model.weights.bin", ("model.weights.bin", weights, "application/octet-stream")),
    ]


def post_snapshot(client: httpx.Client, run_id: str, model: dict | bytes, weights: bytes, **params) -> httpx.Response:
    return client.post(f"/api/runs/{run_id}/snapshots", files=snapshot_files(model, weights), params=params)


def new_run(client: httpx.Client, dataset: str = "shapes") -> str:
    response = client.post("/api/runs", json={"dataset": dataset, "config": {"epochs": 3}})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def latest_model(client: httpx.Client, run_id: str) -> tuple[dict, bytes]:
    """What tf.loadLayersModel(url) fetches: model.json, then each weights path relative to it."""
    response = client.get(f"/api/runs/{run_id}/model.json")
    assert response.status_code == 200, response.text
    model = response.json()
    weights = b""
    for group in model["weightsManifest"]:
        for path in group["paths"]:
            part = client.get(f"/api/runs/{run_id}/{path}")
            assert part.status_code == 200, part.text
            weights += part.content
    return model, weights
