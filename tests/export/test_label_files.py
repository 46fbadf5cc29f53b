"""The export metadata on its own (no TensorFlow, no browser): labels.txt keeps one line per output, the
normalisation numbers are normalize.js's, and only the dataset version a run trained on names its outputs."""

from __future__ import annotations

import json

import pytest

from server.artifacts import labels
from server.datasets.importer import import_dataset
from server.storage import Storage


def test_labels_txt_has_one_line_per_output_even_when_a_class_name_holds_a_line_break(tmp_path):
    names = ["cat", "two\nlines", "crlf\r\nname", "ünïcode"]
    assert labels.labels_text(names).splitlines() == ["cat", "two lines", "crlf name", "ünïcode"]
    written = labels.write_label_files(tmp_path, {"labels": names, "labels_unavailable": None})
    assert written == ["labels.txt", "metadata.json"]
    assert json.loads((tmp_path / "metadata.json").read_text(encoding="utf-8"))["labels"] == names  # exact names


def test_unknown_labels_write_metadata_json_only(tmp_path):
    assert labels.write_label_files(tmp_path, {"labels": None, "labels_unavailable": "gone"}) == ["metadata.json"]
    assert not (tmp_path / "labels.txt").exists()


def test_metadata_json_is_the_same_bytes_for_the_same_dict_in_any_key_order():
    one = {"b": 1, "a": {"y": 2, "x": [1 / 255]}}
    two = {"a": {"x": [1 / 255], "y": 2}, "b": 1}
    assert labels.metadata_json(one) == labels.metadata_json(two)


def test_normalisation_numbers_are_normalize_js_formula():
    imagenet = labels.normalization("imagenet")
    for c in range(3):
        assert imagenet["scale"][c] == 1 / (255 * imagenet["std"][c])
        assert imagenet["offset"][c] == -imagenet["mean"][c] / imagenet["std"][c]
    for mode in ("unit", "symmetric", "imagenet"):
        numbers = labels.normalization(mode)
        for pixel in (0, 128, 255):
            for c in range(3):
                by_scale = pixel * numbers["scale"][c] + numbers["offset"][c]
                by_mean = (pixel / 255 - numbers["mean"][c]) / numbers["std"][c]
                assert by_scale == pytest.approx(by_mean, abs=1e-12), (mode, pixel, c)
    with pytest.raises(ValueError, match="unknown normalisation 'zscore'"):
        labels.normalization("zscore")


def test_class_names_come_only_from_the_dataset_version_the_run_trained_on(tmp_path):
    from support import imagefolder, zip_bytes

    storage = Storage(tmp_path / "data")
    archive = tmp_path / "set.zip"
    archive.write_bytes(zip_bytes(imagefolder({"b": 2, "a": 2})))
    manifest = import_dataset(storage, archive, "set")
    run = {"id": "0123456789ab", "dataset": "set", "dataset_hash": manifest["hash"]}
    assert labels.class_names(storage, run, 2) == (["a", "b"], None)
    names, why = labels.class_names(storage, {**run, "dataset_hash": "0000000000000000"}, 2)
    assert names is None and "changed since this run" in why
    names, why = labels.class_names(storage, run, 3)
    assert names is None and "3 outputs" in why
    names, why = labels.class_names(storage, {**run, "dataset": "nothing"}, 2)
    assert names is None and "'nothing' is gone" in why
