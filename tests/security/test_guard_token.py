"""The token: without it every route is 401, with it (header, or a login from the URL) the server answers, and it
never reaches the log (tests/security/test_guard.py holds the Host and Origin rules)."""

from __future__ import annotations

import secrets
import time

import pytest
from support import (
    assert_unchanged,
    disk_state,
    log_text,
    raw_request,
    start_isolated,
)

pytestmark = pytest.mark.live_server  # raw request bytes, the access log


# --- the token -------------------------------------------------------------------------------------------------------

TOKEN = "t0k3n-" + secrets.token_urlsafe(24)


@pytest.fixture(scope="module")
def token_server(tmp_path_factory):
    """A loopback server with BROWSERTRAIN_TOKEN set (which turns the token check on) and its access log on."""
    live = start_isolated(tmp_path_factory.mktemp("token"), "--log-level", "info", env={"BROWSERTRAIN_TOKEN": TOKEN})
    yield live
    live.stop()


ROUTES_FOR_TOKEN = [
    "/",
    "/api/datasets",
    "/api/datasets/shapes/items/0",
    "/api/runs",
    "/static/css/app.css",
    "/docs",
    "/openapi.json",
    "/no-such-page",
]


def test_without_the_token_every_route_is_401(token_server):
    before = disk_state(token_server.data_dir)
    for path in ROUTES_FOR_TOKEN:
        response = raw_request(token_server.port, "GET", path)
        assert response.status == 401, path
        assert "token is required" in response.json()["detail"]
    deleted = raw_request(token_server.port, "DELETE", "/api/datasets/shapes")
    assert deleted.status == 401
    created = raw_request(
        token_server.port,
        "POST",
        "/api/runs",
        headers={"Content-Type": "application/json"},
        body=b'{"dataset": "shapes"}',
    )
    assert created.status == 401
    assert_unchanged(token_server.data_dir, before)


def test_the_token_header_is_accepted(token_server):
    for path in ROUTES_FOR_TOKEN[:-1]:
        response = raw_request(token_server.port, "GET", path, headers={"X-Browsertrain-Token": TOKEN})
        assert response.status == 200, path
    auth = raw_request(token_server.port, "GET", "/api/datasets", headers={"Authorization": f"Token {TOKEN}"})
    assert auth.status == 200
    created = raw_request(
        token_server.port,
        "POST",
        "/api/runs",
        body=b'{"dataset": "shapes"}',
        headers={"Content-Type": "application/json", "X-Browsertrain-Token": TOKEN},
    )
    assert created.status == 201


def test_token_in_the_url_redirects_and_sets_a_cookie(token_server):
    response = raw_request(token_server.port, "GET", f"/?token={TOKEN}")
    assert response.status == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"browsertrain_session_{token_server.port}=") and TOKEN not in cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    kept = raw_request(token_server.port, "GET", f"/api/datasets/shapes/bulk?start=3&token={TOKEN}&count=2")
    assert kept.status == 303
    assert kept.headers["location"] == "/api/datasets/shapes/bulk?start=3&count=2"
    assert TOKEN not in kept.headers["location"]
    with_cookie = raw_request(
        token_server.port, "GET", "/api/datasets", headers={"Cookie": f"other=1; {cookie.split(';')[0]}"}
    )
    assert with_cookie.status == 200 and "shapes" in with_cookie.body.decode()


def test_a_wrong_token_is_401(token_server):
    wrong = TOKEN[:-1] + ("x" if TOKEN[-1] != "x" else "y")
    for headers, path in (
        ({"X-Browsertrain-Token": wrong}, "/api/datasets"),
        ({"Cookie": f"browsertrain_token={wrong}"}, "/api/datasets"),
        ({"Authorization": f"Token {wrong}"}, "/api/datasets"),
        ({}, f"/api/datasets?token={wrong}"),
        ({}, "/api/datasets?token="),
        ({"X-Browsertrain-Token": TOKEN[:10]}, "/api/datasets"),
    ):
        response = raw_request(token_server.port, "GET", path, headers=headers)
        assert response.status == 401, headers or path
        assert "set-cookie" not in response.headers


def test_the_token_url_cannot_redirect_off_site(token_server):
    for target, bad in (
        (f"//evil.example/?token={TOKEN}", "//"),
        (f"/\\evil.example/?token={TOKEN}", "/\\"),
        (f"/%0d%0aSet-Cookie:%20owned=1?token={TOKEN}", "\r"),
    ):
        response = raw_request(token_server.port, "GET", target)
        assert response.status in (303, 400, 404), (target, response.status)
        location = response.headers.get("location", "/")
        assert location.startswith("/") and not location.startswith(bad) and "\r" not in location, location
        assert "owned" not in response.headers.get("set-cookie", ""), response.headers


def test_the_token_never_reaches_the_log(token_server):
    """The access log is on (--log-level info); a loopback bind with a preset token prints no login URL at start."""
    for target, headers in (
        (f"/?token={TOKEN}", {}),
        (f"/api/runs?dataset=shapes&token={TOKEN}", {}),
        (f"/no-such-page?token={TOKEN}", {}),
        (f"/api/datasets?Token={TOKEN}", {}),
        (f"/api/datasets?%74oken={TOKEN}", {}),
        ("/api/datasets", {"X-Browsertrain-Token": TOKEN}),
        ("/api/datasets", {"Cookie": f"browsertrain_token={TOKEN}"}),
    ):
        raw_request(token_server.port, "GET", target, headers=headers)
    raw_request(token_server.port, "GET", "/api/datasets", headers={"X-Browsertrain-Token": TOKEN})  # a marker line
    deadline = time.monotonic() + 5
    while 'GET /api/datasets HTTP/1.1" 200' not in log_text(token_server) and time.monotonic() < deadline:
        time.sleep(0.05)
    log = log_text(token_server)
    assert 'GET /api/datasets HTTP/1.1" 200' in log, "the access log is on, so the test sees what it would leak"
    assert "token=" in log.lower()  # the URLs with a token were logged ...
    assert TOKEN not in log  # ... without it
