"""HTTP for the queue (docs/queue.md)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/queue", tags=["queue"])
