"""One error answer per audience: an HTML page for a person's browser, JSON for API clients and scripts."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException
from starlette.responses import Response

# Paths that only programs read: they answer JSON whatever the Accept header says.
_MACHINE_PREFIXES = ("/api/", "/vendor/", "/static/", "/openapi.json")


def wants_html(request: Request) -> bool:
    """A browser navigating to a page: it accepts text/html before JSON, on a path that is not an API or a file."""
    path = request.url.path
    if path == "/api" or path.startswith(_MACHINE_PREFIXES):
        return False
    accept = request.headers.get("accept", "")
    html, json = accept.find("text/html"), accept.find("application/json")
    return html != -1 and (json == -1 or html < json)


async def error_answer(request: Request, exc: HTTPException) -> Response:
    if not wants_html(request):
        return await http_exception_handler(request, exc)
    try:
        title = HTTPStatus(exc.status_code).phrase
    except ValueError:
        title = "Error"
    detail = exc.detail if isinstance(exc.detail, str) else title
    response = request.app.state.templates.TemplateResponse(
        request,
        "error.html",
        {"page": "error", "status": exc.status_code, "title": title, "detail": detail},
        status_code=exc.status_code,
    )
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    return response
