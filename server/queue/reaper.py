"""The server's reaper: every REAPER_SECONDS (shorter when the lease is), expired leases are taken back."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from ..limits import REAPER_SECONDS
from .leases import reap
from .store import log


async def reap_forever(app: FastAPI) -> None:
    interval = min(REAPER_SECONDS, app.state.settings.lease_seconds)
    while True:
        await asyncio.sleep(interval)
        try:
            await run_in_threadpool(reap, app.state.engine)
        except Exception:  # a database hiccup: the next round (or the next claim) tries again
            log.exception("the reaper could not take back expired leases")


@asynccontextmanager
async def reaper_lifespan(app: FastAPI):
    """The app's lifespan: the reaper runs while the app does and stops with it."""
    task = asyncio.create_task(reap_forever(app))
    try:
        yield
    finally:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
