"""Server: items/s and latency (p50/p99) of GET item and GET bulk under 1/8/32 concurrent clients on loopback.

The server runs as its own process (`browsertrain serve`) on a generated 5,000-image dataset; the clients are asyncio
tasks sharing one httpx connection pool of `concurrency` connections in this process. Every configuration is
bounded by a request count and a time cap, after a short warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import httpx

from . import common
from .dataset import DATASET, dataset_in

CONCURRENCY = (1, 8, 32)
BULK_COUNT = 100
WARMUP_REQUESTS = 20


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def load(url: str, kind: str, items: int, concurrency: int, max_requests: int, max_seconds: float) -> dict:
    rng = random.Random(concurrency)

    def path() -> str:
        if kind == "item":
            return f"/api/datasets/{DATASET}/items/{rng.randrange(items)}"
        return f"/api/datasets/{DATASET}/bulk?start={rng.randrange(items - BULK_COUNT)}&count={BULK_COUNT}"

    latencies: list[float] = []
    errors = 0
    sent = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        for _ in range(WARMUP_REQUESTS):
            (await client.get(path())).raise_for_status()
        deadline = time.perf_counter() + max_seconds

        async def worker():
            nonlocal errors, sent
            while sent < max_requests and time.perf_counter() < deadline:
                sent += 1
                started = time.perf_counter()
                response = await client.get(path())
                await response.aread()
                if response.status_code == 200:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    per_request = 1 if kind == "item" else BULK_COUNT
    return {
        "kind": kind,
        "concurrency": concurrency,
        "requests": len(latencies),
        "errors": errors,
        "seconds": seconds,
        "requests_per_second": len(latencies) / seconds,
        "items_per_second": len(latencies) * per_request / seconds,
        "p50_ms": 1000 * percentile(latencies, 0.50),
        "p99_ms": 1000 * percentile(latencies, 0.99),
    }


def measure(args, dataset: tuple[Path, dict] | None = None) -> dict:
    data = {"load_before": os.getloadavg(), "machine": common.machine(), "results": [], "max_seconds": args.max_seconds}
    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
        data_dir, data["dataset"] = dataset_in(tmp, args.items, dataset)
        with common.running_server(data_dir) as url:
            for kind, max_requests in (("item", args.max_item_requests), ("bulk", args.max_bulk_requests)):
                for concurrency in CONCURRENCY:
                    common.wait_for_quiet(max_wait=5)
                    result = asyncio.run(
                        load(url, kind, data["dataset"]["items"], concurrency, max_requests, args.max_seconds)
                    )
                    data["results"].append(result)
                    print(
                        f"{kind} x{concurrency}: {result['items_per_second']:,.0f} items/s, "
                        f"p99 {result['p99_ms']:.1f} ms",
                        file=sys.stderr,
                    )
    data["load_after"] = os.getloadavg()
    return data


def report(data: dict) -> str:
    lines = [
        common.machine_line(data["machine"]),
        common.load_line(data),
        "",
        f"One uvicorn process (the app as `browsertrain serve` runs it) and the clients share the machine's "
        f"cores. item = GET /api/datasets/{{name}}/items/{{id}} (one JPEG of "
        f"{data['dataset']['mean_bytes'] / 1024:.1f} KB on average); bulk = GET /api/datasets/{{name}}/bulk?"
        f"count={BULK_COUNT} (a pack of {BULK_COUNT}); random ids over {data['dataset']['items']:,} items; "
        f"each row at most {data['max_seconds']:.0f} s.",
        "",
    ]
    rows = []
    base = {r["kind"]: r["items_per_second"] for r in data["results"] if r["concurrency"] == 1}
    item_rate = {r["concurrency"]: r["items_per_second"] for r in data["results"] if r["kind"] == "item"}
    for r in data["results"]:
        rows.append(
            [
                r["kind"],
                r["concurrency"],
                r["requests"],
                r["errors"],
                f"{r['requests_per_second']:,.0f}",
                f"{r['items_per_second']:,.0f}",
                f"{r['p50_ms']:.1f}",
                f"{r['p99_ms']:.1f}",
                common.ratio(r["items_per_second"], base[r["kind"]]),
                common.ratio(r["items_per_second"], item_rate.get(r["concurrency"])),
            ]
        )
    lines.append(
        common.markdown_table(
            [
                "endpoint",
                "clients",
                "requests",
                "errors",
                "requests/s",
                "items/s",
                "p50 ms",
                "p99 ms",
                "items/s vs 1 client",
                "items/s vs item endpoint, same clients",
            ],
            rows,
        )
    )
    return "\n".join(lines)


def main(argv=None, dataset: tuple[Path, dict] | None = None) -> int:
    """`dataset`: (data folder, import_dataset's summary) of an already imported 5,000-image dataset."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--max-seconds", type=float, default=8.0)
    parser.add_argument("--max-item-requests", type=int, default=4000)
    parser.add_argument("--max-bulk-requests", type=int, default=400)
    args = parser.parse_args(argv)
    data = measure(args, dataset)
    path = common.write_result("server", "Server: item and bulk endpoints under concurrent clients", report(data), data)
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
