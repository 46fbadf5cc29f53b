"""Simulated queue workers (docs/queue.md): asyncio HTTP clients that do what a /worker tab does on the wire.

Each one registers with a device, claims a job, heartbeats every few seconds while it "trains" (sleeps), and sends
what the train page sends, with its attempt header: the run is running, an epoch record per epoch (and optionally a
tiny tfjs snapshot), the run's end with a summary; then it completes the job. Each has its own connections, as a
tab has. A worker given several server URLs fails over: a request that cannot reach its
server (refused, reset, cut off) is sent again, unchanged and with the same attempt token, to the next URL.

The queue bench (bench/queue.py) and the two-server failover test (tests/queue/test_two_servers.py) both drive these,
and read what happened from one Tally.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import httpx

from .snapshots import DENSE_WEIGHTS, model_json, snapshot_files, weights_for

ATTEMPT_HEADER = "X-Browsertrain-Attempt"
DEVICE = {
    "backend": "wasm",
    "backends": ["wasm", "cpu"],
    "gpu_renderer": None,
    "images_per_second": 1000.0,
    "user_agent": "simulated queue worker",
}
REQUEST_TIMEOUT_SECONDS = 60
FAILOVER_SECONDS = 15  # how long a request that cannot reach any server keeps trying them in turn
FAILOVER_PAUSE_SECONDS = 0.05  # between two rounds over every server


@dataclass
class Plan:
    """How the simulated workers behave. epoch_seconds is the "training" of one epoch; the number of epochs is the
    job's config.epochs. heartbeat_seconds None: what the server said at registration."""

    epoch_seconds: float = 0.1
    heartbeat_seconds: float | None = None
    poll_seconds: float = 0.1  # the pause after a claim that found nothing
    snapshot: bool = False  # post a snapshot after the last epoch
    default_epochs: int = 1


@dataclass
class Attempt:
    """One claim as its worker saw it."""

    job_id: str
    token: str
    number: int  # the job's attempt count at this claim
    worker: str
    claimed_via: str
    epochs: int
    epochs_posted: list[int] = field(default_factory=list)
    completed_via: str | None = None
    cancelled: bool = False
    finished_at: float | None = None


@dataclass
class Tally:
    """What all the workers of one run saw. `target`: the workers stop once this many jobs are complete."""

    target: int
    requests: int = 0  # answered, whatever the status
    claims: int = 0
    empty_claims: int = 0
    heartbeats: int = 0
    heartbeat_seconds: list[float] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    completed: dict[str, list[Attempt]] = field(default_factory=dict)  # job id -> the attempts that completed it
    conflicts: list[str] = field(default_factory=list)  # every 409: "METHOD path: detail"
    unexpected: list[str] = field(default_factory=list)  # any other answer a worker did not expect
    retries: int = 0  # requests sent again after a transport error (to the next server, when there are several)
    started: float | None = None  # time.monotonic() once every worker is registered and they start claiming
    ended: float | None = None  # when the target was reached
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def in_flight(self) -> list[Attempt]:
        return [a for a in self.attempts if a.completed_via is None and not a.cancelled]

    def record_complete(self, attempt: Attempt, via: str) -> None:
        attempt.completed_via = via
        attempt.finished_at = time.monotonic()
        self.completed.setdefault(attempt.job_id, []).append(attempt)
        if len(self.completed) >= self.target and not self.done.is_set():
            self.ended = attempt.finished_at
            self.done.set()


class Servers:
    """A worker's httpx pool per server URL; `request` sends to its current server and fails over to the next."""

    def __init__(self, pools: list[httpx.AsyncClient]):
        self.pools = pools

    async def request(self, worker: SimulatedWorker, method: str, path: str, **kwargs) -> httpx.Response:
        failing_since = None
        tried = 0
        while True:
            pool = self.pools[worker.server % len(self.pools)]
            try:
                response = await pool.request(method, path, **kwargs)
                await response.aread()
                worker.tally.requests += 1
                return response
            except httpx.TransportError:
                failing_since = failing_since or time.monotonic()
                if time.monotonic() - failing_since > FAILOVER_SECONDS:
                    raise
                worker.server += 1
                worker.tally.retries += 1
                tried += 1
                if tried % len(self.pools) == 0:
                    await asyncio.sleep(FAILOVER_PAUSE_SECONDS)

    def url_of(self, worker: SimulatedWorker) -> str:
        return str(self.pools[worker.server % len(self.pools)].base_url)


@asynccontextmanager
async def server_pools(urls: list[str], connections: int):
    """Up to `connections` keep-alive connections to each server."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    pools = [httpx.AsyncClient(base_url=url, limits=limits, timeout=REQUEST_TIMEOUT_SECONDS) for url in urls]
    try:
        yield Servers(pools)
    finally:
        for pool in pools:
            await pool.aclose()


class SimulatedWorker:
    def __init__(self, servers: Servers, name: str, tally: Tally, plan: Plan, server: int = 0):
        self.servers = servers
        self.name = name
        self.tally = tally
        self.plan = plan
        self.server = server  # index of the server this worker talks to (it moves on a failover)
        self.worker_id: str | None = None
        self.heartbeat_seconds = plan.heartbeat_seconds

    async def _call(self, method: str, path: str, expected: tuple[int, ...], **kwargs) -> httpx.Response | None:
        """The answer if its status is expected; otherwise it is tallied (a 409 as a conflict) and None returned."""
        response = await self.servers.request(self, method, path, **kwargs)
        if response.status_code in expected:
            return response
        what = f"{method} {path}: {response.status_code} {response.text[:300]}"
        (self.tally.conflicts if response.status_code == 409 else self.tally.unexpected).append(what)
        return None

    async def register(self) -> None:
        answer = await self._call("POST", "/api/queue/workers", (201,), json={"name": self.name, "device": DEVICE})
        if answer is None:
            raise RuntimeError(f"{self.name} could not register: {self.tally.unexpected[-1:]}")
        body = answer.json()
        self.worker_id = body["worker_id"]
        if self.heartbeat_seconds is None:
            self.heartbeat_seconds = float(body["heartbeat_seconds"])

    async def run(self, deadline: float) -> None:
        """Claim and train jobs until the tally's target is reached or the deadline (time.monotonic()) passes."""
        if self.worker_id is None:
            await self.register()
        while not self.tally.done.is_set() and time.monotonic() < deadline:
            answer = await self._call("POST", f"/api/queue/workers/{self.worker_id}/claim", (200, 204))
            if answer is None or answer.status_code == 204:
                self.tally.empty_claims += 1
                await asyncio.sleep(self.plan.poll_seconds)
                continue
            self.tally.claims += 1
            await self.train(answer.json()["job"])

    async def train(self, job: dict) -> Attempt:
        attempt = Attempt(
            job_id=job["id"],
            token=job["attempt_token"],
            number=job["attempt"],
            worker=self.name,
            claimed_via=self.servers.url_of(self),
            epochs=int((job.get("config") or {}).get("epochs", self.plan.default_epochs)),
        )
        self.tally.attempts.append(attempt)
        run_path = f"/api/runs/{attempt.job_id}"
        headers = {ATTEMPT_HEADER: attempt.token}
        progress = {"epoch": 0, "epochs": attempt.epochs, "images_per_second": DEVICE["images_per_second"]}
        beating = asyncio.create_task(self._heartbeats(attempt, progress))
        try:
            # What the train page sends: the run is running (with the device), its epochs, its end with a summary.
            info = {"backend": DEVICE["backend"], "user_agent": DEVICE["user_agent"]}
            if not await self._call(
                "PATCH", run_path, (200,), json={"status": "running", "info": info}, headers=headers
            ):
                return attempt
            for epoch in range(attempt.epochs):
                await asyncio.sleep(self.plan.epoch_seconds)
                if attempt.cancelled:
                    break
                record = {"epoch": epoch, "train_loss": 1.0 / (epoch + 1), "val_accuracy": 0.5, "seconds": 0.1}
                if not await self._call("POST", f"{run_path}/epochs", (201,), json=record, headers=headers):
                    return attempt
                attempt.epochs_posted.append(epoch)
                progress["epoch"] = epoch + 1
            if self.plan.snapshot and not attempt.cancelled:
                files = snapshot_files(model_json(), weights_for(DENSE_WEIGHTS, seed=len(self.tally.attempts)))
                path = f"{run_path}/snapshots?epoch={attempt.epochs - 1}"
                if not await self._call("POST", path, (201,), files=files, headers=headers):
                    return attempt
            status = "stopped" if attempt.cancelled else "finished"
            summary = {"reason": status, "epochs": len(attempt.epochs_posted), "val_accuracy": 0.5}
            if not await self._call(
                "PATCH", run_path, (200,), json={"status": status, "summary": summary}, headers=headers
            ):
                return attempt
        finally:
            beating.cancel()
        body = {"attempt_token": attempt.token, "status": status}
        if await self._call("POST", f"/api/queue/jobs/{attempt.job_id}/complete", (200,), json=body):
            if attempt.cancelled:
                attempt.completed_via = self.servers.url_of(self)
            else:
                self.tally.record_complete(attempt, self.servers.url_of(self))
        return attempt

    async def _heartbeats(self, attempt: Attempt, progress: dict) -> None:
        path = f"/api/queue/workers/{self.worker_id}/heartbeat"
        body = {"job_id": attempt.job_id, "attempt_token": attempt.token, "progress": progress}
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            started = time.perf_counter()
            answer = await self._call("POST", path, (200,), json=body)
            if answer is None:
                return
            self.tally.heartbeats += 1
            self.tally.heartbeat_seconds.append(time.perf_counter() - started)
            if answer.json().get("cancel"):
                attempt.cancelled = True
                return


async def run_workers(urls: list[str], count: int, tally: Tally, plan: Plan, max_seconds: float) -> None:
    """`count` workers spread over `urls` (worker i starts on server i mod len(urls)), registered first, then all
    running at once until the tally's target is reached or max_seconds pass. Each has connections of its own, as a
    browser tab has: two per server, since its heartbeat may be on the wire beside its claim or epoch."""
    async with AsyncExitStack() as stack:
        workers = []
        for i in range(count):
            servers = await stack.enter_async_context(server_pools(urls, 2))
            workers.append(SimulatedWorker(servers, f"sim-{i}", tally, plan, server=i))
        await asyncio.gather(*(w.register() for w in workers))
        tally.started = time.monotonic()
        deadline = tally.started + max_seconds
        await asyncio.gather(*(w.run(deadline) for w in workers))


async def enqueue(url: str, count: int, dataset: str, config: dict, concurrency: int = 8) -> list[str]:
    """`count` jobs through POST /api/queue/jobs; their ids, in the order they were made."""
    ids: list[str] = []
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=REQUEST_TIMEOUT_SECONDS) as client:
        remaining = iter(range(count))

        async def one_by_one():
            for _ in remaining:
                response = await client.post("/api/queue/jobs", json={"dataset": dataset, "config": config})
                if response.status_code != 201:
                    raise RuntimeError(f"enqueue: {response.status_code} {response.text[:300]}")
                ids.append(response.json()["id"])

        await asyncio.gather(*(one_by_one() for _ in range(concurrency)))
    return ids
