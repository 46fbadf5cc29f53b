"""What the runs and datasets routes answer, as pydantic models: /docs shows each response's fields, and FastAPI
checks every answer against them. Free-form parts (a run's config, an epoch's metrics) stay open dictionaries."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RunKind = Literal["train", "sanity"]
DatasetTask = Literal["classification", "detection", "landmarks"]
RunStatus = Literal["created", "running", "finished", "stopped", "failed"]


class Run(BaseModel):
    """One run's record."""

    id: str = Field(description="twelve hex digits")
    dataset: str
    dataset_hash: str = Field(description="the dataset version it trains on")
    kind: RunKind = Field(description="train, or sanity: an overfit check on a few items")
    status: RunStatus
    config: dict[str, Any] = Field(description="the training settings the page chose")
    info: dict[str, Any] = Field(description="backend, user agent, GPU renderer, split seed")
    summary: dict[str, Any] | None = Field(description="final loss and accuracy, once the run ends")
    epochs_done: int
    latest_snapshot: int | None = Field(description="the newest snapshot's number, or null before the first")
    created_at: str
    updated_at: str
    parent_run_id: str | None = Field(description="the run this one continues (train more), if any")


class Snapshot(BaseModel):
    """A stored model: its number, where it was taken (after `epoch` epochs, plus `step` steps of the next one when
    taken mid-epoch) and its weights' size and SHA-256."""

    model_config = ConfigDict(extra="allow")
    seq: int
    epoch: int | None = None
    step: int | None = Field(None, description="taken mid-epoch: steps of epoch `epoch` (0-based) done; else absent")
    created_at: str | None = None
    weight_bytes: int | None = None
    sha256: str | None = None


class RunDetail(Run):
    """A run with its epoch log (one record per epoch, as the page sent it), its snapshots and its continuations."""

    epochs: list[dict[str, Any]]
    snapshots: list[Snapshot]
    child_run_ids: list[str] = Field(description="runs started from this one, oldest first")


class RunList(BaseModel):
    runs: list[Run] = Field(description="newest first")


class SnapshotList(BaseModel):
    snapshots: list[Snapshot]


class Recorded(BaseModel):
    ok: bool


class DatasetSummary(BaseModel):
    name: str
    task: DatasetTask = Field(description="what the labels are: a class, boxes, or named points per image")
    hash: str = Field(description="changes whenever an item, label or annotation changes")
    classes: list[str] = Field(description="class names (detection: the boxes' labels; landmarks: none)")
    num_items: int
    total_bytes: int


class DatasetListing(DatasetSummary):
    created_at: str


class DatasetList(BaseModel):
    datasets: list[DatasetListing]


def multipart_form_body(properties: dict, required: list[str] | None = None) -> dict:
    """The `openapi_extra` of a route that parses its multipart form itself (security.multipart_form), so that /docs
    still shows the form's parts. `properties` maps each part's name to its JSON schema."""
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return {"requestBody": {"content": {"multipart/form-data": {"schema": schema}}}}
