"""Two servers on one PostgreSQL database, sharing one data folder or (each with a folder of its own) one S3 store;
one is killed (SIGKILL) in the middle of a run.

The simulated workers (tests/support/queue_clients.py) are spread over both servers. Those that were talking to the
killed one carry on through the other with the attempt tokens they hold: every job ends done exactly once, the jobs
the killed server had handed out are finished on the other by the same attempts, every epoch is in its run's log
once, and no current attempt is ever answered 409.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support.event_loop import run_async
from support.queue_clients import Attempt, Plan, Tally, enqueue, run_workers
from support.servers import LiveServer, start_server

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

JOBS = 40
WORKERS = 12
EPOCHS = 3
EPOCH_SECONDS = 0.3
# A claim whose answer died with the killed server is held by nobody until its lease ends: short, so the job is
# re-issued within the test. The heartbeat stays well inside it.
LEASE_SECONDS = 6
HEARTBEAT_SECONDS = 1
KILL_WHEN_IN_FLIGHT = 4  # attempts claimed through the doomed server and part-way through their epochs
MAX_SECONDS = 30


def start_together(folders: list[Path], env: dict) -> list[LiveServer]:
    """Two servers, started at once: both bring the empty database's schema up together, as two servers of one
    deployment would (and it halves the wait on a slow machine)."""
    with ThreadPoolExecutor(2) as pool:
        starting = [pool.submit(start_server, data, env=env) for data in folders]
    started = [future.result() for future in starting if future.exception() is None]
    if len(started) < 2:
        for server in started:
            server.stop()
        raise next(future.exception() for future in starting if future.exception() is not None)
    return started


async def run_and_kill(doomed: LiveServer, other: LiveServer, tally: Tally) -> list[Attempt]:
    """Runs the workers; once enough attempts claimed through `doomed` are mid-training, SIGKILLs it. Returns those."""
    plan = Plan(epoch_seconds=EPOCH_SECONDS)
    workers = asyncio.create_task(run_workers([doomed.url, other.url], WORKERS, tally, plan, MAX_SECONDS))
    deadline = time.monotonic() + MAX_SECONDS

    def mid_training() -> list[Attempt]:
        # Claimed through the doomed server, and with an epoch still to post: their completion is sent after the
        # kill, so it cannot have been answered by the doomed server (a request sent before the kill may be).
        return [a for a in tally.in_flight() if a.claimed_via == doomed.url and len(a.epochs_posted) < a.epochs]

    while len([a for a in mid_training() if a.epochs_posted]) < KILL_WHEN_IN_FLIGHT:
        assert not workers.done() and time.monotonic() < deadline, "no attempts in flight to kill the server under"
        await asyncio.sleep(0.02)
    doomed.process.kill()  # SIGKILL: no shutdown, connections cut mid-request
    killed_at = time.monotonic()
    in_flight = mid_training()
    await workers
    assert tally.ended is not None and tally.ended > killed_at
    return in_flight


@pytest.fixture(params=["one-folder", "s3"])
def artifacts(request, tmp_path):
    """(the two servers' data folders, the variables that name their store): one shared folder, or two folders and
    one S3 bucket (SeaweedFS), where each server sees the other's datasets, runs and epochs only through the store."""
    if request.param == "one-folder":
        data = tmp_path / "data"
        data.mkdir()
        yield [data, data], {}
        return
    from support.seaweed import start_seaweed

    weed = start_seaweed(tmp_path / "s3")
    folders = [tmp_path / "data-a", tmp_path / "data-b"]
    for folder in folders:
        folder.mkdir()
    yield (
        folders,
        {**weed.env, "BROWSERTRAIN_S3_URL": "s3://browsertrain/two", "BROWSERTRAIN_S3_ENDPOINT": weed.endpoint},
    )
    weed.stop()


def test_a_killed_server_loses_no_job_and_no_epoch(artifacts, postgres_cluster):
    folders, store = artifacts
    env = {
        "BROWSERTRAIN_DB_URL": postgres_cluster.create_database(),
        "BROWSERTRAIN_LEASE_SECONDS": str(LEASE_SECONDS),
        "BROWSERTRAIN_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
        **store,
    }
    doomed, other = start_together(folders, env)
    try:
        ids = run_async(enqueue(doomed.url, JOBS, "shapes", {"epochs": EPOCHS}))
        tally = Tally(target=JOBS)
        in_flight = run_async(run_and_kill(doomed, other, tally))
        doomed.process.wait(10)

        assert tally.conflicts == [], "a current attempt was refused"
        assert tally.unexpected == []
        assert tally.retries > 0
        assert sorted(tally.completed) == sorted(ids)
        assert all(len(attempts) == 1 for attempts in tally.completed.values()), "a job was completed twice"

        # The killed server's jobs: finished through the other one, by the attempt that claimed them there.
        assert len(in_flight) >= KILL_WHEN_IN_FLIGHT
        for attempt in in_flight:
            assert attempt.completed_via == other.url, attempt
            assert tally.completed[attempt.job_id] == [attempt]

        with other.client() as client:
            jobs = {job["id"]: job for job in client.get("/api/queue/jobs").json()["jobs"]}
            assert {job_id: jobs[job_id]["state"] for job_id in ids} == dict.fromkeys(ids, "done")
            for attempt in in_flight:
                assert jobs[attempt.job_id]["attempt"] == attempt.number  # not re-issued: the same attempt went on
            for job_id in ids:
                run = client.get(f"/api/runs/{job_id}").json()
                assert [record["epoch"] for record in run["epochs"]] == list(range(EPOCHS)), job_id
                assert run["epochs_done"] == EPOCHS
                assert run["status"] == "finished"
    finally:
        doomed.stop()
        other.stop()
