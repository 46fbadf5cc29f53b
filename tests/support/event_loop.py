"""Async code in the synchronous tests: in the full suite Playwright's sync API keeps an event loop running in the
test thread, where asyncio.run() is refused, so coroutines run on a fresh loop in a thread of their own."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor


def run_async(coroutine):
    """Run a coroutine to its end on a fresh loop in its own thread; its result, or its exception."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
