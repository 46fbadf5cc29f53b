"""Every run learns: real handwritten digits with default settings on every seed, the same losses on every backend,
and a run that does not learn says so (summary warnings, the CLI's stderr, the train page's banner)."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import time

import httpx
import pytest
from PIL import Image
from support import ROOT, start_server
from support.train_page import train_url, wait_for_phase

from bench.pretrained import DIGIT_SIDE, write_digits

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DIGITS = "digits"  # 3 classes x 30 of scikit-learn's handwritten digits at 32x32 (bench/pretrained.py writes them)
NO_SIGNAL = "no_signal"  # 3 classes x 10 copies of one grey image: the labels say nothing about the images
NO_SIGNAL_COPIES = 10
SEEDS = (1, 2, 3, 4, 5)
MIN_VAL_ACCURACY = 0.9  # of 18 validation images: at most one mistake
CLI_TIMEOUT_SECONDS = 600


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
    )


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def write_no_signal(folder) -> None:
    for label in ("a", "b", "c"):
        (folder / label).mkdir(parents=True)
        for n in range(NO_SIGNAL_COPIES):
            Image.new("L", (DIGIT_SIDE, DIGIT_SIDE), 128).save(folder / label / f"{n:02d}.png")


@pytest.fixture(scope="module")
def learning_server(tmp_path_factory):
    """One server whose data folder holds the digits and the no-signal sets, imported with the CLI as a user would."""
    root = tmp_path_factory.mktemp("learning")
    data = root / "data"
    for name, write in ((DIGITS, write_digits), (NO_SIGNAL, write_no_signal)):
        write(root / name)
        imported = cli("datasets", "import", str(root / name), "--name", name, "--data-dir", str(data))
        assert imported.returncode == 0, imported.stderr
    live = start_server(data)
    yield live
    live.stop()


def test_digits_with_default_settings_reach_90_percent_on_every_seed(learning_server):
    # One headless Chromium per seed against the one server, all at once: on 2 cores the five take ~195 s together
    # against ~55 s each in a row (browser start, the backend probe and the uploads overlap with training).
    started = time.monotonic()
    processes = {
        seed: subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server.cli",
                "train",
                "--server",
                learning_server.url,
                "--dataset",
                DIGITS,
                "--seed",
                str(seed),
                "--json",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in SEEDS
    }
    try:
        outputs = {seed: p.communicate(timeout=CLI_TIMEOUT_SECONDS) for seed, p in processes.items()}
    finally:
        for p in processes.values():
            if p.poll() is None:
                p.kill()
                p.wait()
    print(f"\n{len(SEEDS)} default runs of {DIGITS}, together: {time.monotonic() - started:.0f} s")
    for seed, (stdout, stderr) in outputs.items():
        assert processes[seed].returncode == 0, f"seed {seed}: {stderr[-2000:]}"
        summary = last_json(stdout)
        print(
            f"seed {seed}: val_accuracy {summary['val_accuracy']:.3f}, final loss {summary['final_loss']:.4f}, "
            f"{summary['epochs']} epochs on {summary['backend']}"
        )
        assert set(summary["defaults"]) == {"task", "inputSize", "batchSize", "epochs", "augment"}, "not the defaults"
        assert summary["val_items"] == 18
        assert summary["val_accuracy"] >= MIN_VAL_ACCURACY, (seed, summary["val_accuracy"], summary["evaluation"])
        assert summary["final_loss"] < 0.1 * math.log(3), f"seed {seed}: the loss stayed near ln 3"
        assert summary["warnings"] == [], (seed, summary["warnings"])


# The same run on each backend sees identical batches: one seed, a fixed batch size, no augmentation, the backend
# given (no probe). 16 px instead of the digits' 32 keeps WebGL on a software GPU at ~1.5 s an epoch.
SAME_RUN = {
    "dataset": DIGITS,
    "seed": 1,
    "batchSize": 24,
    "inputSize": 16,
    "augmentMode": "off",
    "snapshotEvery": 100,
    "epochs": 10,
}
BACKENDS = ("cpu", "wasm", "webgl")
# float32 keeps ~7 digits; the backends sum the convolutions' products in different orders, and wasm runs Adam's
# update in float64 before rounding (train/fused_adam.js), so each step's weights differ in their last bits. Measured
# over the first 3 epochs (9 steps): cpu and WebGL agree to 1e-7, wasm to 2e-6 of the loss. 1e-4 leaves room for that
# to grow on other machines, and still fails on any real difference: a different kernel or Adam epsilon (1e-4 vs
# 1e-7) moves the loss in its third digit within a few steps.
SAME_STEPS_RTOL = 1e-4
SAME_STEPS_EPOCHS = 3
SAME_END_SHARE = 0.25


@pytest.fixture(scope="module")
def runs_by_backend(learning_server, browser):
    """SAME_RUN on cpu, wasm and WebGL in the train page: {backend: the page's final state}."""
    states = {}
    for backend in BACKENDS:
        context = browser.new_context()
        try:
            page = context.new_page()
            # cpu, several times slower than wasm, takes only the first steps (the planned epochs do not change them).
            epochs = SAME_STEPS_EPOCHS if backend == "cpu" else SAME_RUN["epochs"]
            page.goto(train_url(learning_server, **{**SAME_RUN, "epochs": epochs}, backend=backend))
            state = wait_for_phase(page)
            assert state["phase"] == "done", state["error"]
            assert state["summary"]["backend"] == backend
            states[backend] = state
        finally:
            context.close()
    for backend, state in states.items():
        print(f"\n{backend}: train loss per epoch " + " ".join(f"{e['train_loss']:.6f}" for e in state["epochs"]))
    return states


def test_webgl_and_wasm_end_within_25_percent_of_the_same_loss(runs_by_backend):
    webgl, wasm = (runs_by_backend[b]["epochs"] for b in ("webgl", "wasm"))
    assert len(webgl) == len(wasm) == SAME_RUN["epochs"]
    end = {"webgl": webgl[-1]["train_loss"], "wasm": wasm[-1]["train_loss"]}
    assert end["webgl"] < 0.5 * webgl[0]["train_loss"], f"the loss did not fall: {end}"
    assert abs(end["webgl"] - end["wasm"]) <= SAME_END_SHARE * max(end.values()), end


def test_cpu_wasm_and_webgl_take_the_same_first_steps(runs_by_backend):
    losses = {b: [e["train_loss"] for e in s["epochs"][:SAME_STEPS_EPOCHS]] for b, s in runs_by_backend.items()}
    for backend in ("wasm", "webgl"):
        worst = max(abs(a - b) / b for a, b in zip(losses[backend], losses["cpu"]))
        print(f"\n{backend} vs cpu, first {SAME_STEPS_EPOCHS} epochs: largest relative difference {worst:.1e}")
        assert worst <= SAME_STEPS_RTOL, losses
    assert len({s["epochs"][SAME_STEPS_EPOCHS - 1]["iterations"] for s in runs_by_backend.values()}) == 1


# A learning rate too small to move the weights: the loss stays where it started.
STALLED = {"lr": "1e-7", "epochs": 6, "backend": "wasm", "inputSize": 16}
NOT_LEARNING = {"loss_flat", "val_at_chance"}


def cli_options(page_options: dict) -> list[str]:
    """The page's query options as `browsertrain train` flags: inputSize=16 → --input-size 16."""
    return [
        arg
        for key, value in page_options.items()
        for arg in ("--" + re.sub("([A-Z])", r"-\1", key).lower(), str(value))
    ]


def test_a_run_that_does_not_learn_is_flagged_in_the_summary_and_on_stderr(learning_server):
    result = cli(
        "train",
        "--server",
        learning_server.url,
        "--dataset",
        DIGITS,
        "--json",
        "--augment",
        "off",
        *cli_options(STALLED),
    )
    assert result.returncode == 0, result.stderr  # the run itself went fine: the warnings say what is wrong
    summary = last_json(result.stdout)
    # Without augmentation the frozen model's epoch losses agree to 0.1%: the loss never left its start.
    codes = {w["code"] for w in summary["warnings"]}
    assert "loss_flat" in codes and codes <= NOT_LEARNING | {"one_class"}, summary["warnings"]
    for warning in summary["warnings"]:
        assert warning["next_step"], warning
        assert (
            f"warning: this run may not have learned: {warning['message']}. Next: {warning['next_step']}."
            in result.stderr
        )


def test_the_train_page_shows_the_not_learning_banner_mid_run_and_at_the_end(learning_server, page):
    # No augmentation: the frozen model's epoch losses then agree to 0.1%, so this is the flat loss and nothing else.
    page.goto(train_url(learning_server, dataset=DIGITS, augmentMode="off", **STALLED))
    state = wait_for_phase(page)
    assert state["phase"] == "done", state["error"]
    assert "loss_flat" in {w["code"] for w in state["summary"]["warnings"]}
    banner = page.locator("#warning")
    assert banner.is_visible()
    assert banner.text_content().startswith("Not learning? the training loss never left its starting value")
    assert "Next: " in banner.text_content()
    # The mid-run check said so once, after 5 of 6 epochs, and the run's record keeps it for the run page.
    assert [w["code"] for w in state["learning"]].count("loss_flat") == 2  # mid-run, then the final check
    info = httpx.get(f"{learning_server.url}/api/runs/{state['runId']}").json()["info"]
    assert ("loss_flat", 5) in [(w["code"], w["epoch"]) for w in info["warnings"]]


def test_a_run_on_labels_that_say_nothing_is_at_chance_on_one_class(learning_server, page):
    page.goto(train_url(learning_server, dataset=NO_SIGNAL, epochs=5, backend="wasm"))
    state = wait_for_phase(page)
    assert state["phase"] == "done", state["error"]
    codes = {w["code"] for w in state["summary"]["warnings"]}
    # Every validation image is the same grey: one prediction for all, right on a third of them.
    assert {"val_at_chance", "one_class"} <= codes, state["summary"]["warnings"]
    assert state["summary"]["val_accuracy"] == pytest.approx(1 / 3)
    assert page.locator("#warning").text_content().startswith("Not learning? ")
