"""Faults in the page: a tab reloaded mid-run and a lost WebGL context lose no training (real Chromium)."""

from __future__ import annotations

import httpx
import pytest
from support.train_page import train_url, wait_for_phase

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_tab_reloaded_mid_run_resumes_from_its_latest_snapshot(server, page):
    page.goto(train_url(server, epochs=12, backend="wasm", snapshotEvery=2))
    before = wait_for_phase(page, until=lambda s: len(s["epochs"]) >= 3)
    run_id = before["runId"]
    assert f"resume={run_id}" in page.url, "the address bar should let a reload resume this run"
    page.reload()
    resumed = wait_for_phase(page)
    assert resumed["phase"] == "done", resumed["error"]
    assert resumed["runId"] == run_id
    assert resumed["epochs"][0]["epoch"] >= 2, "the reloaded tab started over instead of resuming"
    run = httpx.get(f"{server.url}/api/runs/{run_id}").json()
    assert run["status"] == "finished" and run["epochs_done"] == 12


def test_webgl_context_loss_continues_from_the_last_snapshot_on_another_backend(server, page):
    page.goto(train_url(server, epochs=4, backend="webgl", inputSize=32, snapshotEvery=1))
    first = wait_for_phase(page, until=lambda s: len(s["epochs"]) >= 1 and s.get("lastSnapshot"))
    assert first["backend"]["backend"] == "webgl"
    page.evaluate("tf.backend().gpgpu.gl.getExtension('WEBGL_lose_context').loseContext()")
    state = wait_for_phase(page)
    assert state["phase"] == "done", state["error"]
    assert state["backend"]["backend"] != "webgl"
    assert any("WebGL context was lost" in w for w in state["warnings"])
    run = httpx.get(f"{server.url}/api/runs/{first['runId']}").json()
    assert run["status"] == "finished" and run["epochs_done"] == 4
    assert run["info"]["resumed_at_epoch"] >= 1
    assert run["snapshots"][-1]["epoch"] == 4
