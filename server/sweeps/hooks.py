"""What the queue tells a sweep: a trial's epoch was recorded, a trial's job ended (docs/queue.md, Sweeps)."""

from __future__ import annotations

from sqlalchemy.engine import Engine


def epoch_recorded(engine: Engine, job: dict, record: dict) -> None:
    """Called by the queue after an epoch record of a sweep trial's run was stored (job["sweep_id"] is set)."""


def job_ended(engine: Engine, job: dict) -> None:
    """Called by the queue after a sweep trial's job reached done, failed, cancelled or pruned."""
