"""create_app(settings): wiring only — storage, database, guard middleware, routes, static files, pages."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from . import __version__, db
from .config import Settings
from .datasets.importer import DatasetExists
from .datasets.sample import ensure_sample
from .routes import datasets, exports, pages, runs
from .security import BodyTooLarge, GuardMiddleware
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

# Every response: no content sniffing; cross-origin isolation so the wasm backend may use threads.
RESPONSE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
}


def create_app(settings: Settings) -> FastAPI:
    storage = Storage(settings.data_dir)
    storage.clear_staging()
    if settings.create_sample:
        try:
            ensure_sample(storage, settings.sample_dir)
        except DatasetExists:  # another process created it first
            pass
    app = FastAPI(title="browsertrain", version=__version__, docs_url=None, redoc_url=None,
                  description="Datasets for in-browser TensorFlow.js training, runs, snapshots and exports.")

    @app.get("/docs", include_in_schema=False)
    def _docs():
        # Swagger UI from the npm install: a CDN would break offline use and cross-origin isolation.
        return get_swagger_ui_html(openapi_url=app.openapi_url, title="browsertrain API",
                                   swagger_js_url="/vendor/swagger-ui/swagger-ui-bundle.js",
                                   swagger_css_url="/vendor/swagger-ui/swagger-ui.css",
                                   swagger_favicon_url="/vendor/swagger-ui/favicon-32x32.png")
    app.state.settings = settings
    app.state.storage = storage
    app.state.engine = db.connect(settings.database_url)
    app.state.templates = Jinja2Templates(directory=settings.templates_dir)
    app.state.templates.env.globals["version"] = __version__

    @app.middleware("http")
    async def _headers(request: Request, call_next):
        response = await call_next(request)
        for key, value in RESPONSE_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    app.add_middleware(GuardMiddleware, settings=settings)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(_request: Request, exc: BodyTooLarge):
        return JSONResponse({"detail": str(exc)}, status_code=413)

    app.include_router(datasets.router)
    app.include_router(runs.router)
    app.include_router(exports.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=settings.static_dir), name="static")
    for url_folder, folder in VENDOR_FOLDERS.items():
        dist = settings.vendor_dir / folder
        if dist.is_dir():
            app.mount(f"/vendor/{url_folder}", StaticFiles(directory=dist), name=f"vendor-{url_folder}")
        else:
            log.warning("%s is missing: run `npm ci` so the pages can load it", dist)
    return app
