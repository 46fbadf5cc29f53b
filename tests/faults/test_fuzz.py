"""A bounded fuzz of the API against a live server: random names, ids, query strings, JSON bodies, snapshot forms and
damaged zips. Whatever arrives, the answer is never a server error, and every refusal says why.

Deterministic by default (the same examples every run, so CI does not flake); set BROWSERTRAIN_FUZZ_EXAMPLES=2000 to
explore with fresh random examples.
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from support import DENSE_WEIGHTS, imagefolder, model_json, snapshot_files, weights_for, zip_bytes

pytestmark = pytest.mark.live_server  # fuzzed requests against a real server process

EXPLORE = os.environ.get("BROWSERTRAIN_FUZZ_EXAMPLES")
fuzz = settings(
    max_examples=int(EXPLORE or 300),
    derandomize=not EXPLORE,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SPECIAL_NAMES = [
    "shapes",
    "..",
    ".",
    "%2e%2e",
    "a/b",
    "/etc/passwd",
    "C:\\x",
    "con",
    "a" * 65,
    "a" * 5000,
    "\x00",
    "-x",
    "x.",
    "é",
    "名前",
    "a b",
    "shapes\n",
    "%00",
    "..\\..",
    "shapes/../shapes",
    "~",
    "",
]
header_values = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40).map(str.strip)
names = st.one_of(st.sampled_from(SPECIAL_NAMES), st.text(max_size=80))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80) | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=15,
)


@pytest.fixture(scope="module")
def fuzzed(module_server):
    with module_server.client() as c:
        run = c.post("/api/runs", json={"dataset": "shapes"})
        assert run.status_code == 201
        run_id = run.json()["id"]
        assert (
            c.post(
                f"/api/runs/{run_id}/snapshots", files=snapshot_files(model_json(), weights_for(DENSE_WEIGHTS, 0))
            ).status_code
            == 201
        )
    with httpx.Client(base_url=module_server.url, timeout=30) as client:
        yield client, run_id


def check(response: httpx.Response) -> None:
    """Never a server error; a refusal is JSON with a message."""
    request = f"{response.request.method} {str(response.request.url)[:200]}"
    assert response.status_code < 500, f"{request} -> {response.status_code} {response.text[:300]}"
    if response.status_code >= 400 and response.request.method != "HEAD":
        assert response.json()["detail"], request


def segment(value) -> str:
    return quote(str(value), safe="")


@fuzz
@given(data=st.data())
def test_fuzz_dataset_routes(fuzzed, data):
    client, _ = fuzzed
    name = segment(data.draw(names))
    item = segment(data.draw(st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.text(max_size=10))))
    method, path = data.draw(
        st.sampled_from(
            [
                ("GET", f"/api/datasets/{name}"),
                ("GET", f"/api/datasets/{name}/items/{item}"),
                ("HEAD", f"/api/datasets/{name}/items/{item}"),
                ("GET", f"/api/datasets/{name}/bulk"),
                ("DELETE", f"/api/datasets/{name}"),
                ("GET", f"/datasets/{name}"),
                ("GET", f"/api/datasets/shapes/items/{item}"),
            ]
        )
    )
    if method == "DELETE" and name == "shapes":
        return  # the others need the sample
    query = data.draw(
        st.dictionaries(
            st.sampled_from(["start", "count", "token", "x"]) | st.text(max_size=8),
            st.integers(min_value=-(2**70), max_value=2**70).map(str) | st.text(max_size=20),
            max_size=3,
        )
    )
    check(client.request(method, path, params=query, headers={"If-None-Match": data.draw(header_values)}))


@fuzz
@given(data=st.data())
def test_fuzz_run_routes(fuzzed, data):
    client, real_run = fuzzed
    run_id = segment(
        data.draw(st.one_of(st.just(real_run), names, st.text(alphabet="0123456789abcdef", min_size=12, max_size=12)))
    )
    seq = segment(data.draw(st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.text(max_size=10))))
    method, path = data.draw(
        st.sampled_from(
            [
                ("GET", f"/api/runs/{run_id}"),
                ("GET", f"/api/runs/{run_id}/snapshots"),
                ("GET", f"/api/runs/{run_id}/model.json"),
                ("GET", f"/api/runs/{run_id}/snapshots/{seq}/model.json"),
                ("GET", f"/api/runs/{run_id}/snapshots/{seq}/model.weights.bin"),
                ("GET", f"/runs/{run_id}"),
                ("GET", "/api/runs"),
            ]
        )
    )
    if path.startswith("/runs/") and run_id == real_run:
        return  # the run page's template belongs to the pages, not to this fuzz
    query = data.draw(
        st.dictionaries(st.sampled_from(["dataset", "epoch"]) | st.text(max_size=8), st.text(max_size=30), max_size=2)
    )
    check(client.request(method, path, params=query))


@pytest.mark.slow
@fuzz
@given(data=st.data())
def test_fuzz_json_bodies(fuzzed, data):
    client, real_run = fuzzed
    method, path, body = data.draw(
        st.sampled_from(["create", "patch", "epoch"]).flatmap(
            lambda kind: {
                "create": st.tuples(
                    st.just("POST"),
                    st.just("/api/runs"),
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "dataset": names | json_values,
                            "kind": st.sampled_from(["train", "sanity", "x"]) | json_values,
                            "config": json_values,
                            "info": json_values,
                            "dataset_hash": json_values,
                            "extra": json_values,
                        },
                    ),
                ),
                "patch": st.tuples(
                    st.just("PATCH"),
                    st.just(f"/api/runs/{real_run}"),
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "status": st.sampled_from(["running", "finished", "stopped", "failed", "created"])
                            | json_values,
                            "summary": json_values,
                            "info": json_values,
                        },
                    ),
                ),
                "epoch": st.tuples(
                    st.just("POST"),
                    st.just(f"/api/runs/{real_run}/epochs"),
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "epoch": st.integers(min_value=-5, max_value=2**80) | json_values,
                            "loss": st.floats() | json_values,
                            "acc": json_values,
                        },
                    ),
                ),
            }[kind]
        )
    )
    raw = data.draw(
        st.one_of(
            st.just(json.dumps(body)),
            json_values.map(json.dumps),
            st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
        )
    )
    check(client.request(method, path, content=raw.encode(), headers={"Content-Type": "application/json"}))
    check(client.get(f"/api/runs/{real_run}"))


@pytest.mark.slow
@fuzz
@given(data=st.data())
def test_fuzz_snapshot_forms(fuzzed, data):
    client, real_run = fuzzed
    spec = st.fixed_dictionaries(
        {},
        optional={
            "name": st.text(max_size=10) | json_values,
            "shape": st.lists(st.integers(min_value=-3, max_value=2**40), max_size=7) | json_values,
            "dtype": st.sampled_from(["float32", "int32", "bool"]) | json_values,
            "quantization": json_values,
        },
    )
    group = st.fixed_dictionaries(
        {},
        optional={
            "paths": st.just(["./model.weights.bin"]) | json_values,
            "weights": st.lists(spec, max_size=4) | json_values,
        },
    )
    model = st.fixed_dictionaries(
        {},
        optional={
            "modelTopology": st.just({"k": 1}) | json_values,
            "weightsManifest": st.lists(group, max_size=3) | json_values,
            "format": json_values,
        },
    )
    raw_model = data.draw(st.one_of(model.map(json.dumps).map(str.encode), st.binary(max_size=100)))
    weights = data.draw(st.binary(max_size=256))
    field_names = data.draw(
        st.sampled_from([("model.json", "model.weights.bin"), ("model.json", "weights"), ("a", "b")])
    )
    files = [
        (field_names[0], ("model.json", raw_model, "application/json")),
        (field_names[1], ("model.weights.bin", weights, "application/octet-stream")),
    ]
    params = data.draw(
        st.dictionaries(
            st.sampled_from(["epoch"]),
            st.integers(min_value=-2, max_value=2**70).map(str) | st.text(max_size=5),
            max_size=1,
        )
    )
    check(client.post(f"/api/runs/{real_run}/snapshots", files=files, params=params))
    model_now = client.get(f"/api/runs/{real_run}/model.json")
    assert model_now.status_code == 200


GOOD_ZIP = zip_bytes({**imagefolder({"a": 2, "b": 1}, seed=1), "labels.txt": b"not a labels file"})


@fuzz
@given(
    flips=st.lists(
        st.tuples(st.integers(min_value=0, max_value=len(GOOD_ZIP) - 1), st.integers(0, 255)), min_size=1, max_size=8
    ),
    cut=st.one_of(st.none(), st.integers(min_value=0, max_value=len(GOOD_ZIP))),
    name=st.sampled_from(["fuzzed", "fuzzed-2"]) | names,
)
def test_fuzz_damaged_zips(fuzzed, flips, cut, name):
    client, _ = fuzzed
    damaged = bytearray(GOOD_ZIP)
    for position, value in flips:
        damaged[position] = value
    if cut is not None:
        damaged = damaged[:cut]
    response = client.post(
        "/api/datasets", files={"file": ("d.zip", bytes(damaged), "application/zip")}, data={"name": name}
    )
    check(response)
    if response.status_code == 201:
        check(client.delete(f"/api/datasets/{segment(name)}"))
