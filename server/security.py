"""Who may talk to the server and how much they may send: Host/Origin checks, the token, body caps."""

from __future__ import annotations

import errno
import hmac
import html
import json
import logging
import re
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import Enum
from http import HTTPStatus
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

import anyio
from starlette.exceptions import HTTPException

from .config import Settings
from .limits import MAX_JSON_BODY_BYTES, MAX_SNAPSHOT_BYTES, MAX_UPLOAD_BYTES, SESSION_LIFETIME_SECONDS
from .sessions import SessionStore, cookie_name

TOKEN_HEADER = "x-browsertrain-token"
_STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
_SNAPSHOT_PATH = re.compile(r"^/api/runs/[^/]+/snapshots/?$")


def body_cap(method: str, path: str) -> int:
    """The most bytes a request to this route may send."""
    if method == "POST" and path.rstrip("/") == "/api/datasets":
        return MAX_UPLOAD_BYTES
    if method == "POST" and _SNAPSHOT_PATH.match(path):
        return MAX_SNAPSHOT_BYTES
    return MAX_JSON_BODY_BYTES


class BodyTooLarge(Exception):
    def __init__(self, cap: int):
        super().__init__(f"request body is larger than the {cap:,}-byte limit for this route")
        self.cap = cap


@dataclass(frozen=True)
class Refusal:
    """The guard's answer in place of the app's: a status and the detail the client reads."""

    status: int
    detail: str


TOKEN_REQUIRED = Refusal(401, "a token is required: open the URL printed at start (it ends with ?token=...)")


async def _send_json(send, status: int, detail: str, headers: list | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# The guard answers before the app (and its templates) run: a person's browser gets this small page, not JSON.
_REFUSAL_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{status} {title} — browsertrain</title></head>
<body><h1 id="error-title"><span id="error-status">{status}</span> {title}</h1>
<p id="error-detail">{detail}</p><p><a id="error-home" href="/">Back to datasets &amp; runs</a></p></body></html>
"""


async def _refuse(scope, send, refusal: Refusal) -> None:
    """A refusal as JSON for programs, or as a page for a browser navigating to a page (routes/errors.py decides)."""
    from starlette.requests import Request

    from .routes.errors import wants_html

    status, detail = refusal.status, refusal.detail
    if not wants_html(Request(scope)):
        return await _send_json(send, status, detail)
    body = _REFUSAL_PAGE.format(
        status=status, title=html.escape(HTTPStatus(status).phrase), detail=html.escape(detail)
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _header(scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _host_only(netloc: str) -> str:
    """'[::1]:8000' -> '::1', 'localhost:8000' -> 'localhost'."""
    if netloc.startswith("["):
        return netloc[1:].split("]", 1)[0]
    return netloc.rsplit(":", 1)[0] if netloc.count(":") == 1 else netloc


# --- the checks, in the order the guard runs them ---------------------------------------------------------------------


def check_host(scope, allowed_hosts: frozenset[str]) -> Refusal | None:
    """DNS rebinding: a page on another site whose name now points here still sends its own name as Host."""
    if _host_only(_header(scope, b"host") or "").lower() not in allowed_hosts:
        return Refusal(421, "unknown Host header")
    return None


def check_origin(scope) -> Refusal | None:
    """CSRF: a write whose Origin is not this Host, or that the browser marks cross-site. A request with neither
    header (curl, the CLI, scripts) is no browser's, so no forgery."""
    if scope["method"] not in _STATE_CHANGING:
        return None
    origin = _header(scope, b"origin")
    if origin is not None and urlsplit(origin).netloc != (_header(scope, b"host") or ""):
        return Refusal(403, "cross-origin request refused")
    if _header(scope, b"sec-fetch-site") == "cross-site":
        return Refusal(403, "cross-site request refused")
    return None


def check_declared_length(scope, cap: int) -> Refusal | None:
    """A body whose Content-Length already says it is over the route's cap is refused before a byte is read."""
    declared = _header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        return Refusal(413, str(BodyTooLarge(cap)))
    return None


class TokenVerdict(Enum):
    PASS = "pass"  # the token (or a session it opened) came with the request
    LOGIN = "login"  # the right ?token=: open a session and redirect to the URL without it
    REFUSE = "refuse"  # no token, or a wrong one


class TokenCheck:
    """The token a server off loopback asks for: in the query (a one-time login URL), a header, or as the session
    that such a login opened (the cookie holds the session id, never the token)."""

    def __init__(self, token: str, sessions: SessionStore | None, cookie: str):
        self.expected = token.encode()
        self.sessions = sessions
        self.cookie = cookie

    async def verdict(self, scope) -> TokenVerdict:
        verdict = self._presented(scope)
        if verdict is TokenVerdict.REFUSE and self.sessions is not None:
            session_id = self._session_cookie(scope)
            if session_id is not None and await anyio.to_thread.run_sync(self.sessions.is_valid, session_id):
                return TokenVerdict.PASS
        return verdict

    def _presented(self, scope) -> TokenVerdict:
        """What the request itself carries: a ?token= decides alone; otherwise the header or `Authorization: token`."""
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if "token" in query:
            return (
                TokenVerdict.LOGIN
                if hmac.compare_digest(query["token"].encode(), self.expected)
                else TokenVerdict.REFUSE
            )
        candidates = [_header(scope, TOKEN_HEADER.encode())]
        auth = _header(scope, b"authorization")
        if auth and auth.lower().startswith("token "):
            candidates.append(auth[6:])
        if any(c is not None and hmac.compare_digest(c.encode(), self.expected) for c in candidates):
            return TokenVerdict.PASS
        return TokenVerdict.REFUSE

    def _session_cookie(self, scope) -> str | None:
        """The session id in this server's cookie."""
        for part in (_header(scope, b"cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == self.cookie:
                return value
        return None

    async def login(self, scope, send) -> None:
        """A one-time ?token= URL opens a session, sets its id as this port's cookie and redirects to the same URL
        without the token."""
        query = [(k, v) for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1")) if k != "token"]
        # The path as sent, kept on this site: browsers read two leading slashes (or a slash and a backslash) as
        # another host, and the decoded path could hold CR/LF. Anything not plain visible ASCII is percent-encoded.
        path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        path = "/" + path.lstrip("/\\")
        path = re.sub(r"[^\x21-\x7e]|\\", lambda m: f"%{ord(m.group()):02X}", path)
        location = path + ("?" + urlencode(query) if query else "")
        session_id = await anyio.to_thread.run_sync(self.sessions.open)
        cookie = f"{self.cookie}={session_id}; Path=/; Max-Age={SESSION_LIFETIME_SECONDS}; HttpOnly; SameSite=Strict"
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [
                    (b"location", location.encode()),
                    (b"set-cookie", cookie.encode()),
                    (b"content-length", b"0"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})


class CappedBody:
    """One request's body, counted as the app reads it. Past the cap the guard answers 413 itself and tells the app
    the client left: raising from receive() instead would reach the app wrapped (FastAPI turns it into a 400,
    Starlette's middleware into an ExceptionGroup/500)."""

    def __init__(self, receive, send, cap: int):
        self._receive = receive
        self._send = send
        self.cap = cap
        self.received = 0
        self.answered = False  # the 413 went out: the app's own answer is dropped
        self.started = False  # the app has begun its response: too late for a 413
        self.gone = False  # the client hung up mid-body: nobody is left to answer

    @property
    def moot(self) -> bool:
        """Whatever the app makes of the request now (an error included) reaches nobody."""
        return self.answered or self.gone

    async def receive(self):
        if self.answered:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.disconnect":
            self.gone = True
        elif message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.cap:
                if not self.started:
                    self.answered = True
                    await _send_json(self._send, 413, str(BodyTooLarge(self.cap)))
                return {"type": "http.disconnect"}
        return message

    async def send(self, message) -> None:
        if self.answered:
            return
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


class GuardMiddleware:
    """Refuses foreign Host headers (DNS rebinding), cross-origin writes (CSRF), missing tokens and big bodies.

    The outermost layer: every check runs before the app (and its routing, templates and body parsing) sees the
    request, and each is a function or object above, so that it can be read and tested on its own."""

    def __init__(self, app, settings: Settings, sessions: SessionStore | None = None):
        self.app = app
        self.settings = settings
        self.token = (
            TokenCheck(settings.token, sessions, cookie_name(settings.port)) if settings.token is not None else None
        )

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        refusal = check_host(scope, self.settings.allowed_hosts) or check_origin(scope)
        if refusal is not None:
            return await _refuse(scope, send, refusal)
        if self.token is not None:
            verdict = await self.token.verdict(scope)
            if verdict is TokenVerdict.LOGIN:
                return await self.token.login(scope, send)
            if verdict is TokenVerdict.REFUSE:
                return await _refuse(scope, send, TOKEN_REQUIRED)
        cap = body_cap(scope["method"], scope["path"])
        if (refusal := check_declared_length(scope, cap)) is not None:
            return await _send_json(send, refusal.status, refusal.detail)
        body = CappedBody(receive, send, cap)
        try:
            await self.app(scope, body.receive, body.send)
        except Exception:
            # After the 413, or once the client is gone, whatever the app made of the disconnect is moot (and no
            # server error worth a traceback in the log).
            if not body.moot:
                raise


@asynccontextmanager
async def multipart_form(request, *, max_files: int, max_fields: int):
    """request.form() with the parser's reason spelled out: Starlette says only 'Invalid multipart data.'."""
    try:
        form = await request.form(max_files=max_files, max_fields=max_fields)
    except HTTPException as exc:
        reason = exc.__context__.__cause__ if exc.__context__ is not None else None
        if reason is None:
            raise
        raise HTTPException(400, f"malformed multipart form: {reason}") from None
    except OSError as exc:
        # Starlette spools parts over 1 MB to the system temp folder (TMPDIR); its parser closes, and so deletes,
        # what it had spooled before re-raising.
        if exc.errno != errno.ENOSPC:
            raise
        raise HTTPException(507, "the server's temporary folder is full; nothing was stored") from None
    try:
        yield form
    finally:
        await form.close()


class RedactTokenFilter(logging.Filter):
    """Keeps the token out of access logs (uvicorn logs the query string of every request)."""

    # Any query parameter whose name decodes to "token" in any case ('Token=', '%74oken='): the guard ignores those
    # spellings, but a person who typed one still put the real token in the URL.
    _pair = re.compile(r"(?<=[?&;])([^=&;\s\"]+)=([^&;\s\"]*)")
    _plain = re.compile(r"(token=)[^&;\s\"]+", re.IGNORECASE)

    @classmethod
    def redact(cls, text: str) -> str:
        text = cls._pair.sub(
            lambda m: f"{m.group(1)}=[redacted]" if unquote_plus(m.group(1)).lower() == "token" else m.group(0), text
        )
        return cls._plain.sub(r"\1[redacted]", text)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(self.redact(a) if isinstance(a, str) else a for a in record.args)
        record.msg = self.redact(str(record.msg))
        return True


def install_log_redaction() -> None:
    for name in ("uvicorn.access", "uvicorn.error", "uvicorn"):
        logging.getLogger(name).addFilter(RedactTokenFilter())
