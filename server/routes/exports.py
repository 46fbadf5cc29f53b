"""HTTP for exports: one format of a snapshot as a download, and what is built with its sizes and gate numbers."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from ..artifacts import exports, gate
from .deps import EngineDep, RunId, StorageDep

router = APIRouter(prefix="/api/runs", tags=["exports"])

FormatName = Literal["tfjs", "float16", "uint16", "uint8", "keras", "savedmodel", "tflite", "tflite-dynamic"]
_MEDIA_TYPES = {".zip": "application/zip", ".h5": "application/x-hdf5", ".tflite": "application/octet-stream"}
MaxDrop = Query(
    gate.DEFAULT_MAX_ACCURACY_DROP,
    ge=0,
    le=100,
    description="points of validation accuracy an export may lose before it needs confirm=true",
)


@router.get(
    "/{run_id}/export",
    response_class=FileResponse,
    responses={
        200: {
            "description": "the export: a zip of the model with labels.txt and metadata.json (or, with raw=true, the "
            "bare .h5 or .tflite file, which holds its labels inside)"
        },
        409: {"description": "the quality gate flagged this export; repeat with confirm=true to download it"},
        501: {"description": "the format needs the optional `export` extra; the message says how to install it"},
    },
)
async def download_export(
    storage: StorageDep,
    engine: EngineDep,
    run_id: RunId,
    format: FormatName = Query(...),
    seq: int | None = Query(None, ge=1, description="the snapshot (default: the latest)"),
    confirm: bool = False,
    max_accuracy_drop: float = MaxDrop,
    raw: bool = Query(
        False,
        description="keras, tflite, tflite-dynamic: the bare model file instead of the zip with labels.txt beside it",
    ),
) -> FileResponse:
    """One snapshot in one format, built on first request and cached; quantized exports pass the quality gate."""

    def run():
        sx = exports.open_snapshot(storage, engine, run_id, seq)
        return exports.export(sx, format, max_drop=max_accuracy_drop, confirm=confirm, raw=raw)

    path, filename, verdict = await run_in_threadpool(run)
    return FileResponse(
        path,
        media_type=_MEDIA_TYPES[path.suffix],
        filename=filename,
        headers={"X-Browsertrain-Gate": verdict["status"], "Cache-Control": "private, no-cache"},
    )


@router.get("/{run_id}/exports")
def export_summary(
    storage: StorageDep,
    engine: EngineDep,
    run_id: RunId,
    seq: int | None = Query(None, ge=1),
    max_accuracy_drop: float = MaxDrop,
) -> dict:
    """What is built for the snapshot: sizes per format, the gate's numbers and verdicts; builds nothing."""
    return exports.summary(exports.open_snapshot(storage, engine, run_id, seq), max_accuracy_drop)


@router.post("/{run_id}/exports")
async def build_exports(
    storage: StorageDep,
    engine: EngineDep,
    run_id: RunId,
    group: Literal["tfjs", "tf"] = "tfjs",
    seq: int | None = Query(None, ge=1),
    max_accuracy_drop: float = MaxDrop,
) -> dict:
    """Build a group of formats and its gate numbers: 'tfjs' (float32 + quantized, milliseconds plus the gate) or
    'tf' (Keras, SavedModel, TFLite through TensorFlow in a subprocess: seconds; needs the `export` extra)."""

    def run():
        sx = exports.open_snapshot(storage, engine, run_id, seq)
        reason = exports.build(sx, group)
        return {**exports.summary(sx, max_accuracy_drop), "gate_unavailable": reason}

    return await run_in_threadpool(run)
