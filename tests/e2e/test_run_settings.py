"""What a run records about its own settings: the validation split (per dataset, not per seed), the settings chosen
from the dataset with their reasons, and the optimizer, as the train page runs them."""

from __future__ import annotations

import re

import httpx
from support.train_page import wait_for_phase

# One epoch on the wasm backend, at 16 px: the split, the config and the optimizer are what is looked at here.
RUN_AND_SPLIT = """async (config) => {
  const { TrainingSession } = await import('/static/js/train/session.js');
  let validation = null;
  const options = { dataset: 'shapes', config: { epochs: 1, backend: 'wasm', inputSize: 16, ...config } };
  const session = new TrainingSession(options, {
    onTrained: (model, { split, inputs }) => {
      const item = inputs.itemOf(split.val);
      validation = split.val.map((_, i) => item(i).item_id).sort((a, b) => a - b);
    },
  });
  const summary = await session.run();
  return { summary, validation };
}"""


def test_the_seed_changes_weights_and_shuffle_but_not_which_images_validate(server, page):
    page.goto(server.url + "/train")
    wait_for_phase(page, ("ready",))
    first = page.evaluate(RUN_AND_SPLIT, {"seed": 1})
    second = page.evaluate(RUN_AND_SPLIT, {"seed": 2})
    moved = page.evaluate(RUN_AND_SPLIT, {"seed": 1, "splitSeed": 3})
    assert len(first["validation"]) == 48
    assert first["validation"] == second["validation"], "two seeds were scored on different images"
    assert moved["validation"] != first["validation"] and len(moved["validation"]) == 48
    assert first["summary"]["final_loss"] != second["summary"]["final_loss"], "the seed should change the weights"
    for result, split_seed in ((first, 0), (second, 0), (moved, 3)):
        run = httpx.get(f"{server.url}/api/runs/{result['summary']['run_id']}").json()
        assert result["summary"]["split_seed"] == run["info"]["split_seed"] == split_seed


def test_the_train_page_lists_each_setting_it_chose_with_its_reason_and_a_set_option_wins(server, page):
    page.goto(f"{server.url}/train?dataset=shapes&batchSize=32")
    wait_for_phase(page, ("ready",))
    page.wait_for_selector("#defaults li")
    listed = page.inner_text("#defaults")
    assert "Input size (auto)" in listed and "Epochs (auto)" in listed and "Augmentation (auto)" in listed
    assert "64" in listed, listed  # the sample's images are 64×64
    assert "Batch size (auto)" not in listed, "an explicit batch size is not a default"

    result = page.evaluate(RUN_AND_SPLIT, {"batchSize": 32, "inputSize": "auto", "augment": "auto"})
    run = httpx.get(f"{server.url}/api/runs/{result['summary']['run_id']}").json()
    config = run["config"]
    assert (
        config["batchSize"] == 32
        and config["epochs"] == 1
        and set(config["defaults"]) == {"task", "inputSize", "augment"}
    )
    assert config["inputSize"] == config["defaults"]["inputSize"]["value"] == 64
    assert all(choice["reason"] for choice in config["defaults"].values())
    assert result["summary"]["defaults"] == config["defaults"]
    # Adam's epsilon is written down, the same on every backend (tfjs' own default differs on WebGL).
    assert config["optimizer"] == {"name": "adam", "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-7}


# docs/conventions.md: every key the server stores or answers with is snake_case, except inside the objects the page
# owns and the server stores verbatim (the run config, anything keyed by its fields, the LR rule's resume state).
PAGE_OWNED = {"config", "defaults", "lr_state"}
# Maps keyed by names, not fields: backends (info.probes), class pairs (the evaluation's confusion cells).
NAME_KEYED = {"probes", "cells"}
SNAKE_CASE = re.compile(r"[a-z0-9_]+")


def keys_off_the_rule(value, path="", names=False) -> list[str]:
    if isinstance(value, list):
        return [bad for i, item in enumerate(value) for bad in keys_off_the_rule(item, f"{path}[{i}]")]
    if not isinstance(value, dict):
        return []
    bad = [] if names else [f"{path}.{key}" for key in value if not SNAKE_CASE.fullmatch(key)]
    for key, item in value.items():
        if names or key not in PAGE_OWNED:
            bad += keys_off_the_rule(item, f"{path}.{key}", names=not names and key in NAME_KEYED)
    return bad


def test_a_recorded_run_keeps_the_casing_rule_outside_what_the_page_owns(server, page):
    page.goto(server.url + "/train")
    wait_for_phase(page, ("ready",))
    result = page.evaluate(RUN_AND_SPLIT, {})
    run = httpx.get(f"{server.url}/api/runs/{result['summary']['run_id']}").json()
    assert run["info"]["probes"]["wasm"]["images_per_second"] > 0 and run["epochs"][0]["lr_state"]
    assert keys_off_the_rule(run) == [], "see docs/conventions.md"
    assert keys_off_the_rule(result["summary"]) == []
    assert keys_off_the_rule(httpx.get(f"{server.url}/api/datasets").json()) == []
