"""What a run records about its own settings: the validation split (per dataset, not per seed), the settings chosen
from the dataset with their reasons, and the optimizer, as the train page runs them."""

from __future__ import annotations

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
    assert config["batchSize"] == 32 and config["epochs"] == 1 and set(config["defaults"]) == {"inputSize", "augment"}
    assert config["inputSize"] == config["defaults"]["inputSize"]["value"] == 64
    assert all(choice["reason"] for choice in config["defaults"].values())
    assert result["summary"]["defaults"] == config["defaults"]
    # Adam's epsilon is written down, the same on every backend (tfjs' own default differs on WebGL).
    assert config["optimizer"] == {"name": "adam", "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-7}
