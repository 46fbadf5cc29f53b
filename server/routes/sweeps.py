"""HTTP for the sweeps (docs/queue.md)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/sweeps", tags=["sweeps"])
