"""Run lifecycle: create, read, update status, append epochs (whole lines), list."""

from __future__ import annotations

import json

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from .. import db
from ..errors import NotFound, StatusError
from ..limits import MAX_EPOCH, MAX_EPOCH_RECORD_BYTES, MAX_RUN_CONFIG_BYTES
from ..shared_rules import run_finished_message
from ..storage import Storage, append_line, full_disk, locked, new_run_id

EPOCH_LOG = "epochs.jsonl"
RUN_KINDS = ("train", "sanity")
RUN_STATUSES = ("created", "running", "finished", "stopped", "failed")


class RunError(StatusError, ValueError):
    """A request about runs that cannot be honoured as sent."""


class RunNotFound(NotFound):
    """No run with this id (404)."""


class RunFinished(RunError):
    """A finished run is a record: its epochs, snapshots and summary never change (a 409)."""

    status = 409

    def __init__(self, run_id: str):
        super().__init__(run_finished_message(run_id))


def check_unfinished(run: dict) -> dict:
    if run["status"] == "finished":
        raise RunFinished(run["id"])
    return run


def _jsonable(value, cap: int, what: str):
    encoded = json.dumps(value)
    if len(encoded) > cap:
        raise RunError(f"{what} is larger than {cap:,} bytes")
    return value


def create_run(
    engine: Engine,
    storage: Storage,
    *,
    dataset: str,
    dataset_hash: str,
    kind: str,
    config: dict,
    info: dict,
    parent_run_id: str | None = None,
) -> dict:
    if kind not in RUN_KINDS:
        raise RunError(f"kind must be one of {', '.join(RUN_KINDS)}")
    if parent_run_id is not None:
        try:
            parent = get_run(engine, parent_run_id)
        except RunNotFound:
            raise RunError(f"parent run {parent_run_id} does not exist") from None
        if parent["dataset"] != dataset:
            raise RunError(f"a run continues its parent on the same dataset ({parent['dataset']!r})")
    run_id = new_run_id()
    folder = storage.run_dir(run_id)
    stamp = db.now()
    row = {
        "id": run_id,
        "dataset": dataset,
        "dataset_hash": dataset_hash,
        "kind": kind,
        "status": "created",
        "config": _jsonable(config, MAX_RUN_CONFIG_BYTES, "config"),
        "info": _jsonable(info, MAX_RUN_CONFIG_BYTES, "info"),
        "summary": None,
        "epochs_done": 0,
        "latest_snapshot": None,
        "created_at": stamp,
        "updated_at": stamp,
        "parent_run_id": parent_run_id,
    }
    with full_disk("the run was not created"):
        folder.mkdir(parents=True)
    try:
        with db.full_disk("the run was not created"), engine.begin() as conn:
            conn.execute(db.runs.insert().values(**row))
    except BaseException:
        folder.rmdir()
        raise
    return row


def get_run(engine: Engine, run_id: str) -> dict:
    with engine.connect() as conn:
        row = conn.execute(select(db.runs).where(db.runs.c.id == run_id)).mappings().first()
    if row is None:
        raise RunNotFound(run_id)
    return dict(row)


def child_run_ids(engine: Engine, run_id: str) -> list[str]:
    """The runs started from this one ("train more"), oldest first."""
    query = select(db.runs.c.id).where(db.runs.c.parent_run_id == run_id).order_by(db.runs.c.created_at)
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def list_runs(engine: Engine, dataset: str | None = None) -> list[dict]:
    query = select(db.runs).order_by(db.runs.c.created_at.desc())
    if dataset:
        query = query.where(db.runs.c.dataset == dataset)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def update_run(
    engine: Engine, run_id: str, *, status: str | None = None, summary: dict | None = None, info: dict | None = None
) -> dict:
    run = get_run(engine, run_id)
    if run["status"] == "finished":
        # A retried final PATCH (its answer was lost) changes nothing and is answered as the first one was.
        unchanged = (
            status in (None, "finished")
            and summary in (None, run["summary"])
            and (info is None or {**run["info"], **info} == run["info"])
        )
        if unchanged:
            return run
        raise RunFinished(run_id)
    values = {"updated_at": db.now()}
    if status is not None:
        if status not in RUN_STATUSES:
            raise RunError(f"status must be one of {', '.join(RUN_STATUSES)}")
        values["status"] = status
    if summary is not None:
        values["summary"] = _jsonable(summary, MAX_RUN_CONFIG_BYTES, "summary")
    if info is not None:
        values["info"] = _jsonable({**run["info"], **info}, MAX_RUN_CONFIG_BYTES, "info")
    with db.full_disk("the run was not updated"), engine.begin() as conn:
        conn.execute(update(db.runs).where(db.runs.c.id == run_id).values(**values))
    return get_run(engine, run_id)


def append_epoch(engine: Engine, storage: Storage, run_id: str, record: dict) -> None:
    """Append one epoch record as one whole line; the run's epoch count only ever grows.
    On a full disk (the log's or the database's): DiskFull, and neither the line nor the count changes."""
    check_unfinished(get_run(engine, run_id))
    epoch = record.get("epoch")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or not 0 <= epoch <= MAX_EPOCH:
        raise RunError(f"an epoch record needs an integer 'epoch' from 0 to {MAX_EPOCH:,}")
    try:
        line = json.dumps(record, separators=(",", ":"), allow_nan=False)
    except ValueError:
        raise RunError("an epoch record may not hold NaN or Infinity (send null instead)") from None
    if len(line) > MAX_EPOCH_RECORD_BYTES:
        raise RunError(f"an epoch record may be at most {MAX_EPOCH_RECORD_BYTES:,} bytes")
    not_recorded = f"epoch {epoch} was not recorded"

    def count_it() -> None:
        with db.full_disk(not_recorded), engine.begin() as conn:
            conn.execute(
                update(db.runs)
                .where(db.runs.c.id == run_id)
                .values(epochs_done=db.at_least(db.runs.c.epochs_done, epoch + 1), updated_at=db.now())
            )

    log = storage.run_dir(run_id) / EPOCH_LOG

    def publish_and_count() -> None:
        storage.publish(log)  # the whole log, so the next server to append or read starts from it
        count_it()

    # The count runs under the log's lock: if the database cannot take it (its disk is full), the line is cut back
    # off, so the log and the count never disagree and the page's retry is not recorded twice.
    if storage.store.local:
        with full_disk(not_recorded):
            append_line(log, line, then=count_it)
        return
    # A shared store holds the log: the run's folder lock keeps this server's appends one at a time while the log is
    # fetched (another server may have appended last), appended to and published back whole.
    with full_disk(not_recorded), locked(log.parent):
        storage.fetch(log, refresh=True)
        append_line(log, line, then=publish_and_count)


def read_epochs(storage: Storage, run_id: str) -> list[dict]:
    """One record per epoch, in epoch order. A resumed run trains again from its last snapshot and posts those epochs
    anew: the later record of an epoch replaces the earlier (the log itself stays append-only)."""
    path = storage.run_dir(run_id) / EPOCH_LOG
    if storage.store.local:
        if not path.exists():
            return []
        text = path.read_text()
    else:
        with locked(path.parent):  # the fetch replaces the file: never under an append of this server's
            if not storage.fetch(path, refresh=True):  # other servers may have appended since
                return []
            text = path.read_text()
    latest = {}
    for line in text.splitlines():
        if line.strip():
            record = json.loads(line)
            latest[record["epoch"]] = record
    return [latest[epoch] for epoch in sorted(latest)]
