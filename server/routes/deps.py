"""What routes take as parameters besides the request's own data: the app's storage and database, and path segments
already checked. A bad run id or dataset name is refused (400, UnsafePath) before the handler runs; whether the run or
dataset exists is the handler's business (404, NotFound)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine

from ..storage import Storage


def _storage(request: Request) -> Storage:
    return request.app.state.storage


def _engine(request: Request) -> Engine:
    return request.app.state.engine


StorageDep = Annotated[Storage, Depends(_storage)]
EngineDep = Annotated[Engine, Depends(_engine)]


def _run_id(run_id: str, storage: StorageDep) -> str:
    storage.run_dir(run_id)  # twelve hex digits, and a folder that stays inside the data folder
    return run_id


def _dataset_name(name: str, storage: StorageDep) -> str:
    storage.dataset_dir(name)  # a plain name, and a folder that stays inside the data folder
    return name


RunId = Annotated[str, Depends(_run_id)]
DatasetName = Annotated[str, Depends(_dataset_name)]
