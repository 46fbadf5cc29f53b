"""create_app(settings): wiring only — storage, database, guard middleware, routes, static files, pages."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from . import __version__, db
from .config import Settings
from .datasets.importer import DatasetExists
from .datasets.sample import ensure_sample
from .errors import StatusError
from .headers import SecurityHeadersMiddleware
from .queue.reaper import reaper_lifespan
from .routes import datasets, exports, pages, queue, runs, sweeps
from .routes.errors import error_answer
from .security import BodyTooLarge, GuardMiddleware
from .sessions import SessionStore
from .storage import Storage

log = logging.getLogger("browsertrain")

# What the pages load from the npm install, never from a CDN: URL folder under /vendor -> folder in node_modules.
VENDOR_FOLDERS = {
    "tfjs": "@tensorflow/tfjs/dist",
    "tfjs-backend-wasm": "@tensorflow/tfjs-backend-wasm/dist",
    "tfjs-backend-webgpu": "@tensorflow/tfjs-backend-webgpu/dist",
    "swagger-ui": "swagger-ui-dist",
    # Pretrained backbone weights (static/js/model/backbone.js): nsfwjs' MobileNetV2, face-api.js' face models.
    "nsfwjs-models": "nsfwjs/dist/models",
    "face-api-models": "@vladmandic/face-api/model",
}


class BrowsertrainApp(FastAPI):
    """FastAPI with the security headers as its outermost layer: outside the guard, whose own 421, 403, 401, 413 and
    303 answers need them too, and outside Starlette's ServerErrorMiddleware, so that even a 500 carries them."""

    def build_middleware_stack(self):
        return SecurityHeadersMiddleware(super().build_middleware_stack())


def create_app(settings: Settings) -> FastAPI:
    storage = Storage(settings.data_dir)
    storage.remove_abandoned_work()
    if settings.create_sample:
        try:
            ensure_sample(storage, settings.sample_dir)
        except DatasetExists:  # another process created it first
            pass
    app = BrowsertrainApp(
        title="browsertrain",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        description="Datasets for in-browser TensorFlow.js training, runs, snapshots and exports.",
        lifespan=reaper_lifespan,  # the queue's reaper runs while the app does
    )
    app.state.settings = settings
    app.state.storage = storage
    app.state.engine = db.connect(settings.database_url)
    app.state.templates = Jinja2Templates(directory=settings.templates_dir)
    app.state.templates.env.globals["version"] = __version__

    sessions = SessionStore(app.state.engine, settings.token) if settings.token else None
    app.add_middleware(GuardMiddleware, settings=settings, sessions=sessions)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(_request: Request, exc: BodyTooLarge):
        return JSONResponse({"detail": str(exc)}, status_code=413)

    # Unknown URLs and missing runs or datasets: a page with a way back for browsers, JSON for API clients.
    app.add_exception_handler(HTTPException, error_answer)

    @app.exception_handler(StatusError)
    async def _status_error(request: Request, exc: StatusError):
        """The one place the domain's errors become answers: each carries its status (server/errors.py)."""
        return await error_answer(request, HTTPException(exc.status, exc.detail))

    app.include_router(datasets.router)
    app.include_router(runs.router)
    app.include_router(exports.router)
    app.include_router(queue.router)
    app.include_router(sweeps.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=settings.static_dir), name="static")
    for url_folder, folder in VENDOR_FOLDERS.items():
        dist = settings.vendor_dir / folder
        if dist.is_dir():
            app.mount(f"/vendor/{url_folder}", StaticFiles(directory=dist), name=f"vendor-{url_folder}")
        else:
            log.warning("%s is missing: run `npm ci` so the pages can load it", dist)
    return app
