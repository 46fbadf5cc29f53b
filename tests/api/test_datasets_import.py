"""Importing datasets: ImageFolder and labels.csv, from a folder (the CLI) and from a zip (the API); manifests, hashes,
listing and deleting, and the CLI's answers to bad input."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import (
    ROOT,
    assert_unchanged,
    disk_state,
    imagefolder,
    jpeg_bytes,
    labels_csv,
    mpo_bytes,
    png_bytes,
    start_server,
    upload,
    write_tree,
    zip_bytes,
)


def cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args, "--data-dir", str(data_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def stored_items(data_dir: Path, name: str) -> dict[str, bytes]:
    """source path -> stored bytes, read from disk as the manifest records them."""
    folder = data_dir / "datasets" / name
    manifest = json.loads((folder / "manifest.json").read_text())
    return {item["source"]: (folder / item["file"]).read_bytes() for item in manifest["items"]}


def test_cli_imports_an_imagefolder_folder(tmp_path, module_server, mclient):
    members = imagefolder({"cat": 2, "dog": 3})
    source = write_tree(tmp_path / "pets", members)
    done = cli("datasets", "import", str(source), "--name", "pets-cli", data_dir=module_server.data_dir)
    assert done.returncode == 0, done.stderr
    assert "imported pets-cli: 5 images, 2 classes (cat, dog), hash " in done.stdout
    manifest = mclient.get("/api/datasets/pets-cli").json()
    assert manifest["classes"] == ["cat", "dog"]
    assert manifest["source_format"] == "imagefolder"
    assert {it["source"]: it["label"] for it in manifest["items"]} == {n: n.split("/")[0] for n in members}
    assert stored_items(module_server.data_dir, "pets-cli") == members
    assert manifest["hash"] in done.stdout


def test_cli_imports_a_labels_csv_folder(tmp_path, module_server, mclient):
    members = labels_csv({"a.png": "cat", "b.png": "dog", "sub/c.png": "dog"})
    source = write_tree(tmp_path / "csvset", members)
    done = cli("datasets", "import", str(source), "--name", "csv-cli", data_dir=module_server.data_dir)
    assert done.returncode == 0, done.stderr
    assert "imported csv-cli: 3 images, 2 classes (cat, dog)" in done.stdout
    manifest = mclient.get("/api/datasets/csv-cli").json()
    assert manifest["source_format"] == "csv"
    assert {it["source"]: it["label"] for it in manifest["items"]} == {
        "a.png": "cat",
        "b.png": "dog",
        "sub/c.png": "dog",
    }
    assert stored_items(module_server.data_dir, "csv-cli") == {k: v for k, v in members.items() if k != "labels.csv"}


def test_upload_imports_an_imagefolder_zip(module_server, mclient):
    members = imagefolder({"circle": 2, "square": 2}, seed=10)
    members["square/extra.jpg"] = jpeg_bytes(7)
    response = upload(mclient, "zip-folder", zip_bytes(members))
    assert response.status_code == 201, response.text
    summary = response.json()
    assert summary["name"] == "zip-folder" and summary["num_items"] == 5
    assert summary["classes"] == ["circle", "square"]
    assert summary["total_bytes"] == sum(len(v) for v in members.values())
    assert stored_items(module_server.data_dir, "zip-folder") == members
    assert "zip-folder" in [d["name"] for d in mclient.get("/api/datasets").json()["datasets"]]


def test_upload_imports_a_labels_csv_zip(module_server, mclient):
    members = labels_csv({"x.png": "yes", "y.png": "no", "z.png": "yes"}, header=False)
    response = upload(mclient, "zip-csv", zip_bytes(members))
    assert response.status_code == 201, response.text
    manifest = mclient.get("/api/datasets/zip-csv").json()
    assert manifest["source_format"] == "csv"
    assert manifest["classes"] == ["no", "yes"]
    assert {it["source"]: it["label"] for it in manifest["items"]} == {"x.png": "yes", "y.png": "no", "z.png": "yes"}


def test_manifest_lists_every_item_with_its_size(mclient):
    members = imagefolder({"a": 1, "b": 1}, seed=30)
    members["b/wide.png"] = png_bytes(3, size=(20, 5))
    assert upload(mclient, "sized", zip_bytes(members)).status_code == 201
    manifest = mclient.get("/api/datasets/sized").json()
    assert manifest["name"] == "sized" and manifest["num_items"] == 3 and manifest["classes"] == ["a", "b"]
    assert len(manifest["hash"]) == 16 and int(manifest["hash"], 16) >= 0
    assert [it["id"] for it in manifest["items"]] == [0, 1, 2]
    by_source = {it["source"]: it for it in manifest["items"]}
    assert (by_source["b/wide.png"]["width"], by_source["b/wide.png"]["height"]) == (20, 5)
    assert (by_source["a/000.png"]["width"], by_source["a/000.png"]["height"]) == (8, 8)
    for source, item in by_source.items():
        assert item["bytes"] == len(members[source])
        assert item["label"] == source.split("/")[0]
        assert item["content_type"] == "image/png"
    assert manifest["total_bytes"] == sum(len(v) for v in members.values())


def test_hash_is_the_same_for_identical_data(tmp_path, module_server, mclient):
    members = imagefolder({"cat": 2, "dog": 2}, seed=40)
    source = write_tree(tmp_path / "same", members)
    assert cli("datasets", "import", str(source), "--name", "same-a", data_dir=module_server.data_dir).returncode == 0
    wrapped = {f"top/{name}": data for name, data in members.items()}  # zips often wrap everything in one folder
    assert upload(mclient, "same-b", zip_bytes(wrapped)).status_code == 201
    assert upload(mclient, "same-c", zip_bytes(members)).status_code == 201
    hashes = {name: mclient.get(f"/api/datasets/{name}").json()["hash"] for name in ("same-a", "same-b", "same-c")}
    assert len(set(hashes.values())) == 1, hashes


def test_hash_changes_when_one_image_changes(mclient):
    members = imagefolder({"cat": 2, "dog": 2}, seed=50)
    assert upload(mclient, "before-edit", zip_bytes(members)).status_code == 201
    edited = dict(members)
    edited["dog/001.png"] = png_bytes(999)
    assert upload(mclient, "after-edit", zip_bytes(edited)).status_code == 201
    before = mclient.get("/api/datasets/before-edit").json()["hash"]
    after = mclient.get("/api/datasets/after-edit").json()["hash"]
    assert before != after


def test_cli_lists_and_deletes_datasets(tmp_path, module_server, mclient):
    source = write_tree(tmp_path / "gone", imagefolder({"x": 1, "y": 1}, seed=60))
    assert (
        cli("datasets", "import", str(source), "--name", "to-delete", data_dir=module_server.data_dir).returncode == 0
    )
    listed = cli("datasets", "list", "--json", data_dir=module_server.data_dir)
    assert listed.returncode == 0, listed.stderr
    names = {d["name"]: d for d in json.loads(listed.stdout)}
    assert names["to-delete"]["num_items"] == 2 and names["to-delete"]["classes"] == ["x", "y"]
    assert "shapes" in names
    plain = cli("datasets", "list", data_dir=module_server.data_dir)
    assert plain.returncode == 0 and "to-delete" in plain.stdout
    deleted = cli("datasets", "delete", "to-delete", data_dir=module_server.data_dir)
    assert deleted.returncode == 0, deleted.stderr
    assert "deleted to-delete" in deleted.stdout
    assert not (module_server.data_dir / "datasets" / "to-delete").exists()
    assert mclient.get("/api/datasets/to-delete").status_code == 404
    assert "to-delete" not in [d["name"] for d in mclient.get("/api/datasets").json()["datasets"]]


def test_cli_import_of_a_missing_path_fails_clearly(tmp_path, module_server):
    before = disk_state(module_server.data_dir)
    done = cli(
        "datasets", "import", str(tmp_path / "no-such-folder"), "--name", "ghost", data_dir=module_server.data_dir
    )
    assert done.returncode != 0
    assert "no-such-folder" in done.stderr and "no such folder or zip file" in done.stderr
    assert "Traceback" not in done.stderr
    assert_unchanged(module_server.data_dir, before)


def test_cli_import_with_a_bad_name_fails_clearly(tmp_path, module_server):
    source = write_tree(tmp_path / "ok", imagefolder({"x": 1, "y": 1}, seed=70))
    before = disk_state(module_server.data_dir)
    for bad in ("../escape", "with space", "a/b", ".hidden"):
        done = cli("datasets", "import", str(source), "--name", bad, data_dir=module_server.data_dir)
        assert done.returncode != 0, bad
        assert "dataset name" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert_unchanged(module_server.data_dir, before)


def test_cli_import_of_a_folder_without_images_fails_clearly(tmp_path, module_server):
    source = write_tree(tmp_path / "empty", {"notes/readme.txt": b"hello"})
    before = disk_state(module_server.data_dir)
    done = cli("datasets", "import", str(source), "--name", "empty", data_dir=module_server.data_dir)
    assert done.returncode != 0
    assert "no images found" in done.stderr
    assert_unchanged(module_server.data_dir, before)


def test_cli_delete_of_an_unknown_name_fails_clearly(module_server):
    before = disk_state(module_server.data_dir)
    done = cli("datasets", "delete", "never-was", data_dir=module_server.data_dir)
    assert done.returncode != 0
    assert "no dataset named 'never-was'" in done.stderr
    bad = cli("datasets", "delete", "../datasets", data_dir=module_server.data_dir)
    assert bad.returncode != 0 and "dataset name" in bad.stderr
    assert_unchanged(module_server.data_dir, before)


def test_cli_import_refuses_an_existing_name_unless_replace(tmp_path, module_server, mclient):
    first = write_tree(tmp_path / "v1", imagefolder({"x": 1, "y": 1}, seed=80))
    second = write_tree(tmp_path / "v2", imagefolder({"x": 2, "y": 1}, seed=90))
    assert cli("datasets", "import", str(first), "--name", "versioned", data_dir=module_server.data_dir).returncode == 0
    old_hash = mclient.get("/api/datasets/versioned").json()["hash"]
    before = disk_state(module_server.data_dir)
    again = cli("datasets", "import", str(second), "--name", "versioned", data_dir=module_server.data_dir)
    assert again.returncode != 0 and "already exists" in again.stderr
    assert_unchanged(module_server.data_dir, before)
    replaced = cli(
        "datasets", "import", str(second), "--name", "versioned", "--replace", data_dir=module_server.data_dir
    )
    assert replaced.returncode == 0, replaced.stderr
    manifest = mclient.get("/api/datasets/versioned").json()
    assert manifest["num_items"] == 3 and manifest["hash"] != old_hash
    assert list((module_server.data_dir / ".staging").iterdir()) == []


def test_upload_under_an_existing_name_is_refused(module_server, mclient):
    assert upload(mclient, "taken", zip_bytes(imagefolder({"x": 1, "y": 1}, seed=95))).status_code == 201
    before = disk_state(module_server.data_dir)
    response = upload(mclient, "taken", zip_bytes(imagefolder({"y": 2, "z": 1}, seed=96)))
    assert response.status_code == 409
    assert "already exists" in response.json()["detail"]
    assert_unchanged(module_server.data_dir, before)


def test_upload_with_replace_true_replaces_an_existing_dataset(module_server, mclient):
    assert upload(mclient, "replaced-by-upload", zip_bytes(imagefolder({"x": 1, "w": 1}, seed=97))).status_code == 201
    response = mclient.post(
        "/api/datasets",
        data={"name": "replaced-by-upload", "replace": "true"},
        files={"file": ("d.zip", zip_bytes(imagefolder({"y": 2, "z": 1}, seed=98)), "application/zip")},
    )
    assert response.status_code == 201, response.text
    manifest = mclient.get("/api/datasets/replaced-by-upload").json()
    assert manifest["classes"] == ["y", "z"] and manifest["num_items"] == 3
    assert list((module_server.data_dir / ".staging").iterdir()) == []


def test_upload_with_a_replace_value_other_than_true_or_false_is_refused(module_server, mclient):
    assert upload(mclient, "not-replaced", zip_bytes(imagefolder({"x": 1, "y": 1}, seed=99))).status_code == 201
    before = disk_state(module_server.data_dir)
    response = mclient.post(
        "/api/datasets",
        data={"name": "not-replaced", "replace": "yes please"},
        files={"file": ("d.zip", zip_bytes(imagefolder({"y": 2, "z": 1}, seed=100)), "application/zip")},
    )
    assert response.status_code == 400 and "replace" in response.json()["detail"]
    assert_unchanged(module_server.data_dir, before)


def test_upload_without_a_name_or_file_is_refused(module_server, mclient):
    before = disk_state(module_server.data_dir)
    no_name = mclient.post(
        "/api/datasets", files={"file": ("d.zip", zip_bytes(imagefolder({"x": 1})), "application/zip")}
    )
    assert no_name.status_code == 400 and "'name'" in no_name.json()["detail"]
    no_file = mclient.post("/api/datasets", data={"name": "nofile"})
    assert no_file.status_code == 400 and "'file'" in no_file.json()["detail"]
    assert_unchanged(module_server.data_dir, before)


def test_upload_of_a_zip_without_images_is_refused(module_server, mclient):
    before = disk_state(module_server.data_dir)
    response = upload(mclient, "no-images", zip_bytes({"docs/readme.txt": b"just text"}))
    assert response.status_code == 400
    assert "no images found" in response.json()["detail"]
    assert_unchanged(module_server.data_dir, before)


def test_upload_of_a_labels_csv_naming_a_missing_file_is_refused(module_server, mclient):
    members = labels_csv({"a.png": "cat"})
    members["labels.csv"] += b"missing.png,dog\n"
    before = disk_state(module_server.data_dir)
    response = upload(mclient, "csv-missing", zip_bytes(members))
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "labels.csv line 3" in detail and "missing.png" in detail
    assert_unchanged(module_server.data_dir, before)


def test_upload_of_something_that_is_not_a_zip_is_refused(module_server, mclient):
    before = disk_state(module_server.data_dir)
    response = upload(mclient, "not-zip", b"this is not a zip file at all")
    assert response.status_code == 400
    assert "not a readable zip" in response.json()["detail"]
    assert_unchanged(module_server.data_dir, before)


def test_api_delete_removes_the_dataset(module_server, mclient):
    assert upload(mclient, "short-lived", zip_bytes(imagefolder({"x": 2, "y": 1}, seed=97))).status_code == 201
    response = mclient.delete("/api/datasets/short-lived")
    assert response.status_code == 204
    assert mclient.get("/api/datasets/short-lived").status_code == 404
    assert mclient.get("/api/datasets/short-lived/items/0").status_code == 404
    assert not (module_server.data_dir / "datasets" / "short-lived").exists()
    assert list((module_server.data_dir / ".staging").iterdir()) == []
    again = mclient.delete("/api/datasets/short-lived")
    assert again.status_code == 404 and "short-lived" in again.json()["detail"]


def test_fresh_server_lists_the_sample_dataset_shapes(shared_server):
    with shared_server.client() as c:
        datasets = c.get("/api/datasets").json()["datasets"]
        shapes = next(d for d in datasets if d["name"] == "shapes")
        assert shapes["classes"] == ["circle", "square", "triangle"]
        assert shapes["num_items"] == 240
        manifest = c.get("/api/datasets/shapes").json()
        assert len(manifest["items"]) == 240
        first = manifest["items"][0]
        assert (first["width"], first["height"]) == (64, 64)
        body = c.get("/api/datasets/shapes/items/0").content
        assert hashlib.sha256(body).hexdigest() == first["sha256"]


@pytest.mark.slow
def test_database_file_is_created_on_first_start(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    assert not (data / "browsertrain.db").exists()
    live = start_server(data)
    try:
        db_file = data / "browsertrain.db"
        assert db_file.is_file()
        assert db_file.read_bytes()[:16] == b"SQLite format 3\x00"
        with live.client() as c:
            run = c.post("/api/runs", json={"dataset": "shapes"})
            assert run.status_code == 201
    finally:
        live.stop()
    # A second start on the same folder keeps what the first one recorded.
    again = start_server(data)
    try:
        with again.client() as c:
            assert run.json()["id"] in [r["id"] for r in c.get("/api/runs").json()["runs"]]
    finally:
        again.stop()


def test_upload_accepts_an_mpo_phone_photo_as_jpeg(module_server, mclient):
    photo = mpo_bytes(seed=5)
    members = {"phone/photo.jpg": photo, "phone/second.jpeg": mpo_bytes(seed=6), "other/a.png": png_bytes(7)}
    response = upload(mclient, "phone-photos", zip_bytes(members))
    assert response.status_code == 201, response.text
    manifest = mclient.get("/api/datasets/phone-photos").json()
    item = next(it for it in manifest["items"] if it["source"] == "phone/photo.jpg")
    assert item["content_type"] == "image/jpeg" and item["file"].endswith(".jpg")
    assert (item["width"], item["height"]) == (32, 24)
    served = mclient.get(f"/api/datasets/phone-photos/items/{item['id']}")
    assert served.headers["content-type"] == "image/jpeg" and served.content == photo
