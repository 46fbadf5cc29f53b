"""Labels travel with every export of a run trained in real Chromium: labels.txt and metadata.json in each zip, and the
class names inside each model file, read back by the tools users load them with (tfjs in Node, h5py, the TFLite
flatbuffer schema)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from support import ROOT
from support.exports import (
    TFJS_FORMATS,
    cli,
    download,
    members,
    new_run_with_snapshot,
    node,
    read_snapshot,
    require_extra,
    static_files,
    unzip,
)

from server import __version__

pytestmark = pytest.mark.slow
HERE = Path(__file__).resolve().parent  # the scripts beside this file
SINGLE_FILES = {"keras": "model.h5", "tflite": "model.tflite", "tflite-dynamic": "model.tflite"}
# static/js/data/normalize.js as numbers: x = pixel * scale + offset.
NORMALIZATIONS = {
    "unit": {"mode": "unit", "mean": [0.0] * 3, "std": [1.0] * 3, "scale": [1 / 255] * 3, "offset": [0.0] * 3},
    "symmetric": {
        "mode": "symmetric",
        "mean": [0.5] * 3,
        "std": [0.5] * 3,
        "scale": [1 / 127.5] * 3,
        "offset": [-1.0] * 3,
    },
}


def dataset_classes(client, name: str) -> list[str]:
    return client.get(f"/api/datasets/{name}").json()["classes"]


def test_a_tfjs_export_of_a_finished_run_contains_a_file_listing_its_class_names(trained):
    with trained.server.client() as client:
        classes = dataset_classes(client, "shapes")
        run = client.get(f"/api/runs/{trained.run_id}").json()
        downloads = {
            fmt: members(download(client, trained.run_id, fmt, seq=trained.seq).content) for fmt in TFJS_FORMATS
        }
    assert classes == ["circle", "square", "triangle"]
    for fmt, files in downloads.items():
        assert files["labels.txt"].decode().splitlines() == classes, fmt
        metadata = json.loads(files["metadata.json"])
        assert metadata["labels"] == classes and metadata["labels_unavailable"] is None, fmt
        assert {k: metadata["input"][k] for k in ("height", "width", "channels", "name")} == {
            "height": 64,
            "width": 64,
            "channels": 3,
            "name": "image",
        }
        assert metadata["normalization"] == NORMALIZATIONS[run["config"].get("normalization", "unit")]
        assert (metadata["task"], metadata["backbone"], metadata["browsertrain_version"]) == (
            "classification",
            None,
            __version__,
        )
        assert metadata["run"] == {
            "id": trained.run_id,
            "dataset": "shapes",
            "dataset_hash": run["dataset_hash"],
            "snapshot": trained.seq,
            "epoch": run["snapshots"][-1]["epoch"],
        }
        assert json.loads(files["model.json"])["userDefinedMetadata"] == metadata, fmt


def test_tfjs_reads_the_labels_back_with_getUserDefinedMetadata_and_the_exported_normalisation_is_trainings(
    trained, tmp_path
):
    served = tmp_path / "served"
    served.mkdir()
    with trained.server.client() as client:
        classes = dataset_classes(client, "shapes")
        folders = {
            fmt: unzip(download(client, trained.run_id, fmt, seq=trained.seq).content, served).name
            for fmt in TFJS_FORMATS
        }
    from server.artifacts.labels import normalization

    with static_files(served) as url:
        answer = node(
            HERE / "labels_tfjs.mjs",
            {
                "models": {fmt: f"{url}/{folder}/model.json" for fmt, folder in folders.items()},
                "normalizations": {mode: normalization(mode) for mode in ("unit", "symmetric", "imagenet")},
            },
        )
    for fmt in TFJS_FORMATS:
        assert answer["metadata"][fmt]["labels"] == classes, fmt
        assert answer["metadata"][fmt]["normalization"]["scale"] == [1 / 255] * 3
    # The numbers a user applies give exactly the floats the model trained on, in every mode.
    assert answer["max_abs_diff"] == {"unit": 0, "symmetric": 0, "imagenet": 0}


def test_single_file_formats_download_as_zips_with_their_labels_beside_them_or_bare_on_request(trained, tmp_path):
    require_extra()
    with trained.server.client() as client:
        classes = dataset_classes(client, "shapes")
        tfjs_metadata = members(download(client, trained.run_id, "tfjs", seq=trained.seq).content)["metadata.json"]
        bare = {}
        for fmt, model_file in SINGLE_FILES.items():
            response = download(client, trained.run_id, fmt, seq=trained.seq)
            assert response.status_code == 200, response.text
            assert response.headers["content-disposition"].endswith(f'-{fmt}.zip"')
            files = members(response.content)
            assert set(files) == {model_file, "labels.txt", "metadata.json"}, fmt
            assert files["labels.txt"].decode().splitlines() == classes
            assert files["metadata.json"] == tfjs_metadata
            raw = download(client, trained.run_id, fmt, seq=trained.seq, raw="true")
            assert raw.status_code == 200, raw.text
            assert raw.headers["content-disposition"].endswith(f'-{fmt}{model_file[model_file.index(".") :]}"')
            assert raw.content == files[model_file], f"the raw {fmt} is not the file inside the zip"
            bare[fmt] = raw.content
        saved = members(download(client, trained.run_id, "savedmodel", seq=trained.seq).content)
        assert {
            "saved_model.pb",
            "labels.txt",
            "metadata.json",
            "assets.extra/labels.txt",
            "assets.extra/metadata.json",
        } <= set(saved)
        assert saved["assets.extra/labels.txt"].decode().splitlines() == classes
        refused = download(client, trained.run_id, "uint8", seq=trained.seq, raw="true")
        assert refused.status_code == 400 and "raw applies to keras, tflite, tflite-dynamic" in refused.json()["detail"]

    out = tmp_path / "model.tflite"
    result = cli(
        "export",
        trained.run_id,
        "--format",
        "tflite",
        "--raw",
        "--seq",
        str(trained.seq),
        "--out",
        str(out),
        "--data-dir",
        str(trained.data_dir),
    )
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == bare["tflite"]
    assert "labels: circle, square, triangle" in result.stdout
    result = cli("export", trained.run_id, "--format", "uint8", "--raw", "--data-dir", str(trained.data_dir))
    assert result.returncode == 2 and "raw applies to" in result.stderr


def test_h5_and_tflite_files_hold_the_labels_inside(trained, tmp_path):
    """Read back with h5py (the H5 root attribute) and the TFLite flatbuffer schema (its metadata entry), and the
    TFLite file's appended zip with zipfile: each names the dataset's classes in output order."""
    require_extra()
    paths = {fmt: tmp_path / f"bare-{fmt}{'.h5' if fmt == 'keras' else '.tflite'}" for fmt in SINGLE_FILES}
    with trained.server.client() as client:
        classes = dataset_classes(client, "shapes")
        metadata = json.loads(
            members(download(client, trained.run_id, "tfjs", seq=trained.seq).content)["metadata.json"]
        )
        for fmt, path in paths.items():
            path.write_bytes(download(client, trained.run_id, fmt, seq=trained.seq, raw="true").content)
    job = {
        "h5": str(paths["keras"]),
        "tflite": {fmt: str(paths[fmt]) for fmt in ("tflite", "tflite-dynamic")},
        "cwd": str(tmp_path),
    }
    (tmp_path / "job.json").write_text(json.dumps(job))
    result = subprocess.run(
        [sys.executable, str(HERE / "labels_tensorflow.py"), str(tmp_path / "job.json")],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["h5"]["labels"] == classes
    assert answer["h5"]["metadata"] == metadata
    for fmt in ("tflite", "tflite-dynamic"):
        assert answer["tflite"][fmt] == metadata, fmt
        with zipfile.ZipFile(paths[fmt]) as associated:
            assert associated.read("labels.txt").decode().splitlines() == classes, fmt


def test_labels_stay_once_exported_and_are_said_unknown_when_the_dataset_went_first(trained):
    """Only the dataset version a run trained on names its outputs: a run whose dataset is deleted before its first
    export says so (metadata.json with labels null and why, no labels.txt); one exported before keeps its labels."""
    from support import imagefolder, upload, zip_bytes

    model_raw, weights = read_snapshot(trained.snapshot_dir())
    with trained.server.client() as client:
        assert upload(client, "fleeting", zip_bytes(imagefolder({"ant": 3, "bee": 3, "cat": 3}))).status_code == 201
        early = new_run_with_snapshot(client, "fleeting", {"inputSize": 64}, model_raw, weights)
        late = new_run_with_snapshot(client, "fleeting", {"inputSize": 64}, model_raw, weights)
        before = members(download(client, early, "tfjs").content)
        assert client.delete("/api/datasets/fleeting").status_code in (200, 204)
        after = members(download(client, early, "tfjs").content)
        unknown = members(download(client, late, "tfjs").content)
        summary = client.get(f"/api/runs/{late}/exports").json()
    assert before["labels.txt"] == after["labels.txt"] == b"ant\nbee\ncat\n"
    assert "labels.txt" not in unknown
    metadata = json.loads(unknown["metadata.json"])
    assert metadata["labels"] is None and "'fleeting' is gone" in metadata["labels_unavailable"]
    assert summary["labels"] is None and "'fleeting' is gone" in summary["labels_unavailable"]
