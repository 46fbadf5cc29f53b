"""The HTML pages: home, upload, dataset, train, run, export, compare, API docs. Data comes from the API; templates lay
out. Each page is one row of PAGES: its path, its template, and what it needs to know before it can be shown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from ..datasets.importer import load_manifest
from ..errors import NotFound
from ..runs.service import RunNotFound, get_run
from ..storage import UnsafePath, check_name, check_run_id
from .deps import EngineDep, StorageDep

router = APIRouter(include_in_schema=False)


def _nothing() -> dict:
    """The page reads everything it shows from the API."""
    return {}


def _existing_dataset(storage: StorageDep, name: str) -> dict:
    """A missing dataset is a 404 page, not an empty grid; an unsafe name (.., NUL, backslash) is a 400 as on every
    route."""
    check_name(name, "dataset name")
    try:
        load_manifest(storage, name)
    except NotFound:
        raise HTTPException(404, f"There is no dataset named '{name}' on this server.") from None
    return {"dataset": name}


def _existing_run(engine: EngineDep, run_id: str) -> dict:
    """A missing run is a 404 page, not a page with live Resume and Export buttons.

    An unsafe segment is refused (400) as on every route; a plain word such as 'nope' is simply no run (404).
    """
    check_name(run_id, "run id")
    try:
        check_run_id(run_id)
        get_run(engine, run_id)
    except (UnsafePath, RunNotFound):
        raise HTTPException(404, f"There is no run '{run_id}' on this server.") from None
    return {"run_id": run_id}


def _openapi_url(request: Request) -> dict:
    """Swagger UI from the npm install (a CDN would break offline use and cross-origin isolation), started by a module
    rather than FastAPI's inline script, which the Content-Security-Policy would block."""
    return {"openapi_url": request.app.openapi_url}


def _sweep_id(sweep_id: str) -> dict:
    """The page reads the sweep from the API (a missing one says so there)."""
    check_name(sweep_id, "sweep id")
    return {"sweep_id": sweep_id}


@dataclass(frozen=True)
class Page:
    path: str
    name: str  # templates/NAME.html, and the page's `data-page` (which the nav marks as current)
    context: Callable[..., dict] = _nothing  # a FastAPI dependency: the template's variables, or the 4xx page


PAGES = (
    Page("/", "home"),
    Page("/upload", "upload"),
    Page("/datasets/{name}", "dataset", _existing_dataset),
    Page("/train", "train"),
    # Pick runs (?runs=id,id,...), overlay their curves and diff their configs; the ids are read by the page.
    Page("/compare", "compare"),
    Page("/runs/{run_id}", "run", _existing_run),
    Page("/runs/{run_id}/export", "export", _existing_run),
    Page("/docs", "docs", _openapi_url),
    # The job queue (docs/queue.md): a browser that opens /worker trains jobs; /queue watches them; a sweep's trials.
    Page("/worker", "worker"),
    Page("/queue", "queue"),
    Page("/sweeps/{sweep_id}", "sweep", _sweep_id),
)


def _handler(page: Page):
    # A default, not an Annotated hint: the hints are strings here (__future__ annotations), resolved in the module's
    # globals, where `page` is not.
    def show(request: Request, context: dict = Depends(page.context)) -> HTMLResponse:
        return request.app.state.templates.TemplateResponse(
            request, f"{page.name}.html", {"page": page.name, **context}
        )

    return show


for _page in PAGES:
    router.add_api_route(_page.path, _handler(_page), methods=["GET"], response_class=HTMLResponse, name=_page.name)
