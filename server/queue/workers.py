"""Workers: browser tabs on /worker (or `browsertrain worker`'s headless Chromium) that register and are seen at
every claim and heartbeat. Their state is derived: offline after a lease's length without being seen."""

from __future__ import annotations

import json
import secrets

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from .. import db
from ..limits import LEASE_SECONDS, MAX_QUEUE_LIST, MAX_WORKER_DEVICE_BYTES, MAX_WORKER_NAME_CHARS
from .store import QueueError, WorkerNotFound, iso, now_seconds

WORKER_ID_BYTES = 16  # 32 hex digits, the column's width


def register_worker(engine: Engine, name: str, device: dict) -> dict:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_WORKER_NAME_CHARS:
        raise QueueError(f"a worker's name is 1 to {MAX_WORKER_NAME_CHARS} characters")
    if not isinstance(device, dict) or len(json.dumps(device)) > MAX_WORKER_DEVICE_BYTES:
        raise QueueError(f"a worker's device is an object of at most {MAX_WORKER_DEVICE_BYTES:,} bytes of JSON")
    row = {
        "id": secrets.token_hex(WORKER_ID_BYTES),
        "name": name.strip(),
        "device": device,
        "job_id": None,
        "progress": None,
        "last_seen_at": now_seconds(),
        "created_at": db.now(),
    }
    with db.full_disk("the worker was not registered"), engine.begin() as conn:
        conn.execute(db.workers.insert().values(**row))
    return _worker_dict(row, LEASE_SECONDS)


def touch_worker(conn: Connection, worker_id: str) -> dict:
    """The worker's row, marked as seen now; WorkerNotFound (404) for an unknown id."""
    row = conn.execute(select(db.workers).where(db.workers.c.id == worker_id)).mappings().first()
    if row is None:
        raise WorkerNotFound(worker_id)
    seen = now_seconds()
    conn.execute(update(db.workers).where(db.workers.c.id == worker_id).values(last_seen_at=seen))
    return {**row, "last_seen_at": seen}


def _worker_dict(row, lease_seconds: float) -> dict:
    worker = dict(row)
    if now_seconds() - worker["last_seen_at"] > lease_seconds:
        worker["state"] = "offline"
    else:
        worker["state"] = "training" if worker["job_id"] else "idle"
    worker["last_seen_at"] = iso(worker["last_seen_at"])
    return worker


def get_worker(engine: Engine, worker_id: str, lease_seconds: float = LEASE_SECONDS) -> dict:
    with engine.connect() as conn:
        row = conn.execute(select(db.workers).where(db.workers.c.id == worker_id)).mappings().first()
    if row is None:
        raise WorkerNotFound(worker_id)
    return _worker_dict(row, lease_seconds)


def list_workers(engine: Engine, lease_seconds: float = LEASE_SECONDS) -> list[dict]:
    """Most recently seen first."""
    query = select(db.workers).order_by(db.workers.c.last_seen_at.desc()).limit(MAX_QUEUE_LIST)
    with engine.connect() as conn:
        return [_worker_dict(row, lease_seconds) for row in conn.execute(query).mappings()]
