"""Queue: jobs claimed per second and heartbeat latency under 200 simulated workers, SQLite against PostgreSQL.

For each database one real server (`browsertrain serve`, its own process) holds the queue: SQLite in its data folder,
or a throwaway PostgreSQL cluster. Each run enqueues the jobs through the API, then 200 simulated workers
(tests/support/queue_clients.py: asyncio tasks over one httpx pool, in this process) claim, heartbeat, post their
epochs with the attempt header and complete until the queue is drained. The two databases are interleaved run by run;
each figure is the median of the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sqlite3
import sys
import tempfile
import time
from contextlib import contextmanager, nullcontext
from importlib import metadata
from pathlib import Path

import httpx
import psycopg

from server.limits import HEARTBEAT_SECONDS
from tests.support.postgres import start_cluster
from tests.support.queue_clients import Plan, Tally, enqueue, run_workers
from tests.support.servers import start_server

from . import common
from .server_load import percentile

DATABASES = ("SQLite", "PostgreSQL")
BASELINE = "SQLite"
DATASET = "shapes"  # the sample every server creates
LOOP_TICK_SECONDS = 0.01  # the client's event-loop lag is how late a sleep of this long wakes up
MAX_DRAIN_SECONDS = 600
# No job completed for this long: a lost job would have been re-issued by now (a lease, 30 s, and a reaper round).
STALL_SECONDS = 60
TITLE = "Queue: claims/s and heartbeat latency, SQLite vs PostgreSQL"
PACKAGES = ("fastapi", "uvicorn", "sqlalchemy", "psycopg", "httpx")


def cpu_seconds(pid: int, children: bool = False) -> float:
    """User + system CPU of a process (and of its live children, with what its finished ones used, if asked)."""
    ticks = os.sysconf("SC_CLK_TCK")

    def stat(p: int) -> list[str]:
        return Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()

    try:
        fields = stat(pid)
    except OSError:
        return 0.0
    total = int(fields[11]) + int(fields[12])
    if children:
        total += int(fields[13]) + int(fields[14])
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    child = stat(int(entry.name))
                except OSError:
                    continue
                if int(child[1]) == pid:
                    total += int(child[11]) + int(child[12])
    return total / ticks


def _postgres_facts(url: str) -> tuple[int, str]:
    """The cluster's postmaster (the parent of any backend: its pid and its children's CPU count as the database's)
    and its version."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        version = conn.execute("SHOW server_version").fetchone()[0]
    postmaster = int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
    return postmaster, version


@contextmanager
def served(database: str, base: Path, heartbeat_seconds: float | None):
    """A server whose queue lives in `database`; yields (server, postmaster pid or None, database version)."""
    env = {"BROWSERTRAIN_HEARTBEAT_SECONDS": str(heartbeat_seconds)} if heartbeat_seconds else {}
    data = base / database / "data"
    data.mkdir(parents=True)
    with contextmanager(start_cluster)() if database == "PostgreSQL" else nullcontext() as cluster:
        if cluster is not None:
            env["BROWSERTRAIN_DB_URL"] = cluster.create_database()
            postmaster, version = _postgres_facts(env["BROWSERTRAIN_DB_URL"])
        else:
            postmaster, version = None, f"{sqlite3.sqlite_version} (WAL)"
        server = start_server(data, env=env)
        try:
            yield server, postmaster, version
        finally:
            server.stop()


async def _drain(url: str, workers: int, tally: Tally, plan: Plan, counters) -> tuple[list[float], dict, dict]:
    """Runs the workers until the queue is drained. Returns the event loop's lag samples (seconds) meanwhile, and
    counters() read as the workers start claiming (once all are registered) and as the last job completes."""
    lags: list[float] = []
    marks: list[dict] = []

    progress = [0, time.monotonic()]  # jobs completed, and when that count last grew

    async def tick():
        while True:
            started = time.perf_counter()
            await asyncio.sleep(LOOP_TICK_SECONDS)
            lags.append(time.perf_counter() - started - LOOP_TICK_SECONDS)
            if len(marks) == 0 and tally.started is not None or len(marks) == 1 and tally.done.is_set():
                marks.append(counters())
            if len(tally.completed) > progress[0]:
                progress[:] = [len(tally.completed), time.monotonic()]
            elif time.monotonic() - progress[1] > STALL_SECONDS and not tally.done.is_set():
                tally.ended = progress[1]  # the run is measured up to its last completion, and marked not drained
                tally.done.set()  # the workers stop

    ticker = asyncio.create_task(tick())
    try:
        await run_workers([url], workers, tally, plan, MAX_DRAIN_SECONDS)
    finally:
        ticker.cancel()
    marks += [counters() for _ in range(2 - len(marks))]  # what the ticker did not get to before the end
    return lags, marks[0], marks[1]


def _cpu_counters(server_pid: int, postmaster: int | None) -> dict:
    total, idle = common._cpu_times()
    return {
        "client": time.process_time(),
        "server": cpu_seconds(server_pid),
        "database": cpu_seconds(postmaster, children=True) if postmaster else 0.0,
        "machine_total": total,
        "machine_idle": idle,
    }


def _cpu_used(before: dict, after: dict, seconds: float) -> dict:
    """Cores kept busy during the drain: by the clients (this process), the server, the database, everyone else."""
    used = {key: (after[key] - before[key]) / seconds for key in ("client", "server", "database")}
    ticks = max(1, after["machine_total"] - before["machine_total"])
    machine = (os.cpu_count() or 1) * (1 - (after["machine_idle"] - before["machine_idle"]) / ticks)
    used["others"] = max(0.0, machine - sum(used.values()))
    return used


def one_run(server, postmaster: int | None, args) -> dict:
    started = time.monotonic()
    ids = asyncio.run(enqueue(server.url, args.jobs, DATASET, {"epochs": args.epochs}))
    enqueue_seconds = time.monotonic() - started
    quiet = common.wait_for_quiet(max_wait=10)
    plan = Plan(epoch_seconds=args.epoch_seconds, poll_seconds=args.poll_seconds)
    tally = Tally(target=len(ids))
    lags, before, after = asyncio.run(
        _drain(server.url, args.workers, tally, plan, lambda: _cpu_counters(server.process.pid, postmaster))
    )
    drained = len(tally.completed) == len(ids)
    if tally.ended is None:  # MAX_DRAIN_SECONDS passed
        tally.ended = max(a.finished_at for attempts in tally.completed.values() for a in attempts)
    if not drained:
        with httpx.Client(base_url=server.url) as client:
            left = {
                state: [job["id"] for job in client.get("/api/queue/jobs", params={"state": state}).json()["jobs"]]
                for state in ("queued", "claimed", "failed")
            }
        print(f"NOT drained: {len(tally.completed)} of {len(ids)} jobs completed; left {left}", file=sys.stderr)
    if not tally.heartbeat_seconds:
        raise RuntimeError(
            "no heartbeats: make the jobs' training (--epochs × --epoch-seconds) longer than a heartbeat"
        )
    seconds = tally.ended - tally.started
    # The counters are read on the client's event loop, at most a tick or so off the drain's start and end.
    cores = _cpu_used(before, after, seconds)
    beats = tally.heartbeat_seconds
    return {
        "drained": drained,
        "completed": len(tally.completed),
        "left": None if drained else left,
        "jobs": len(ids),
        "enqueue_seconds": enqueue_seconds,
        "seconds": seconds,
        "claims": tally.claims,
        "claims_per_second": tally.claims / seconds,
        "empty_claims": tally.empty_claims,
        "requests": tally.requests,
        "requests_per_second": tally.requests / seconds,
        "heartbeats": len(beats),
        "heartbeat_p50_ms": 1000 * percentile(beats, 0.50),
        "heartbeat_p99_ms": 1000 * percentile(beats, 0.99),
        "loop_lag_p50_ms": 1000 * percentile(lags, 0.50),
        "loop_lag_p99_ms": 1000 * percentile(lags, 0.99),
        "cores": cores,
        # CPU per claimed job: what a core of its own would need, whatever else the machine was doing.
        "server_cpu_ms_per_job": 1000 * cores["server"] * seconds / tally.claims,
        "database_cpu_ms_per_job": 1000 * cores["database"] * seconds / tally.claims,
        "client_cpu_ms_per_job": 1000 * cores["client"] * seconds / tally.claims,
        "conflicts": len(tally.conflicts),
        "unexpected": len(tally.unexpected),
        "errors_seen": (tally.conflicts + tally.unexpected)[:10],
        "retries": tally.retries,
        "quiet": quiet,
    }


MEDIANS = (
    "claims_per_second",
    "requests_per_second",
    "heartbeat_p50_ms",
    "heartbeat_p99_ms",
    "loop_lag_p50_ms",
    "loop_lag_p99_ms",
    "server_cpu_ms_per_job",
    "database_cpu_ms_per_job",
    "client_cpu_ms_per_job",
    "seconds",
)
CORES = ("server", "database", "client", "others")


def measure(args) -> dict:
    data = {
        "load_before": os.getloadavg(),
        "machine": common.machine(),
        "settings": {
            k: getattr(args, k)
            for k in ("jobs", "workers", "runs", "epochs", "epoch_seconds", "heartbeat", "poll_seconds")
        },
        "versions": {name: metadata.version(name) for name in PACKAGES},
        "runs": {database: [] for database in DATABASES},
    }
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as tmp:
        base = Path(tmp)
        with (
            served("SQLite", base, args.heartbeat) as (sqlite_server, _, sqlite_version),
            served("PostgreSQL", base, args.heartbeat) as (pg_server, postmaster, pg_version),
        ):
            data["versions"].update(SQLite=sqlite_version, PostgreSQL=pg_version)
            servers = {"SQLite": (sqlite_server, None), "PostgreSQL": (pg_server, postmaster)}
            for index in range(args.runs):
                for database in DATABASES:
                    r = one_run(*servers[database], args)
                    data["runs"][database].append(r)
                    print(
                        f"run {index + 1}/{args.runs} {database}: {r['claims_per_second']:.1f} claims/s in "
                        f"{r['seconds']:.0f} s, heartbeat p50 {r['heartbeat_p50_ms']:.0f} ms p99 "
                        f"{r['heartbeat_p99_ms']:.0f} ms, cores "
                        + ", ".join(f"{k} {v:.2f}" for k, v in r["cores"].items())
                        + f"; {r['conflicts']} 409s, {r['unexpected']} other errors, {r['retries']} retries",
                        file=sys.stderr,
                    )
                    for line in r["errors_seen"]:
                        print(f"  {line}", file=sys.stderr)
    data["load_after"] = os.getloadavg()
    summarise(data)
    return data


def summarise(data: dict) -> None:
    """Medians per database over its drained runs (a run that stopped draining stalled for a minute, which its CPU
    counters include), or over all of them if none drained."""
    data["medians"] = {}
    for database, runs in data["runs"].items():
        counted = [r for r in runs if r["drained"]] or runs
        data["medians"][database] = {
            **{key: common.median([r[key] for r in counted]) for key in MEDIANS},
            "cores": {key: common.median([r["cores"][key] for r in counted]) for key in CORES},
            "runs_counted": len(counted),
        }


def report(data: dict) -> str:
    s, medians, versions = data["settings"], data["medians"], data["versions"]
    base = medians[BASELINE]
    lines = [
        common.machine_line(data["machine"]),
        common.load_line(data),
        "Versions: " + ", ".join(f"{name} {version}" for name, version in versions.items()) + ".",
        "",
        f"One `browsertrain serve` process per database (PostgreSQL: a throwaway cluster on a unix socket, fsync "
        f"off). Each run enqueues {s['jobs']:,} jobs through the API, then {s['workers']} simulated workers (asyncio "
        f"tasks in the bench's own process, each with its own connections) drain them: claim, mark the run running, "
        f"heartbeat every {s['heartbeat']:g} s, post {s['epochs']} epoch records {s['epoch_seconds']:g} s apart, "
        f"mark the run finished (all with the attempt header), complete; a claim that finds nothing waits "
        f"{s['poll_seconds']:g} s. claims/s = claims that returned a job / seconds from the first claim to the last "
        f"completion. Medians over the runs that drained, of {s['runs']} per database ("
        + ", ".join(f"{db} {m['runs_counted']}" for db, m in medians.items())
        + "), the two interleaved run by run.",
        "",
    ]
    rows = []
    for database, runs in data["runs"].items():
        m = medians[database]
        rows.append(
            [
                database,
                f"{m['claims_per_second']:.1f}",
                common.spread([r["claims_per_second"] for r in runs]),
                f"{m['heartbeat_p50_ms']:,.0f}",
                f"{m['heartbeat_p99_ms']:,.0f}",
                common.ratio(m["claims_per_second"], base["claims_per_second"]),
                common.ratio(m["heartbeat_p50_ms"], base["heartbeat_p50_ms"]),
                common.ratio(m["heartbeat_p99_ms"], base["heartbeat_p99_ms"]),
            ]
        )
    lines.append(
        common.markdown_table(
            [
                "database",
                "claims/s",
                "claims/s (min–max)",
                "heartbeat p50 ms",
                "heartbeat p99 ms",
                f"claims/s vs {BASELINE}",
                f"p50 vs {BASELINE}",
                f"p99 vs {BASELINE}",
            ],
            rows,
        )
    )
    lines += [
        "",
        "CPU per claimed job (its claim, heartbeats, epoch records and completion: what one core of its own would "
        "spend, whatever else ran), cores kept busy during the drain (medians), the client's own delay (how late "
        f"a {1000 * LOOP_TICK_SECONDS:.0f} ms sleep in its event loop woke up) and what went wrong:",
        "",
    ]
    rows = []
    for database, m in medians.items():
        runs = data["runs"][database]
        rows.append(
            [
                database,
                f"{m['server_cpu_ms_per_job']:.1f}",
                f"{m['database_cpu_ms_per_job']:.1f}" if database != BASELINE else "(in the server)",
                f"{m['client_cpu_ms_per_job']:.1f}",
                f"{m['requests_per_second']:.0f}",
                " / ".join(f"{m['cores'][key]:.2f}" for key in CORES),
                f"{m['loop_lag_p50_ms']:.1f} / {m['loop_lag_p99_ms']:.0f}",
                f"{sum(r['conflicts'] for r in runs)} / {sum(r['unexpected'] for r in runs)} / "
                f"{sum(r['retries'] for r in runs)} / {sum(not r['drained'] for r in runs)}",
            ]
        )
    lines.append(
        common.markdown_table(
            [
                "database",
                "server CPU ms/job",
                "PostgreSQL CPU ms/job",
                "client CPU ms/job",
                "requests/s",
                "cores: server / PostgreSQL / client / everything else",
                "client loop lag p50 / p99 ms",
                "409s / other errors / retried requests / runs not drained (all runs)",
            ],
            rows,
        )
    )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000, help="jobs enqueued and drained per run")
    parser.add_argument("--workers", type=int, default=200, help="simulated workers, all at once")
    parser.add_argument("--runs", type=int, default=3, help="runs per database, interleaved")
    parser.add_argument("--epochs", type=int, default=2, help="epoch records each job posts")
    parser.add_argument("--epoch-seconds", type=float, default=3.0, help="each epoch's simulated training")
    parser.add_argument(
        "--heartbeat", type=float, help=f"the servers' heartbeat interval (default: theirs, {HEARTBEAT_SECONDS:g} s)"
    )
    parser.add_argument("--poll-seconds", type=float, default=1.0, help="a worker's pause after an empty claim")
    parser.add_argument("--rewrite", action="store_true", help="rewrite results/queue.md from results/queue.json")
    args = parser.parse_args(argv)
    if args.rewrite:
        data = json.loads((common.RESULTS_DIR / "queue.json").read_text())
        summarise(data)
        print(common.write_result("queue", TITLE, report(data), data).read_text())
        return 0
    args.heartbeat = args.heartbeat or HEARTBEAT_SECONDS
    # A stopped bench (SIGTERM) still stops its servers and removes its PostgreSQL cluster.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    data = measure(args)
    path = common.write_result(
        "queue", "Queue: claims/s and heartbeat latency, SQLite vs PostgreSQL", report(data), data
    )
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
