"""The `auto` backend probe runs once per browser: a second choice reuses its answer from localStorage, and a
different GPU renderer (or tfjs version, browser, cores) makes it probe again."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHOOSE_TWICE = """async () => {
  const { chooseBackend } = await import('/static/js/train/backend.js');
  const timed = async () => {
    const started = performance.now();
    const choice = await chooseBackend('auto');
    return { ...choice, ms: performance.now() - started, active: tf.getBackend() };
  };
  const first = await timed();
  const second = await timed();
  // The same browser with another GPU: the stored fingerprint names a renderer this page does not have.
  const key = 'browsertrain.backendProbes';
  const saved = JSON.parse(localStorage.getItem(key));
  saved.fingerprint = JSON.stringify({ ...JSON.parse(saved.fingerprint), renderer: 'Another GPU' });
  localStorage.setItem(key, JSON.stringify(saved));
  const third = await timed();
  return { first, second, third };
}"""


def test_auto_probes_once_per_browser_and_again_on_another_renderer(shared_server, page):
    page.goto(f"{shared_server.url}/train")
    page.wait_for_function("() => globalThis.browsertrain?.phase === 'ready'")
    result = page.evaluate(CHOOSE_TWICE)
    first, second, third = result["first"], result["second"], result["third"]
    assert first["probes"]["wasm"]["images_per_second"] > 0
    assert not any(probe.get("cached") for probe in first["probes"].values())
    # The second choice probed nothing: every answer is the first one's, and it is the same backend, started.
    assert second["backend"] == first["backend"] == second["active"]
    assert {name: {**probe, "cached": True} for name, probe in first["probes"].items()} == second["probes"]
    assert "remembered from an earlier run in this browser" in second["reason"]
    assert second["ms"] < first["ms"] / 3, (first["ms"], second["ms"])
    # Another renderer: probed afresh.
    assert not any(probe.get("cached") for probe in third["probes"].values())
    assert third["probes"]["wasm"]["images_per_second"] != first["probes"]["wasm"]["images_per_second"]
