"""Checks a command makes before it starts a server or a browser: the browser, the dataset, the run, the images.

Each check answers in well under a second, so a mistyped argument costs nothing: it reads the data folder, or asks
the --server's API when one is given.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
API_TIMEOUT_SECONDS = 10
TOKEN_HEADER = "X-Browsertrain-Token"


class UsageError(ValueError):
    """An argument that cannot work; the command exits with status 2 before it starts anything."""


class ServerUnreachable(RuntimeError):
    pass


def find_chromium(explicit: str | None = None) -> str:
    """The browser to drive: --chromium, else $BROWSERTRAIN_CHROMIUM, else one on PATH. A named one must exist."""
    for source, path in (("--chromium", explicit), ("BROWSERTRAIN_CHROMIUM", os.environ.get("BROWSERTRAIN_CHROMIUM"))):
        if path:
            if not os.path.isfile(path) or not os.access(path, os.X_OK):
                raise UsageError(f"{source} {path}: no such browser (give the path of a Chrome or Chromium executable)")
            return path
    for name in CHROMIUM_NAMES:
        if found := shutil.which(name):
            return found
    raise UsageError(
        "no Chromium found: install it (Debian: apt-get install chromium), "
        "or point --chromium / BROWSERTRAIN_CHROMIUM at Chrome or Chromium"
    )


def api_headers(server: str | None) -> dict:
    """The token header for a --server that asks for one ($BROWSERTRAIN_TOKEN); none for our own server."""
    token = os.environ.get("BROWSERTRAIN_TOKEN")
    return {TOKEN_HEADER: token} if token and server else {}


def api_get(server: str, path: str):
    """GET a JSON resource of a running server: (status, body)."""
    import httpx

    try:
        response = httpx.get(f"{server.rstrip('/')}{path}", headers=api_headers(server), timeout=API_TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        raise ServerUnreachable(f"the server at {server} did not answer: {exc}") from None
    if response.status_code in (401, 403):
        raise UsageError(f"the server at {server} refused us ({response.status_code}): set BROWSERTRAIN_TOKEN")
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, None


def dataset_tasks(server: str | None, data_dir) -> dict[str, str]:
    """name -> task of the datasets a train command can use: the server's, or the data folder's plus the sample a new
    server adds. A server that does not say a dataset's task predates the other tasks: classification."""
    if server:
        status, body = api_get(server, "/api/datasets")
        if status != 200:
            raise ServerUnreachable(f"the server at {server} could not list its datasets ({status})")
        return {d["name"]: d.get("task", "classification") for d in body["datasets"]}
    from .config import from_env
    from .datasets.importer import list_datasets
    from .datasets.sample import SAMPLE_NAME
    from .storage import open_storage

    settings = from_env(data_dir=data_dir)
    tasks = {d["name"]: d["task"] for d in list_datasets(open_storage(settings))}  # an S3 store's, if one is set
    if settings.create_sample:
        tasks.setdefault(SAMPLE_NAME, "classification")
    return tasks


def check_dataset(name: str, server: str | None, data_dir, task: str | None = None) -> None:
    """The dataset exists; a --task other than 'auto' is the dataset's own."""
    tasks = dataset_tasks(server, data_dir)
    if name not in tasks:
        where = f"the server at {server}" if server else "this data folder"
        raise UsageError(
            f"there is no dataset named {name!r} in {where} ({', '.join(sorted(tasks)) or 'none yet'}); "
            "see `browsertrain datasets list`"
        )
    if task not in (None, "auto") and task != tasks[name]:
        raise UsageError(f"dataset {name!r} is a {tasks[name]} set, not {task}: drop --task, or pick another dataset")


def fetch_run(run_id: str, server: str | None, data_dir) -> dict:
    """The run ({"id", "snapshots": [...]}, more from a server), or UsageError when there is none."""
    from .storage import UnsafePath, check_run_id

    try:
        check_run_id(run_id)
    except UnsafePath as exc:
        raise UsageError(str(exc)) from None
    if server:
        status, body = api_get(server, f"/api/runs/{run_id}")
        if status == 404:
            raise UsageError(f"there is no run {run_id} on the server at {server}")
        if status != 200:
            raise ServerUnreachable(f"the server at {server} could not read run {run_id} ({status})")
        return body
    from .config import from_env
    from .storage import SNAPSHOTS_DIR, Storage

    # The run's folder, made with its record, answers without loading the database layer (a second on a busy machine).
    settings = from_env(data_dir=data_dir)
    if settings.s3_url:  # runs made through other servers sharing the store have no folder here: ask the store
        return _stored_run(settings, run_id)
    folder = Storage(settings.data_dir).run_dir(run_id) if settings.data_dir.is_dir() else None
    if folder is None or not folder.is_dir():
        raise UsageError(f"there is no run {run_id} in this data folder; see `browsertrain runs list`")
    snapshots = folder / SNAPSHOTS_DIR
    kept = sorted(p.name for p in snapshots.iterdir() if not p.name.startswith(".")) if snapshots.is_dir() else []
    return {"id": run_id, "snapshots": kept}


def _stored_run(settings, run_id: str) -> dict:
    """fetch_run() with an S3 store: the run's record from the (shared) database, its snapshots from the store."""
    from . import db
    from .runs.service import RunNotFound, get_run
    from .storage import SNAPSHOTS_DIR, open_storage

    try:
        get_run(db.connect(settings.database_url), run_id)
    except RunNotFound:
        raise UsageError(f"there is no run {run_id} in this database; see `browsertrain runs list`") from None
    storage = open_storage(settings)
    return {"id": run_id, "snapshots": storage.folders(storage.run_dir(run_id) / SNAPSHOTS_DIR)}


def check_images(paths: list[str]) -> list[Path]:
    """Every image must be a readable file; returns them as absolute paths, in the order given."""
    resolved = []
    for given in paths:
        path = Path(given)
        if not path.is_file():
            raise UsageError(f"{given}: {'not a file' if path.exists() else 'no such file'}")
        if not os.access(path, os.R_OK):
            raise UsageError(f"{given}: not readable")
        resolved.append(path.resolve())
    return resolved
