"""HTTP for runs: create, read, update, the epoch log, snapshots posted by tfjs, and the latest model."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from .. import json_depth
from ..datasets.importer import load_manifest
from ..limits import MAX_EPOCH, MAX_MULTIPART_FIELDS, MAX_MULTIPART_FILES, MAX_STEP
from ..queue import attempts
from ..runs import service, snapshots
from ..runs.train_config import settings_of
from ..security import multipart_form
from .deps import EngineDep, RunId, StorageDep
from .models import Recorded, Run, RunDetail, RunList, SnapshotList, multipart_form_body


def _finite(value):
    """JSON has no NaN or Infinity: such floats become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


class _RunRoute(APIRoute):
    """A 422 echoes the request's values; a body holding Infinity (Python's json accepts it) made that echo
    unserialisable, a 500. Bodies with floats only reach the runs routes, hence this route class. It also refuses
    bodies nested past MAX_JSON_DEPTH before pydantic walks them: one 900 levels deep parsed, was stored, and then
    every read of the run was a 500 (RecursionError)."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def answer(request: Request):
            # Multipart (a snapshot) streams past this, unread; a JSON body is cached on the request for the handler.
            body = b"" if request.headers.get("content-type", "").startswith("multipart/") else await request.body()
            if body:
                try:
                    json_depth.loads(body, "the request body")
                except json_depth.TooDeep as exc:
                    return JSONResponse({"detail": str(exc)}, status_code=400)
                except ValueError:
                    pass  # not JSON: FastAPI's own parser says so
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return JSONResponse({"detail": _finite(jsonable_encoder(exc.errors()))}, status_code=422)

        return answer


router = APIRouter(prefix="/api/runs", tags=["runs"], route_class=_RunRoute)


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dataset: str
    dataset_hash: str | None = None
    kind: Literal["train", "sanity"] = "train"
    config: dict[str, Any] = Field(default_factory=dict)
    info: dict[str, Any] = Field(default_factory=dict, description="backend, user agent, GPU renderer, split seed")
    parent_run_id: str | None = Field(None, description="the run this one continues from its last snapshot")


class RunUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["running", "finished", "stopped", "failed"] | None = None
    summary: dict[str, Any] | None = None
    info: dict[str, Any] | None = None


class EpochRecord(BaseModel):
    model_config = ConfigDict(extra="allow")
    epoch: int = Field(ge=0, le=MAX_EPOCH)


def _current_job(
    engine: EngineDep,
    run_id: RunId,
    x_browsertrain_attempt: Annotated[str | None, Header(max_length=128)] = None,
) -> dict | None:
    """A job's run takes writes only from its current attempt (docs/queue.md): checked before any body is read, so a
    stale worker's write changes nothing. None for a run that is not a job."""
    return attempts.check_attempt(engine, run_id, x_browsertrain_attempt)


CurrentJob = Annotated[dict | None, Depends(_current_job)]


def _full(storage: StorageDep, engine: EngineDep, run: dict) -> dict:
    run_id = run["id"]
    return {
        **run,
        "epochs": service.read_epochs(storage, run_id),
        "snapshots": snapshots.list_snapshots(storage, run_id),
        "child_run_ids": service.child_run_ids(engine, run_id),
    }


@router.post("", status_code=201, response_model=Run)
def create_run(storage: StorageDep, engine: EngineDep, body: RunCreate) -> dict:
    manifest = load_manifest(storage, body.dataset)
    if body.dataset_hash and body.dataset_hash != manifest["hash"]:
        raise HTTPException(409, f"dataset {body.dataset!r} has changed (hash {manifest['hash']})")
    if body.parent_run_id is not None:
        storage.run_dir(body.parent_run_id)  # validates the id's form
    task, dataset_task = settings_of(body.config).task, manifest.get("task", "classification")
    if task != dataset_task:
        raise HTTPException(400, f"dataset {body.dataset!r} is a {dataset_task} set, but config.task is {task!r}")
    return service.create_run(
        engine,
        storage,
        dataset=body.dataset,
        dataset_hash=manifest["hash"],
        kind=body.kind,
        config=body.config,
        info=body.info,
        parent_run_id=body.parent_run_id,
    )


@router.get("", response_model=RunList)
def get_runs(engine: EngineDep, dataset: str | None = None) -> dict:
    return {"runs": service.list_runs(engine, dataset)}


@router.get("/{run_id}", response_model=RunDetail)
def get_run(storage: StorageDep, engine: EngineDep, run_id: RunId) -> dict:
    return _full(storage, engine, service.get_run(engine, run_id))


@router.patch("/{run_id}", response_model=Run)
def patch_run(engine: EngineDep, run_id: RunId, _job: CurrentJob, body: RunUpdate) -> dict:
    return service.update_run(engine, run_id, status=body.status, summary=body.summary, info=body.info)


@router.post("/{run_id}/epochs", status_code=201, response_model=Recorded)
def post_epoch(storage: StorageDep, engine: EngineDep, run_id: RunId, job: CurrentJob, body: EpochRecord) -> dict:
    record = body.model_dump()
    service.append_epoch(engine, storage, run_id, record)
    attempts.epoch_recorded(engine, job, record)
    return {"ok": True}


@router.post(
    "/{run_id}/snapshots",
    status_code=201,
    openapi_extra=multipart_form_body(
        {
            "model.json": {"type": "string", "format": "binary"},
            "model.weights.bin": {"type": "string", "format": "binary"},
        }
    ),
)
async def post_snapshot(
    request: Request,
    storage: StorageDep,
    engine: EngineDep,
    run_id: RunId,
    _job: CurrentJob,
    epoch: int | None = Query(None, ge=0, le=MAX_EPOCH, description="epochs done when it was taken"),
    step: int | None = Query(
        None, ge=1, le=MAX_STEP, description="taken mid-epoch: steps of the next epoch done (a resume trains the rest)"
    ),
) -> dict:
    """Accepts exactly what `model.save(tf.io.http(url))` sends: parts `model.json` and `model.weights.bin`."""
    if step is not None and epoch is None:
        raise HTTPException(400, "a snapshot taken mid-epoch names its epoch too (epoch=...&step=...)")
    async with multipart_form(request, max_files=MAX_MULTIPART_FILES, max_fields=MAX_MULTIPART_FIELDS) as form:
        parts = {}
        for key in (snapshots.MODEL_FILE, snapshots.WEIGHTS_FILE):
            part = form.get(key)
            if not isinstance(part, UploadFile):
                raise HTTPException(400, f"the form needs a '{key}' file part")
            parts[key] = await part.read()
    return await run_in_threadpool(
        snapshots.save_snapshot,
        engine,
        storage,
        run_id,
        parts[snapshots.MODEL_FILE],
        parts[snapshots.WEIGHTS_FILE],
        epoch,
        step,
    )


@router.get("/{run_id}/snapshots", response_model=SnapshotList)
def get_snapshots(storage: StorageDep, engine: EngineDep, run_id: RunId) -> dict:
    service.get_run(engine, run_id)
    return {"snapshots": snapshots.list_snapshots(storage, run_id)}


@router.get("/{run_id}/model.json")
def latest_model(storage: StorageDep, run_id: RunId) -> dict:
    """The latest snapshot, loadable as-is with tf.loadLayersModel(url); its weights path is pinned to it."""
    seq = snapshots.latest_seq(storage, run_id)
    if seq is None:
        raise HTTPException(404, "this run has no snapshot yet")
    return snapshots.model_json_for(storage, run_id, seq, f"snapshots/{seq}/")


@router.get("/{run_id}/snapshots/{seq}/model.json")
def snapshot_model(storage: StorageDep, run_id: RunId, seq: int) -> dict:
    return snapshots.model_json_for(storage, run_id, seq, "")


@router.get("/{run_id}/snapshots/{seq}/model.weights.bin")
def snapshot_weights(storage: StorageDep, run_id: RunId, seq: int) -> FileResponse:
    folder = snapshots.snapshot_dir(storage, run_id, seq)
    return FileResponse(
        folder / snapshots.WEIGHTS_FILE,
        media_type="application/octet-stream",
        headers={"Cache-Control": "private, max-age=31536000, immutable"},
    )
