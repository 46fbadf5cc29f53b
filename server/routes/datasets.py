"""HTTP for datasets: list, upload (zip), manifest, one item, a bulk pack, delete."""

from __future__ import annotations

import aiofiles
from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from ..datasets import pack
from ..datasets.importer import delete_dataset, import_dataset, list_datasets, load_manifest
from ..limits import MAX_BULK_ITEMS, MAX_MULTIPART_FIELDS
from ..security import multipart_form
from ..storage import full_disk, inside
from .deps import DatasetName, StorageDep
from .models import DatasetList, DatasetSummary, multipart_form_body

router = APIRouter(prefix="/api/datasets", tags=["datasets"])
_COPY_CHUNK = 1024 * 1024


def _flag(value, field: str) -> bool:
    if value is None:
        return False
    if value in ("true", "false"):
        return value == "true"
    raise HTTPException(400, f"the form field '{field}' must be 'true' or 'false'")


@router.get("", response_model=DatasetList)
def get_datasets(storage: StorageDep) -> dict:
    return {"datasets": list_datasets(storage)}


@router.post(
    "",
    status_code=201,
    response_model=DatasetSummary,
    openapi_extra=multipart_form_body(
        {
            "file": {"type": "string", "format": "binary", "description": "a .zip"},
            "name": {"type": "string"},
            "replace": {
                "type": "string",
                "enum": ["true", "false"],
                "description": "'true' replaces a dataset of the same name (default: 409)",
            },
        },
        required=["file", "name"],
    ),
)
async def upload_dataset(request: Request, store: StorageDep) -> dict:
    """Import a zip: ImageFolder or images + labels.csv (classification); COCO JSON, Pascal VOC XML, YOLO txt with
    data.yaml or CreateML JSON (detection); COCO keypoints or a landmarks CSV (landmarks). The format is told from the
    files. All or nothing: a bad upload leaves no trace."""
    async with multipart_form(request, max_files=1, max_fields=MAX_MULTIPART_FIELDS) as form:
        upload, name = form.get("file"), form.get("name")
        if not isinstance(upload, UploadFile):
            raise HTTPException(400, "the form needs a 'file' part holding a .zip")
        if not isinstance(name, str) or not name:
            raise HTTPException(400, "the form needs a 'name' field")
        replace = _flag(form.get("replace"), "replace")
        with store.work_folder() as work:
            staged = work / "upload.zip"  # the client's filename is never used as a path
            with full_disk("nothing was imported"):
                async with aiofiles.open(staged, "wb") as out:
                    while chunk := await upload.read(_COPY_CHUNK):
                        await out.write(chunk)
            manifest = await run_in_threadpool(import_dataset, store, staged, name, replace=replace)
    return {key: manifest[key] for key in ("name", "task", "hash", "classes", "num_items", "total_bytes")}


@router.get("/{name}")
def get_manifest(storage: StorageDep, name: DatasetName) -> dict:
    """The manifest: task, classes (and point_names for landmarks), and every item with its label, or its boxes
    ({label, x, y, w, h} in pixels from the top-left), or its points ([x, y, visible] per point name)."""
    return load_manifest(storage, name)


def _item(manifest: dict, item_id: int) -> dict:
    if not 0 <= item_id < len(manifest["items"]):
        raise HTTPException(404, f"no item {item_id}")
    return manifest["items"][item_id]


@router.get("/{name}/items/{item_id}")
@router.head("/{name}/items/{item_id}", include_in_schema=False)  # one operation in /docs, not two with one id
def get_item(request: Request, storage: StorageDep, name: DatasetName, item_id: int):
    """One image's bytes with its real content type; revalidate with If-None-Match for a 304."""
    manifest = load_manifest(storage, name)
    item = _item(manifest, item_id)
    path = inside(storage.dataset_dir(name), item["file"])  # a symlinked item file is refused, not followed out
    storage.fetch(path)  # from the shared store, if this server has not got it yet
    etag = f'"{item["sha256"][:32]}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache", "X-Content-Type-Options": "nosniff"}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return FileResponse(path, media_type=item["content_type"], headers=headers)


@router.get(
    "/{name}/bulk",
    responses={
        200: {"content": {pack.MEDIA_TYPE: {}}, "description": "a pack; see server/datasets/pack.py for the layout"}
    },
)
def get_bulk(
    storage: StorageDep,
    name: DatasetName,
    start: int = Query(0, ge=0),
    count: int = Query(MAX_BULK_ITEMS, ge=1, le=MAX_BULK_ITEMS),
):
    """Many items in one streamed response: magic, header length, JSON header with offsets, then the bytes."""
    manifest = load_manifest(storage, name)
    folder = storage.dataset_dir(name)
    items = manifest["items"][start : start + count]
    # Checked (and fetched from a shared store) before the first byte goes out.
    storage.fetch_many([inside(folder, item["file"]) for item in items])
    header = pack.pack_header(manifest, items)  # built once: it sizes the response and starts it
    size = len(header) + sum(item["bytes"] for item in items)
    headers = {
        "Content-Length": str(size),
        "X-Dataset-Hash": manifest["hash"],
        "Cache-Control": "private, no-cache",
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(pack.stream_pack(folder, header, items), media_type=pack.MEDIA_TYPE, headers=headers)


@router.delete("/{name}", status_code=204)
def remove_dataset(storage: StorageDep, name: DatasetName) -> Response:
    delete_dataset(storage, name)
    return Response(status_code=204)
