"""Snapshots that do not describe their own weights are refused, and the previous snapshot still loads byte-equal."""

from __future__ import annotations

import json

import pytest
from support import (
    ADAM_WEIGHTS,
    DENSE_WEIGHTS,
    assert_unchanged,
    disk_state,
    latest_model,
    model_json,
    new_run,
    post_snapshot,
    weights_for,
)

from server.limits import MAX_WEIGHT_ELEMENTS

GOOD_WEIGHTS = weights_for(DENSE_WEIGHTS, seed=42)


@pytest.fixture(scope="module")
def run_with_snapshot(module_server):
    """A run whose one valid snapshot (posted first) must survive every bad one."""
    with module_server.client() as c:
        run_id = new_run(c)
        response = post_snapshot(c, run_id, model_json(), GOOD_WEIGHTS, epoch=0)
        assert response.status_code == 201, response.text
    return run_id


def refused(server, client, run_id, model, weights: bytes, *, says: str) -> None:
    before = disk_state(server.data_dir)
    response = post_snapshot(client, run_id, model, weights)
    assert response.status_code == 400, response.text
    assert says in response.json()["detail"], response.json()["detail"]
    assert_unchanged(server.data_dir, before)
    model_now, weights_now = latest_model(client, run_id)
    assert weights_now == GOOD_WEIGHTS
    assert model_now["weightsManifest"][0]["weights"] == DENSE_WEIGHTS
    assert [s["seq"] for s in client.get(f"/api/runs/{run_id}/snapshots").json()["snapshots"]] == [1]


def with_spec(**changes) -> list[dict]:
    return [{**DENSE_WEIGHTS[0], **changes}, DENSE_WEIGHTS[1]]


def test_weights_shorter_or_longer_than_the_manifest_are_refused(module_server, mclient, run_with_snapshot):
    for weights in (GOOD_WEIGHTS[:-4], GOOD_WEIGHTS + b"\0\0\0\0", b"", GOOD_WEIGHTS[:7]):
        refused(module_server, mclient, run_with_snapshot, model_json(), weights, says="bytes of weights but")


def test_dot_dot_in_weight_paths_is_refused(module_server, mclient, run_with_snapshot):
    for paths in (
        ["../../model.weights.bin"],
        ["./../model.weights.bin"],
        ["/etc/passwd"],
        ["./model.weights.bin", "../evil.bin"],
        ["..\\model.weights.bin"],
        [],
        "./model.weights.bin",
        [["./model.weights.bin"]],
        [{"path": "x"}],
        None,
    ):
        model = model_json()
        model["weightsManifest"][0]["paths"] = paths
        refused(module_server, mclient, run_with_snapshot, model, GOOD_WEIGHTS, says="weight paths must be")


def test_absurd_shapes_are_refused(module_server, mclient, run_with_snapshot):
    for shape in (
        [-1, 2],
        [4, -2],
        [10**9, 10**9],
        [2**63, 1],
        ["4", 2],
        [4.0, 2],
        [True, 2],
        [1] * 7,
        "4,2",
        None,
        {"0": 4},
        [[4], 2],
        [MAX_WEIGHT_ELEMENTS + 1],
    ):
        refused(
            module_server,
            mclient,
            run_with_snapshot,
            model_json(with_spec(shape=shape)),
            GOOD_WEIGHTS,
            says="dense/kernel",
        )


def test_weights_over_the_element_cap_are_refused(module_server, mclient, run_with_snapshot):
    half = MAX_WEIGHT_ELEMENTS // 2 + 1
    specs = [{"name": "a", "shape": [half], "dtype": "float32"}, {"name": "b", "shape": [half], "dtype": "float32"}]
    refused(
        module_server,
        mclient,
        run_with_snapshot,
        model_json(specs),
        GOOD_WEIGHTS,
        says=f"more than {MAX_WEIGHT_ELEMENTS:,} elements",
    )


def test_non_float_dtypes_are_refused(module_server, mclient, run_with_snapshot):
    for dtype in ("int32", "string", "bool", "complex64", "float16", "uint8", None, 4, ["float32"], {"t": 1}):
        refused(
            module_server, mclient, run_with_snapshot, model_json(with_spec(dtype=dtype)), GOOD_WEIGHTS, says="dtype"
        )
    # Only Adam's step counter may be an integer, and only as a scalar.
    fake_iter = [{"name": "iter", "shape": [2], "dtype": "int32"}] + DENSE_WEIGHTS
    refused(module_server, mclient, run_with_snapshot, model_json(fake_iter), weights_for(fake_iter, 1), says="dtype")


def test_quantized_weights_are_refused(module_server, mclient, run_with_snapshot):
    spec = with_spec(quantization={"dtype": "uint8", "min": 0.0, "scale": 1.0})
    refused(module_server, mclient, run_with_snapshot, model_json(spec), GOOD_WEIGHTS, says="unquantized")


def test_model_json_that_is_not_a_model_is_refused(module_server, mclient, run_with_snapshot):
    good = model_json()
    cases = [
        (b"{not json", "not JSON"),
        (b"\xff\xfe\x00garbage", "not JSON"),
        (b"[1, 2, 3]", "JSON object"),
        (json.dumps({**good, "modelTopology": None}).encode(), "modelTopology"),
        (json.dumps({k: v for k, v in good.items() if k != "weightsManifest"}).encode(), "weightsManifest"),
        (json.dumps({**good, "weightsManifest": []}).encode(), "weightsManifest"),
        (json.dumps({**good, "weightsManifest": ["x"]}).encode(), "weight paths"),
        (
            json.dumps({**good, "weightsManifest": [{"paths": ["./model.weights.bin"], "weights": "all"}]}).encode(),
            "weights list",
        ),
        (json.dumps(model_json([{"shape": [4, 2], "dtype": "float32"}])).encode(), "no name"),
        (json.dumps(model_json([{"name": 7, "shape": [4, 2], "dtype": "float32"}])).encode(), "no name"),
        (json.dumps(model_json(["dense/kernel"])).encode(), "no name"),
    ]
    for raw, says in cases:
        refused(module_server, mclient, run_with_snapshot, raw, GOOD_WEIGHTS, says=says)


def test_a_form_missing_a_part_is_refused(module_server, mclient, run_with_snapshot):
    before = disk_state(module_server.data_dir)
    model_only = mclient.post(
        f"/api/runs/{run_with_snapshot}/snapshots",
        files=[("model.json", ("model.json", json.dumps(model_json()).encode(), "application/json"))],
    )
    assert model_only.status_code == 400 and "model.weights.bin" in model_only.json()["detail"]
    as_field = mclient.post(
        f"/api/runs/{run_with_snapshot}/snapshots",
        data={"model.json": json.dumps(model_json())},
        files=[("model.weights.bin", ("model.weights.bin", GOOD_WEIGHTS, "application/octet-stream"))],
    )
    assert as_field.status_code == 400 and "model.json" in as_field.json()["detail"]
    three_files = mclient.post(
        f"/api/runs/{run_with_snapshot}/snapshots",
        files=[
            ("model.json", ("model.json", json.dumps(model_json()).encode(), "application/json")),
            ("model.weights.bin", ("model.weights.bin", GOOD_WEIGHTS, "application/octet-stream")),
            ("extra.bin", ("extra.bin", b"x", "application/octet-stream")),
        ],
    )
    assert three_files.status_code == 400 and "files" in three_files.json()["detail"]
    not_a_form = mclient.post(
        f"/api/runs/{run_with_snapshot}/snapshots",
        content=GOOD_WEIGHTS,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert not_a_form.status_code == 400
    assert_unchanged(module_server.data_dir, before)
    assert latest_model(mclient, run_with_snapshot)[1] == GOOD_WEIGHTS


def test_adam_step_counter_int32_scalar_is_accepted(mclient):
    run_id = new_run(mclient)
    specs = DENSE_WEIGHTS + ADAM_WEIGHTS
    weights = weights_for(specs, seed=9)
    response = post_snapshot(mclient, run_id, model_json(specs), weights)
    assert response.status_code == 201, response.text
    model, served = latest_model(mclient, run_id)
    assert served == weights
    assert {"name": "iter", "shape": [], "dtype": "int32", "group": "optimizer"} in model["weightsManifest"][0][
        "weights"
    ]
