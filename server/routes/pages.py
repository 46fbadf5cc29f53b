"""The HTML pages: home, upload, dataset, train, run, export, compare, API docs. Data comes from the API; templates lay
out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from ..datasets.importer import load_manifest
from ..errors import NotFound
from ..runs.service import RunNotFound, get_run
from ..storage import UnsafePath, check_name, check_run_id
from .deps import EngineDep, StorageDep

router = APIRouter(include_in_schema=False)


def _page(request: Request, template: str, **context) -> HTMLResponse:
    return request.app.state.templates.TemplateResponse(request, template, context)


def _existing_run(engine: EngineDep, run_id: str) -> str:
    """A missing run is a 404 page, not a page with live Resume and Export buttons.

    An unsafe segment is refused (400) as on every route; a plain word such as 'nope' is simply no run (404).
    """
    check_name(run_id, "run id")
    try:
        check_run_id(run_id)
        get_run(engine, run_id)
    except (UnsafePath, RunNotFound):
        raise HTTPException(404, f"There is no run '{run_id}' on this server.") from None
    return run_id


ExistingRun = Annotated[str, Depends(_existing_run)]


@router.get("/", response_class=HTMLResponse)
def home(request: Request):
    return _page(request, "home.html", page="home")


@router.get("/upload", response_class=HTMLResponse)
def upload(request: Request):
    return _page(request, "upload.html", page="upload")


@router.get("/datasets/{name}", response_class=HTMLResponse)
def dataset(request: Request, storage: StorageDep, name: str):
    check_name(name, "dataset name")  # an unsafe name (.., NUL, backslash) is refused as on every route: 400
    try:
        load_manifest(storage, name)
    except NotFound:  # a missing dataset is a 404 page, not an empty grid
        raise HTTPException(404, f"There is no dataset named '{name}' on this server.") from None
    return _page(request, "dataset.html", page="dataset", dataset=name)


@router.get("/train", response_class=HTMLResponse)
def train(request: Request):
    return _page(request, "train.html", page="train")


@router.get("/compare", response_class=HTMLResponse)
def compare(request: Request):
    """Pick runs (?runs=id,id,...), overlay their curves and diff their configs; the ids are read by the page."""
    return _page(request, "compare.html", page="compare")


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run(request: Request, run_id: ExistingRun):
    return _page(request, "run.html", page="run", run_id=run_id)


@router.get("/runs/{run_id}/export", response_class=HTMLResponse)
def export(request: Request, run_id: ExistingRun):
    return _page(request, "export.html", page="export", run_id=run_id)


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request):
    """Swagger UI from the npm install (a CDN would break offline use and cross-origin isolation), started by a module
    rather than FastAPI's inline script, which the Content-Security-Policy would block."""
    return _page(request, "docs.html", page="docs", openapi_url=request.app.openapi_url)
