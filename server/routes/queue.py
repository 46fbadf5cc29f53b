"""HTTP for the queue (docs/queue.md): thin handlers over server/queue/service.py."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ..limits import (
    DEFAULT_MAX_ATTEMPTS,
    MAX_ATTEMPTS,
    MAX_EPOCH,
    MAX_JOB_PRIORITY,
    MAX_NAME_LENGTH,
    MAX_WORKER_NAME_CHARS,
)
from ..queue import service
from .deps import EngineDep, StorageDep
from .runs import _RunRoute

# Bodies hold floats: the runs' route class answers a 422 that echoes Infinity, and refuses JSON nested too deep.
router = APIRouter(prefix="/api/queue", tags=["queue"], route_class=_RunRoute)

Priority = Field(0, ge=-MAX_JOB_PRIORITY, le=MAX_JOB_PRIORITY, description="higher is claimed first")
SHORT_TEXT = 512  # a device's strings (renderer, user agent, a backend's name)


class JobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dataset: str = Field(max_length=MAX_NAME_LENGTH)
    config: dict[str, Any] = Field(default_factory=dict)
    priority: int = Priority
    max_attempts: int = Field(DEFAULT_MAX_ATTEMPTS, ge=1, le=MAX_ATTEMPTS)
    requirements: dict[str, Any] = Field(default_factory=dict, description="backend, min_images_per_second")


class JobUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    priority: int = Field(ge=-MAX_JOB_PRIORITY, le=MAX_JOB_PRIORITY)


class Device(BaseModel):
    model_config = ConfigDict(extra="forbid")
    backend: str | None = Field(None, max_length=SHORT_TEXT)
    backends: list[str] = Field(default_factory=list, max_length=16)
    gpu_renderer: str | None = Field(None, max_length=SHORT_TEXT)
    images_per_second: float | None = Field(None, ge=0, allow_inf_nan=False)
    user_agent: str | None = Field(None, max_length=SHORT_TEXT)


class WorkerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=MAX_WORKER_NAME_CHARS)
    device: Device = Field(default_factory=Device)


class Progress(BaseModel):
    model_config = ConfigDict(extra="forbid")
    epoch: int | None = Field(None, ge=0, le=MAX_EPOCH)
    epochs: int | None = Field(None, ge=0, le=MAX_EPOCH)
    images_per_second: float | None = Field(None, ge=0, allow_inf_nan=False)


class Heartbeat(BaseModel):
    model_config = ConfigDict(extra="forbid")
    job_id: str | None = Field(None, max_length=64)
    attempt_token: str | None = Field(None, max_length=128)
    progress: Progress | None = None


class Completion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    attempt_token: str = Field(max_length=128)
    status: Literal["finished", "failed", "stopped"]
    error: str | None = None  # cut to MAX_JOB_ERROR_CHARS


def _lease_seconds(request: Request) -> float:
    return request.app.state.settings.lease_seconds


@router.post("/jobs", status_code=201)
def create_job(storage: StorageDep, engine: EngineDep, body: JobCreate) -> dict:
    return service.enqueue(engine, storage, **body.model_dump())


@router.get("/jobs")
def get_jobs(engine: EngineDep, state: str | None = None) -> dict:
    return {"jobs": service.list_jobs(engine, state)}


@router.get("/jobs/{job_id}")
def get_job(engine: EngineDep, job_id: str) -> dict:
    return service.get_job(engine, job_id)


@router.patch("/jobs/{job_id}")
def patch_job(engine: EngineDep, job_id: str, body: JobUpdate) -> dict:
    return service.set_priority(engine, job_id, body.priority)


@router.post("/jobs/{job_id}/cancel")
def cancel_job(storage: StorageDep, engine: EngineDep, job_id: str) -> dict:
    return service.cancel(engine, storage, job_id)


@router.post("/jobs/{job_id}/complete")
def complete_job(engine: EngineDep, job_id: str, body: Completion) -> dict:
    return service.complete(engine, job_id, body.attempt_token, body.status, body.error)


@router.post("/workers", status_code=201)
def create_worker(request: Request, engine: EngineDep, body: WorkerCreate) -> dict:
    worker = service.register_worker(engine, body.name, body.device.model_dump())
    settings = request.app.state.settings
    return {
        "worker_id": worker["id"],
        "heartbeat_seconds": settings.heartbeat_seconds,
        "lease_seconds": settings.lease_seconds,
    }


@router.get("/workers")
def get_workers(request: Request, engine: EngineDep) -> dict:
    return {"workers": service.list_workers(engine, _lease_seconds(request))}


@router.post("/workers/{worker_id}/claim", response_model=None)
def claim_job(request: Request, engine: EngineDep, worker_id: str) -> dict | Response:
    job = service.claim(engine, worker_id, _lease_seconds(request))
    return Response(status_code=204) if job is None else {"job": job}


@router.post("/workers/{worker_id}/heartbeat")
def heartbeat(request: Request, engine: EngineDep, worker_id: str, body: Heartbeat) -> dict:
    progress = body.progress.model_dump() if body.progress else None
    return service.heartbeat(engine, worker_id, body.job_id, body.attempt_token, progress, _lease_seconds(request))
