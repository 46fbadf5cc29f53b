"""In real Chromium: a snapshot that tfjs sends for an attempt whose lease ran out (its job re-issued to another
worker) is refused with 409 and stores nothing; the current attempt's snapshot, sent the same way, is stored."""

from __future__ import annotations

import httpx
import pytest
from support.servers import start_isolated

from .test_worker import wait_until

pytestmark = [pytest.mark.browser]

# Posts one snapshot of a small model the way a training page does (train/reporter.js: tf.io.http with the attempt's
# header, optimizer state included), for the given attempt token; answers what the Reporter saw.
SEND_SNAPSHOT = """async ([runId, token]) => {
  const { tf } = await import('/static/js/tf.js');
  const api = await import('/static/js/api.js');
  const { Reporter } = await import('/static/js/train/reporter.js');
  const input = tf.input({ shape: [3] });
  const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2 }).apply(input) });
  model.compile({ optimizer: tf.train.adam(0.001), loss: 'meanSquaredError' });
  await model.fit(tf.ones([4, 3]), tf.zeros([4, 2]), { epochs: 1, verbose: 0 });
  api.setAttempt(runId, token);
  const warnings = [];
  const meta = await new Reporter(runId, (text) => warnings.push(text)).snapshot(model, { epoch: 1, step: 0 });
  model.dispose();
  return { meta, warnings };
}"""


DEVICE = {"backend": "wasm", "backends": ["wasm", "cpu"]}


def register(client: httpx.Client, name: str) -> str:
    return client.post("/api/queue/workers", json={"name": name, "device": DEVICE}).json()["worker_id"]


def claim(client: httpx.Client, worker_id: str) -> dict | None:
    answer = client.post(f"/api/queue/workers/{worker_id}/claim")
    return answer.json()["job"] if answer.status_code == 200 else None


def snapshots(client: httpx.Client, run_id: str) -> list[int]:
    return [snapshot["seq"] for snapshot in client.get(f"/api/runs/{run_id}").json()["snapshots"]]


def test_a_stale_attempts_snapshot_from_the_browser_is_refused_with_409_and_stores_nothing(tmp_path, page):
    lease = {"BROWSERTRAIN_LEASE_SECONDS": "2", "BROWSERTRAIN_HEARTBEAT_SECONDS": "1"}
    live = start_isolated(tmp_path / "srv", env=lease)
    try:
        with live.client() as client:
            job = client.post("/api/queue/jobs", json={"dataset": "shapes", "config": {"epochs": 2}}).json()
            first = claim(client, register(client, "closed-lid"))
            second_worker = register(client, "awake")
            # The first worker never heartbeats: once its lease has run out, the next claim re-issues the job.
            second = wait_until(lambda: claim(client, second_worker), "the lease running out", timeout=30)
            assert second["id"] == job["id"] and second["attempt"] == 2

            page.goto(f"{live.url}/train")
            # The page picks its backend after loading: a model built before that finds none initialised.
            page.wait_for_function("() => globalThis.browsertrain?.phase === 'ready'")
            stale = page.evaluate(SEND_SNAPSHOT, [job["id"], first["attempt_token"]])
            assert stale["meta"] is None and any("409" in text for text in stale["warnings"]), stale
            assert snapshots(client, job["id"]) == []

            current = page.evaluate(SEND_SNAPSHOT, [job["id"], second["attempt_token"]])
            assert current["meta"] and current["meta"]["seq"] == 1 and not current["warnings"], current
            assert snapshots(client, job["id"]) == [1]
    finally:
        live.stop()
