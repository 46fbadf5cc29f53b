"""Two servers, two data folders, one database and one S3 store: what one stores, the other lists and serves."""

from __future__ import annotations

import json
import time

import pytest
from support import imagefolder, upload, write_tree, zip_bytes
from support.cli import run_cli
from support.snapshots import ADAM_WEIGHTS, DENSE_WEIGHTS, latest_model, model_json, post_snapshot, weights_for

from server.datasets.pack import unpack
from server.preflight import UsageError, check_dataset, fetch_run

from .conftest import BUCKET, shared_app


def _dataset(client, name: str = "shapes") -> None:
    response = upload(client, name, zip_bytes(imagefolder({"circle": 3, "square": 3})))
    assert response.status_code == 201, response.text


def _run(client, dataset: str = "shapes") -> str:
    response = client.post("/api/runs", json={"dataset": dataset, "config": {"epochs": 4}})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_a_dataset_imported_through_one_server_is_listed_and_served_by_the_other(two_servers, seaweed, s3_url):
    a, b = two_servers
    with a.client() as ca, b.client() as cb:
        _dataset(ca)
        assert not (b.data_dir / "datasets" / "shapes").exists()  # B has nothing of it on its own disk
        assert [d["name"] for d in cb.get("/api/datasets").json()["datasets"]] == ["shapes"]
        manifest = cb.get("/api/datasets/shapes").json()
        assert manifest == ca.get("/api/datasets/shapes").json()
        for item_id in range(manifest["num_items"]):
            assert (
                cb.get(f"/api/datasets/shapes/items/{item_id}").content
                == ca.get(f"/api/datasets/shapes/items/{item_id}").content
            )
        header, items = unpack(cb.get("/api/datasets/shapes/bulk").content)
        assert header["hash"] == manifest["hash"] and len(items) == manifest["num_items"]
        assert unpack(ca.get("/api/datasets/shapes/bulk").content)[1] == items

        # A name taken through A is taken for B too; a delete through B is seen by A.
        again = upload(cb, "shapes", zip_bytes(imagefolder({"x": 3, "y": 3})))
        assert again.status_code == 409, again.text
        assert cb.delete("/api/datasets/shapes").status_code == 204
        assert ca.get("/api/datasets").json()["datasets"] == []
    bucket, prefix = s3_url.removeprefix("s3://").split("/", 1)
    assert seaweed.keys(bucket, f"{prefix}/datasets/") == []


def _until(check, seconds: float = 15):
    """Poll `check` until it holds: a server asks the store again within S3_REVALIDATE_SECONDS."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the other server never saw the change"
        time.sleep(0.2)


def test_a_dataset_replaced_or_deleted_through_one_server_is_seen_so_by_the_other(two_servers):
    a, b = two_servers
    with a.client() as ca, b.client() as cb:
        _dataset(ca)
        old_item = cb.get("/api/datasets/shapes/items/0").content  # B now holds a copy of the first version
        replaced = ca.post(
            "/api/datasets",
            files={"file": ("d.zip", zip_bytes(imagefolder({"x": 4, "y": 4}, seed=7)), "application/zip")},
            data={"name": "shapes", "replace": "true"},
        )
        assert replaced.status_code == 201, replaced.text
        _until(lambda: cb.get("/api/datasets/shapes").json()["num_items"] == 8)
        new_item = cb.get("/api/datasets/shapes/items/0").content
        assert new_item == ca.get("/api/datasets/shapes/items/0").content and new_item != old_item
        assert cb.get("/api/datasets/shapes/bulk").content == ca.get("/api/datasets/shapes/bulk").content

        assert ca.delete("/api/datasets/shapes").status_code == 204
        _until(lambda: cb.get("/api/datasets/shapes").status_code == 404)
        assert cb.get("/api/datasets").json()["datasets"] == []


def test_a_snapshot_posted_to_one_server_is_listed_and_downloaded_byte_identical_from_the_other(two_servers):
    a, b = two_servers
    specs = DENSE_WEIGHTS + ADAM_WEIGHTS
    with a.client() as ca, b.client() as cb:
        _dataset(ca)
        run_id = _run(ca)
        first = weights_for(specs, seed=1)
        assert post_snapshot(ca, run_id, model_json(specs), first, epoch=1).status_code == 201
        assert [s["seq"] for s in cb.get(f"/api/runs/{run_id}/snapshots").json()["snapshots"]] == [1]
        model, weights = latest_model(cb, run_id)
        assert weights == first and model["modelTopology"] == model_json(specs)["modelTopology"]

        # The run's next attempt is served by B: its snapshot is numbered after A's, and A sees it.
        second = weights_for(specs, seed=2)
        posted = post_snapshot(cb, run_id, model_json(specs), second, epoch=3)
        assert posted.status_code == 201, posted.text
        assert posted.json()["seq"] == 2
        assert [s["seq"] for s in ca.get(f"/api/runs/{run_id}/snapshots").json()["snapshots"]] == [1, 2]
        assert latest_model(ca, run_id)[1] == second


def test_epochs_posted_to_one_server_then_the_other_are_all_listed_by_both(two_servers):
    a, b = two_servers
    with a.client() as ca, b.client() as cb:
        _dataset(ca)
        run_id = _run(ca)
        for client, epoch in ((ca, 0), (ca, 1), (cb, 2), (ca, 3)):
            record = {"epoch": epoch, "train_loss": 1.0 / (epoch + 1)}
            response = client.post(f"/api/runs/{run_id}/epochs", json=record)
            assert response.status_code == 201, response.text
        for client in (ca, cb):
            run = client.get(f"/api/runs/{run_id}").json()
            assert [e["epoch"] for e in run["epochs"]] == [0, 1, 2, 3]
            assert run["epochs_done"] == 4


def test_an_export_built_on_one_server_is_downloadable_from_the_other(two_servers):
    a, b = two_servers
    with a.client() as ca, b.client() as cb:
        _dataset(ca)
        run_id = _run(ca)
        assert post_snapshot(ca, run_id, model_json(), weights_for(DENSE_WEIGHTS, seed=3), epoch=1).status_code == 201
        built = ca.get(f"/api/runs/{run_id}/export", params={"format": "tfjs"})
        assert built.status_code == 200, built.text
        served = cb.get(f"/api/runs/{run_id}/export", params={"format": "tfjs"})
        assert served.status_code == 200, served.text
        assert served.content == built.content
        # B fetched A's build rather than building its own: the build's own timings are A's.
        summary_a = ca.get(f"/api/runs/{run_id}/exports").json()
        summary_b = cb.get(f"/api/runs/{run_id}/exports").json()
        timings = {f["format"]: f["quantize_ms"] for f in summary_a["formats"]}
        assert timings == {f["format"]: f["quantize_ms"] for f in summary_b["formats"]}
        assert any(ms is not None for ms in timings.values())


def test_a_bucket_that_does_not_exist_is_created_at_start(seaweed, tmp_path, monkeypatch):
    for name, value in seaweed.env.items():
        monkeypatch.setenv(name, value)
    fresh = f"{BUCKET}-fresh"
    assert fresh not in [b["Name"] for b in seaweed.client().list_buckets()["Buckets"]]
    app = shared_app(tmp_path / "a", f"sqlite:///{tmp_path / 'db'}", f"s3://{fresh}", seaweed.endpoint)
    with app as a, a.client() as ca:
        _dataset(ca)
    assert "datasets/shapes/manifest.json" in seaweed.keys(fresh)


def test_keys_are_the_data_folder_layout(two_servers, seaweed, s3_url):
    """The store holds what the data folder would: anyone can read a dataset straight out of the bucket."""
    a, _ = two_servers
    with a.client() as ca:
        _dataset(ca)
    bucket, prefix = s3_url.removeprefix("s3://").split("/", 1)
    keys = seaweed.keys(bucket, f"{prefix}/")
    manifest = json.loads(
        seaweed.client().get_object(Bucket=bucket, Key=f"{prefix}/datasets/shapes/manifest.json")["Body"].read()
    )
    assert sorted(f"{prefix}/datasets/shapes/{item['file']}" for item in manifest["items"]) == [
        k for k in keys if not k.endswith("manifest.json")
    ]


def test_a_dataset_imported_by_the_cli_with_the_s3_settings_is_served_by_a_server(
    two_servers, seaweed, s3_url, tmp_path, monkeypatch, capsys
):
    _, b = two_servers
    monkeypatch.setenv("BROWSERTRAIN_S3_URL", s3_url)
    monkeypatch.setenv("BROWSERTRAIN_S3_ENDPOINT", seaweed.endpoint)
    source = write_tree(tmp_path / "cli-set", imagefolder({"cat": 3, "dog": 3}))
    status, out, err, _ = run_cli("datasets", "import", str(source), "--data-dir", str(tmp_path / "cli"), capsys=capsys)
    assert status == 0, err
    with b.client() as cb:
        assert [d["name"] for d in cb.get("/api/datasets").json()["datasets"]] == ["cli-set"]
        assert cb.get("/api/datasets/cli-set").json()["classes"] == ["cat", "dog"]
    status, out, err, _ = run_cli("datasets", "list", "--data-dir", str(tmp_path / "empty"), capsys=capsys)
    assert status == 0 and "cli-set" in out  # a fresh data folder lists what the store holds


def test_the_train_commands_checks_find_datasets_and_runs_in_the_store(two_servers, seaweed, s3_url, monkeypatch):
    """`browsertrain train --data-dir` checks its dataset and run before starting: with the S3 settings, against
    what every server stored, not only what its own data folder holds."""
    a, b = two_servers
    with a.client() as ca:
        _dataset(ca)
        run_id = _run(ca)
        assert post_snapshot(ca, run_id, model_json(), weights_for(DENSE_WEIGHTS, seed=4), epoch=1).status_code == 201
    monkeypatch.setenv("BROWSERTRAIN_S3_URL", s3_url)
    monkeypatch.setenv("BROWSERTRAIN_S3_ENDPOINT", seaweed.endpoint)
    monkeypatch.setenv("BROWSERTRAIN_DB_URL", str(a.app.state.settings.database_url))
    check_dataset("shapes", None, b.data_dir, "classification")
    assert fetch_run(run_id, None, b.data_dir)["snapshots"] == ["s000001"]
    with pytest.raises(UsageError, match="no run"):
        fetch_run("0123456789ab", None, b.data_dir)
