"""In real Chromium: a run paused and stopped mid-epoch, then reloaded, resumes at that very step of the same epoch:
the steps before and after train every item of the epoch once, and the optimizer's step count goes on."""

from __future__ import annotations

import httpx
import pytest
from support.train_page import TRAIN_TIMEOUT_SECONDS, train_url, wait_for_phase

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BATCH = 4
# One epoch of small batches: about 48 steps, so a pause after a few of them lands well inside the epoch.
QUICK = {"epochs": 1, "backend": "wasm", "batchSize": BATCH, "inputSize": 32, "augmentMode": "off"}
STEPS_BEFORE_PAUSE = 3


# Watches the trace's step list (ui/train.js replaces it each epoch) and asks a pause when it reaches `count` steps.
PAUSE_AT_STEP = """(count) => {
  const trace = globalThis.browsertrainTrace;
  let steps = trace.steps;
  const watch = (list) => {
    const push = list.push.bind(list);
    list.push = (...rows) => {
      const length = push(...rows);
      if (length >= count && globalThis.pausedAtStep === undefined) {
        globalThis.pausedAtStep = browsertrainControls.pause();
      }
      return length;
    };
  };
  watch(steps);
  Object.defineProperty(trace, 'steps', { get: () => steps, set: (list) => { watch(list); steps = list; } });
}"""


def trace(page) -> dict:
    """The page's steps of the epoch in training: {epoch, steps: [{step, iteration, indices}]} (ui/train.js)."""
    return page.evaluate("() => globalThis.browsertrainTrace")


def test_a_run_stopped_mid_epoch_and_reloaded_trains_only_the_rest_of_that_epoch(server, page):
    page.goto(train_url(server, **QUICK))
    # The pause is asked from inside the page at the step itself: an epoch of small batches takes well under a second
    # here, so a pause sent by polling from the test could land after the epoch ended.
    page.evaluate(PAUSE_AT_STEP, STEPS_BEFORE_PAUSE)
    page.wait_for_function("() => globalThis.pausedAtStep !== undefined", timeout=TRAIN_TIMEOUT_SECONDS * 1000)
    page.evaluate("() => globalThis.pausedAtStep")  # resolves once paused and its snapshot is stored
    before = trace(page)
    page.evaluate("() => browsertrainControls.stop()")
    stopped = wait_for_phase(page)
    assert stopped["phase"] == "done" and stopped["summary"]["reason"] == "stopped", stopped["error"]
    assert stopped["epochs"] == [], "the pause was meant to land inside the only epoch"
    run_id = stopped["runId"]
    paused_at = len(before["steps"])
    train_items = stopped["summary"]["train_items"]
    steps = -(-train_items // BATCH)
    assert STEPS_BEFORE_PAUSE <= paused_at < steps and before["epoch"] == 0
    assert [s["step"] for s in before["steps"]] == list(range(paused_at))

    run = httpx.get(f"{server.url}/api/runs/{run_id}").json()
    assert [(s["epoch"], s.get("step")) for s in run["snapshots"]] == [(0, paused_at)], "one snapshot, where it paused"

    page.reload()  # the address bar says /train?resume=<run>
    resumed = wait_for_phase(page)
    assert resumed["phase"] == "done", resumed["error"]
    assert resumed["runId"] == run_id
    after = trace(page)
    assert after["epoch"] == 0
    assert [s["step"] for s in after["steps"]] == list(range(paused_at, steps)), "it trained only the rest of the epoch"
    assert after["steps"][0]["iteration"] == before["steps"][-1]["iteration"] + 1, "the optimizer step count restarted"

    # The real rows before and after (the last batch is padded) are every training item once: the same order.
    trained = [s["indices"] for s in before["steps"] + after["steps"]]
    real_in_last = train_items - (steps - 1) * BATCH
    positions = [index for batch in trained[:-1] for index in batch] + trained[-1][:real_in_last]
    assert sorted(positions) == list(range(train_items))

    [record] = resumed["epochs"]
    assert (record["epoch"], record["resumed_at_step"], record["iterations"]) == (0, paused_at, steps)
    run = httpx.get(f"{server.url}/api/runs/{run_id}").json()
    assert run["status"] == "finished" and run["epochs_done"] == 1
    assert run["info"]["resumed_at_epoch"] == 0 and run["info"]["resumed_at_step"] == paused_at
    assert [(s["epoch"], s.get("step")) for s in run["snapshots"]][-1] == (1, None)


# What a browser does when the tab goes to the background (often just before it is closed): the page then asks for a
# snapshot at the next step, no sooner than MIN_ASKED_SNAPSHOT_GAP_SECONDS (10 s) after the last.
HIDE_TAB = """() => {
  Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
  document.dispatchEvent(new Event('visibilitychange'));
}"""


def test_a_hidden_tab_snapshots_mid_epoch_without_waiting_for_the_epoch_end(server, page):
    page.goto(train_url(server, **{**QUICK, "epochs": 50, "snapshotEvery": 1000}))
    page.wait_for_function("() => (globalThis.browsertrainTrace?.steps.length ?? 0) >= 1", timeout=240_000)
    run_id = page.evaluate("() => globalThis.browsertrain.runId")
    page.evaluate(HIDE_TAB)
    page.wait_for_function("() => globalThis.browsertrain.lastSnapshot?.step > 0", timeout=60_000)
    page.evaluate("() => browsertrainControls.stop()")
    stopped = wait_for_phase(page)
    assert stopped["summary"]["reason"] == "stopped", stopped["error"]
    snapshots = httpx.get(f"{server.url}/api/runs/{run_id}").json()["snapshots"]
    asked = snapshots[0]
    assert asked["step"] > 0 and asked["epoch"] < 50, snapshots
