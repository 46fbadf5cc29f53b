"""static/shared_rules.json defines the rules the server shares with the pages once: every server name that carries
one must say what the file says. tests/js/shared_rules.test.js holds the pages to the same file."""

from __future__ import annotations

import json

import pytest
from support import ROOT

from server.artifacts import format_names, gate, labels, tfjs_model
from server.cli import build_parser
from server.cli_options import page_options
from server.runs import snapshots
from server.runs.service import RunFinished
from server.runs.train_config import settings_of

RULES = json.loads((ROOT / "static" / "shared_rules.json").read_text(encoding="utf-8"))


def test_the_run_defaults_are_the_shared_ones_and_the_train_options_agree():
    assert dict(gate.RUN_DEFAULTS) == RULES["run_defaults"]["values"]
    # An option chosen from the dataset ('auto': the task) has no shared default on the page; the shared one is what a
    # config recorded without it reads as.
    option_defaults = {o["field"]: o["default"] for o in page_options() if not o.get("from_dataset")}
    for key, value in RULES["run_defaults"]["values"].items():
        assert option_defaults.get(key, value) == value, f"static/train_options.json's {key} default differs"


def test_a_run_recorded_without_those_settings_reads_as_the_shared_defaults():
    defaults = RULES["run_defaults"]["values"]
    old = settings_of({"epochs": 3, "lr": 0.01})  # a config from before these keys were written
    assert (old.task, old.normalization, old.val_fraction, old.seed) == (
        defaults["task"],
        defaults["normalization"],
        defaults["valFraction"],
        defaults["seed"],
    )
    assert old.split_seed == defaults["seed"] and old.epochs == 3  # before splitSeed, the weight seed split
    new = settings_of({"valFraction": 0.3, "seed": 4, "splitSeed": 0, "normalization": "imagenet"})
    assert (new.val_fraction, new.seed, new.split_seed, new.normalization) == (0.3, 4, 0, "imagenet")


def test_the_imagenet_normalisation_uses_the_shared_statistics():
    imagenet = labels.normalization("imagenet")
    assert imagenet["mean"] == RULES["imagenet"]["mean"] and imagenet["std"] == RULES["imagenet"]["std"]
    assert imagenet["offset"] == pytest.approx(
        [-m / s for m, s in zip(RULES["imagenet"]["mean"], RULES["imagenet"]["std"])]
    )


def test_the_export_formats_and_the_gate_default_are_the_shared_ones():
    exports = RULES["exports"]
    assert format_names.REFERENCE == exports["reference_format"] == format_names.FORMATS[0]
    assert tuple(exports["tfjs_formats"] + exports["tf_formats"]) == format_names.FORMATS
    assert exports["default_max_accuracy_drop"] == gate.DEFAULT_MAX_ACCURACY_DROP
    assert (exports["min_box_agreement"], exports["max_point_shift"]) == (gate.MIN_BOX_AGREEMENT, gate.MAX_POINT_SHIFT)


def test_the_cli_refuses_one_overfit_image_more_than_the_shared_cap(capsys):
    cap = RULES["max_overfit_images"]
    parser = build_parser()
    assert parser.parse_args(["train", "--dataset", "x", "--overfit", str(cap)]).overfit == cap
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--dataset", "x", "--overfit", str(cap + 1)])
    assert f"--overfit takes 1 to {cap} images" in capsys.readouterr().err


def test_a_finished_run_is_refused_in_the_shared_words():
    message = str(RunFinished("abc123"))
    assert message == RULES["messages"]["run_finished"].replace("{run_id}", "abc123")
    assert "{run_id}" not in message and "--from abc123" in message


def test_the_snapshot_file_name_has_one_home():
    assert tfjs_model.MODEL_FILE is snapshots.MODEL_FILE == "model.json"
