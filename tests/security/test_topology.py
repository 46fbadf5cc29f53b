"""Snapshot topologies outside the allow-list (server/runs/layer_allowlist.py) are refused when posted, with a 400 that
names what is wrong, and nothing reaches the disk; what the builder and a pretrained backbone produce is accepted."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import pytest
from support import (
    DENSE_WEIGHTS,
    ROOT,
    assert_unchanged,
    disk_state,
    latest_model,
    model_json,
    new_run,
    post_snapshot,
    weights_for,
)

HERE = Path(__file__).resolve().parent
GOOD_WEIGHTS = weights_for(DENSE_WEIGHTS, seed=42)
# marshal.dumps(compile("__import__('os').system('touch /tmp/owned')", ...).co_code) as Keras writes a Lambda's code.
MARSHALLED_CODE = "4wEAAAAAAAAAAAAAAAAAAAAAAwAAAEMAAABzDgAAAHQAZACDAaABZAGhAVMAKQJO2gJvcykC2gpfX2ltcG9ydF9f"


@pytest.fixture(scope="module")
def real_models() -> dict:
    """model.json files as tfjs 4.22 saves them: the builder's variants and a MobileNet-style backbone with a head."""
    done = subprocess.run(
        ["node", str(HERE / "topologies.mjs")], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True
    )
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def run_with_snapshot(module_server):
    with module_server.client() as c:
        run_id = new_run(c)
        assert post_snapshot(c, run_id, model_json(), GOOD_WEIGHTS, epoch=0).status_code == 201
    return run_id


def weights_of(model: dict) -> bytes:
    return weights_for(model["weightsManifest"][0]["weights"], seed=5)


def refused(server, client, run_id, model: dict, weights: bytes, *, says: str) -> str:
    """Posting `model` gets a 400 saying `says`; the disk is as it was and the earlier snapshot still loads."""
    before = disk_state(server.data_dir)
    response = post_snapshot(client, run_id, model, weights)
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert says in detail, detail
    assert_unchanged(server.data_dir, before)
    assert latest_model(client, run_id)[1] == GOOD_WEIGHTS
    return detail


def builder_model(real_models) -> dict:
    return copy.deepcopy(real_models["builder-plain-relu"])


def layers_of(model: dict) -> list:
    return model["modelTopology"]["config"]["layers"]


def insert_before_head(model: dict, entry: dict) -> dict:
    """Put `entry` between the pooling layer and the head, rewiring the head to read from it."""
    layers = layers_of(model)
    head = next(layer for layer in layers if layer["name"] == "head")
    entry["inbound_nodes"] = head["inbound_nodes"]
    head["inbound_nodes"] = [[[entry["name"], 0, 0, {}]]]
    layers.insert(layers.index(head), entry)
    return model


def class_names(value) -> set[str]:
    """Every layer class named anywhere in a topology (initializers' classes are not layers: skipped)."""
    found = set()
    if isinstance(value, dict):
        if "class_name" in value and isinstance(value.get("config"), dict) and "name" in value["config"]:
            found.add(value["class_name"])
        for item in value.values():
            found |= class_names(item)
    elif isinstance(value, list):
        for item in value:
            found |= class_names(item)
    return found


def test_builder_and_pretrained_backbone_topologies_are_accepted(mclient, real_models):
    assert "pretrained-backbone-with-head" in real_models and len(real_models) == 10
    classes = set()
    for name, model in real_models.items():
        run_id = new_run(mclient)
        response = post_snapshot(mclient, run_id, model, weights_of(model))
        assert response.status_code == 201, (name, response.text)
        served, weights = latest_model(mclient, run_id)
        assert served["modelTopology"] == model["modelTopology"] and weights == weights_of(model), name
        classes |= class_names(model["modelTopology"])
    assert {
        "Conv2D",
        "DepthwiseConv2D",
        "SeparableConv2D",
        "BatchNormalization",
        "ReLU",
        "Activation",
        "ZeroPadding2D",
        "Add",
        "Concatenate",
        "Multiply",
        "GlobalAveragePooling2D",
        "GlobalMaxPooling2D",
        "MaxPooling2D",
        "AveragePooling2D",
        "Dense",
        "Dropout",
        "Flatten",
        "Reshape",
        "Rescaling",
        "LeakyReLU",
        "Softmax",
        "InputLayer",
        "Model",
        "Sequential",
    } <= classes


def test_lambda_layer_with_marshalled_code_is_refused(module_server, mclient, run_with_snapshot, real_models):
    model = insert_before_head(
        builder_model(real_models),
        {
            "name": "evil",
            "class_name": "Lambda",
            "config": {
                "name": "evil",
                "trainable": True,
                "function": [MARSHALLED_CODE, None, None],
                "function_type": "lambda",
                "module": "__main__",
                "output_shape": None,
                "arguments": {},
            },
        },
    )
    detail = refused(module_server, mclient, run_with_snapshot, model, weights_of(model), says="'Lambda'")
    assert "not allowed" in detail


def test_string_lookup_whose_vocabulary_names_a_server_file_is_refused(
    module_server, mclient, run_with_snapshot, real_models
):
    secret = module_server.data_dir.parent / "secret-vocabulary.txt"
    model = insert_before_head(
        builder_model(real_models),
        {
            "name": "lookup",
            "class_name": "StringLookup",
            "config": {
                "name": "lookup",
                "trainable": True,
                "vocabulary": str(secret),
                "num_oov_indices": 1,
                "mask_token": None,
                "oov_token": "[UNK]",
                "output_mode": "int",
            },
        },
    )
    refused(module_server, mclient, run_with_snapshot, model, weights_of(model), says="'StringLookup' is not allowed")
    # The same file named from a key of an allowed layer is refused as an unknown key.
    model = builder_model(real_models)
    layers_of(model)[-1]["config"]["vocabulary"] = str(secret)
    refused(
        module_server, mclient, run_with_snapshot, model, weights_of(model), says="'vocabulary' that is not allowed"
    )


def test_unknown_layer_classes_are_refused(module_server, mclient, run_with_snapshot, real_models):
    for class_name in ("MyCustomLayer", "TFOpLambda", "Conv3D", "__import__", 7, None, ["Dense"]):
        model = builder_model(real_models)
        layers_of(model)[-1]["class_name"] = class_name
        refused(module_server, mclient, run_with_snapshot, model, weights_of(model), says="is not allowed")
    # ... inside a model nested in the model too.
    model = copy.deepcopy(real_models["pretrained-backbone-with-head"])
    backbone = next(layer for layer in layers_of(model) if layer["class_name"] == "Model")
    backbone["config"]["layers"][2]["class_name"] = "Lambda"
    refused(module_server, mclient, run_with_snapshot, model, weights_of(model), says="'Lambda' is not allowed")


def test_a_model_without_an_input_layer_is_refused(module_server, mclient, run_with_snapshot, real_models):
    model = builder_model(real_models)
    layers = layers_of(model)
    stem = layers[1]
    del layers[0]
    stem["inbound_nodes"] = []
    model["modelTopology"]["config"]["input_layers"] = [["stem", 0, 0]]
    refused(module_server, mclient, run_with_snapshot, model, weights_of(model), says="InputLayer")
    # A Sequential (no InputLayer in its saved form) is not what the builder makes, nor what the exporter reads.
    sequential = {
        **model_json(),
        "modelTopology": {
            "class_name": "Sequential",
            "config": {
                "name": "s",
                "layers": [
                    {"class_name": "Dense", "config": {"units": 2, "name": "dense", "batch_input_shape": [None, 4]}}
                ],
            },
        },
    }
    refused(module_server, mclient, run_with_snapshot, sequential, GOOD_WEIGHTS, says="functional model")


def test_two_weights_manifest_groups_pointing_at_one_file_are_refused(module_server, mclient, run_with_snapshot):
    model = model_json()
    model["weightsManifest"] = [
        {"paths": ["./model.weights.bin"], "weights": [DENSE_WEIGHTS[0]]},
        {"paths": ["./model.weights.bin"], "weights": [DENSE_WEIGHTS[1]]},
    ]
    refused(module_server, mclient, run_with_snapshot, model, GOOD_WEIGHTS, says="exactly one group")
    # The same refusal read byte for byte from a real socket (a whole answer, not a reset): test_wire.py.
    before = disk_state(module_server.data_dir)
    one_group_twice = model_json(paths=["./model.weights.bin", "./model.weights.bin"])
    refused(module_server, mclient, run_with_snapshot, one_group_twice, GOOD_WEIGHTS, says="weight paths")
    assert_unchanged(module_server.data_dir, before)


def test_config_values_outside_the_allow_list_are_refused(module_server, mclient, run_with_snapshot, real_models):
    def stem_with(**config):
        model = builder_model(real_models)
        layers_of(model)[1]["config"].update(config)
        return model

    cases = [
        (stem_with(filters="16"), "filters must be"),
        (stem_with(filters=-1), "filters must be"),
        (stem_with(filters=True), "filters must be"),
        (stem_with(activation="exec"), "activation must be"),
        (stem_with(kernel_initializer={"class_name": "Lambda", "config": {}}), "kernel_initializer must be"),
        (
            stem_with(kernel_initializer={"class_name": "Zeros", "config": {"path": "/etc/passwd"}}),
            "kernel_initializer must be",
        ),
        (stem_with(kernel_regularizer={"class_name": "L1L2", "config": {"l1": "x"}}), "kernel_regularizer must be"),
        (stem_with(padding="../../"), "padding must be"),
        (stem_with(dtype="string"), "dtype must be"),
        (stem_with(function=[MARSHALLED_CODE]), "'function' that is not allowed"),
    ]
    for model, says in cases:
        refused(module_server, mclient, run_with_snapshot, model, weights_of(model), says=says)
    # Python's json reads NaN; JSON has no such number.
    before = disk_state(module_server.data_dir)
    nan_model = stem_with(kernel_initializer={"class_name": "Constant", "config": {"value": float("nan")}})
    response = post_snapshot(mclient, run_with_snapshot, json.dumps(nan_model).encode(), weights_of(nan_model))
    assert response.status_code == 400 and "kernel_initializer must be" in response.json()["detail"]
    assert_unchanged(module_server.data_dir, before)


def test_connections_to_missing_nodes_and_cycles_are_refused(module_server, mclient, run_with_snapshot, real_models):
    """Keras rebuilds a graph by sweeping until every node is placed: a node that never can be made it loop forever."""
    model = builder_model(real_models)
    layers_of(model)[-1]["inbound_nodes"] = [[["pool", 5, 0, {}]]]
    refused(module_server, mclient, run_with_snapshot, model, weights_of(model), says="does not exist")
    model = builder_model(real_models)
    layers_of(model)[-1]["inbound_nodes"] = [[["no_such_layer", 0, 0, {}]]]
    refused(module_server, mclient, run_with_snapshot, model, weights_of(model), says="does not exist")
    model = builder_model(real_models)
    layers_of(model)[1]["inbound_nodes"] = [[["head", 0, 0, {}]]]  # the stem reads the head: a cycle
    refused(module_server, mclient, run_with_snapshot, model, weights_of(model), says="cycle")
    model = builder_model(real_models)
    layers_of(model)[1]["inbound_nodes"] = [[["image", 0, 0, {"training": "exec"}]]]
    refused(module_server, mclient, run_with_snapshot, model, weights_of(model), says="call arguments")


def test_an_unchecked_stored_snapshot_is_not_handed_to_tensorflow(module_server, mclient, real_models):
    """A snapshot stored before the allow-list (here: edited on disk) is refused by the export routes with a 400."""
    model = builder_model(real_models)
    run_id = new_run(mclient)
    assert post_snapshot(mclient, run_id, model, weights_of(model)).status_code == 201
    insert_before_head(
        model,
        {
            "name": "evil",
            "class_name": "Lambda",
            "config": {"name": "evil", "function": [MARSHALLED_CODE, None, None], "function_type": "lambda"},
        },
    )
    stored = module_server.data_dir / "runs" / run_id / "snapshots" / "s000001" / "model.json"
    stored.write_text(json.dumps(model))
    for method, path in (
        ("POST", f"/api/runs/{run_id}/exports?group=tfjs"),
        ("GET", f"/api/runs/{run_id}/exports"),
        ("GET", f"/api/runs/{run_id}/export?format=uint8"),
    ):
        response = mclient.request(method, path)
        assert response.status_code == 400, (path, response.text)
        assert "'Lambda' is not allowed" in response.json()["detail"]
    assert not (module_server.data_dir / "runs" / run_id / "exports").exists()
