"""The HTML pages: home, upload, dataset, train, run, export, compare, API docs. Data comes from the API; templates lay
out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ..storage import check_name, check_run_id
from .common import user_errors

router = APIRouter(include_in_schema=False)


def _page(request: Request, template: str, **context) -> HTMLResponse:
    return request.app.state.templates.TemplateResponse(request, template, context)


@router.get("/", response_class=HTMLResponse)
def home(request: Request):
    return _page(request, "home.html", page="home")


@router.get("/upload", response_class=HTMLResponse)
def upload(request: Request):
    return _page(request, "upload.html", page="upload")


@router.get("/datasets/{name}", response_class=HTMLResponse)
def dataset(request: Request, name: str):
    with user_errors():
        check_name(name, "dataset name")
    return _page(request, "dataset.html", page="dataset", dataset=name)


@router.get("/train", response_class=HTMLResponse)
def train(request: Request):
    return _page(request, "train.html", page="train")


@router.get("/compare", response_class=HTMLResponse)
def compare(request: Request):
    """Pick runs (?runs=id,id,...), overlay their curves and diff their configs; the ids are read by the page."""
    return _page(request, "compare.html", page="compare")


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run(request: Request, run_id: str):
    with user_errors():
        check_run_id(run_id)
    return _page(request, "run.html", page="run", run_id=run_id)


@router.get("/runs/{run_id}/export", response_class=HTMLResponse)
def export(request: Request, run_id: str):
    with user_errors():
        check_run_id(run_id)
    return _page(request, "export.html", page="export", run_id=run_id)


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request):
    """Swagger UI from the npm install (a CDN would break offline use and cross-origin isolation), started by a module
    rather than FastAPI's inline script, which the Content-Security-Policy would block."""
    return _page(request, "docs.html", page="docs", openapi_url=request.app.openapi_url)
