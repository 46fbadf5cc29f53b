"""HTTP for the sweeps (docs/queue.md, Sweeps): create one, list them, one with its trials and the best."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ..storage import check_name
from ..sweeps import service
from .deps import EngineDep, StorageDep

router = APIRouter(prefix="/api/sweeps", tags=["sweeps"])


class SweepCreate(BaseModel):
    """Values are checked by the sweep service, which answers 400 with what is wrong (nothing is written)."""

    model_config = ConfigDict(extra="forbid")
    dataset: str
    config: Any = Field(default_factory=dict, description="the run config every trial starts from")
    grid: Any = Field(None, description="{key: [values]}: every combination is a trial")
    random: Any = Field(None, description="{key: {low, high, log?}}: sampled per trial")
    choice: Any = Field(None, description="{key: [values]}: one of them per trial")
    trials: Any = Field(None, description="how many trials (random, tpe; a grid trains every combination)")
    sampler: Any = Field(None, description="grid | random | tpe (default: grid, random when a range is given)")
    pruner: Any = "median"
    metric: Any = "val_accuracy"
    parallel: Any = Field(service.DEFAULT_PARALLEL, description="tpe: trials queued or running at once")
    seed: Any = 0


@router.post("", status_code=201)
def create_sweep(storage: StorageDep, engine: EngineDep, body: SweepCreate) -> dict:
    check_name(body.dataset, "dataset name")
    return service.create_sweep(engine, storage, **body.model_dump())


@router.get("")
def list_sweeps(engine: EngineDep) -> dict:
    return {"sweeps": service.list_sweeps(engine)}


@router.get("/{sweep_id}")
def get_sweep(engine: EngineDep, sweep_id: str) -> dict:
    check_name(sweep_id, "sweep id")
    return service.get_sweep(engine, sweep_id)
