"""DNS rebinding, CSRF and the token: foreign Host headers get 421 everywhere, cross-origin writes 403, and off loopback
(or with BROWSERTRAIN_TOKEN set) every request needs the token, which never reaches the log."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time

import pytest
from support import (
    DENSE_WEIGHTS,
    ROOT,
    assert_unchanged,
    disk_state,
    imagefolder,
    log_text,
    model_json,
    multipart_body,
    raw_request,
    start_isolated,
    weights_for,
    zip_bytes,
)

from server.headless import free_port

pytestmark = pytest.mark.live_server  # raw request bytes (Host headers, targets), the access log

SNAPSHOT = multipart_body(
    [
        ("model.json", "model.json", "application/json", json.dumps(model_json()).encode()),
        ("model.weights.bin", "model.weights.bin", "application/octet-stream", weights_for(DENSE_WEIGHTS, 0)),
    ]
)
UPLOAD = multipart_body(
    [("name", None, None, b"via-guard"), ("file", "d.zip", "application/zip", zip_bytes(imagefolder({"a": 1, "b": 1})))]
)


@pytest.fixture(scope="module")
def guarded(module_server):
    """The module server plus one run, and every route with a body that would change something."""
    created = raw_request(
        module_server.port,
        "POST",
        "/api/runs",
        headers={"Content-Type": "application/json"},
        body=b'{"dataset": "shapes"}',
    )
    assert created.status == 201
    run_id = created.json()["id"]
    writes = [
        ("POST", "/api/runs", b'{"dataset": "shapes"}', "application/json"),
        ("PATCH", f"/api/runs/{run_id}", b'{"status": "running"}', "application/json"),
        ("POST", f"/api/runs/{run_id}/epochs", b'{"epoch": 0}', "application/json"),
        ("POST", f"/api/runs/{run_id}/snapshots", SNAPSHOT[0], SNAPSHOT[1]),
        ("POST", "/api/datasets", UPLOAD[0], UPLOAD[1]),
        ("DELETE", "/api/datasets/shapes", b"", None),
    ]
    reads = [
        ("GET", "/", b"", None),
        ("GET", "/upload", b"", None),
        ("GET", "/datasets/shapes", b"", None),
        ("GET", "/docs", b"", None),
        ("GET", "/openapi.json", b"", None),
        ("GET", "/static/css/app.css", b"", None),
        ("GET", "/api/datasets", b"", None),
        ("GET", "/api/datasets/shapes", b"", None),
        ("GET", "/api/datasets/shapes/items/0", b"", None),
        ("HEAD", "/api/datasets/shapes/items/0", b"", None),
        ("GET", "/api/datasets/shapes/bulk?count=2", b"", None),
        ("GET", "/api/runs", b"", None),
        ("GET", f"/api/runs/{run_id}", b"", None),
        ("GET", f"/api/runs/{run_id}/model.json", b"", None),
        ("OPTIONS", "/api/runs", b"", None),
        ("GET", "/no-such-page", b"", None),
    ]
    return module_server, run_id, writes, reads


def send(port, method, path, body, content_type, **headers):
    if content_type:
        headers["Content-Type"] = content_type
    return raw_request(port, method, path, headers=headers, body=body)


# --- Host (DNS rebinding) --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:{port}",
        "127.0.0.1.evil.example:{port}",
        "localhost.evil.example",
        "attacker.localhost:{port}",
        "127.0.0.2:{port}",
        "",
        "0.0.0.0:{port}",
        "[::2]:{port}",
    ],
)
def test_foreign_host_header_is_refused_on_every_route(guarded, host):
    server, _, writes, reads = guarded
    before = disk_state(server.data_dir)
    for method, path, body, content_type in writes + reads:
        headers = {"Content-Type": content_type} if content_type else {}
        response = raw_request(
            server.port, method, path, headers=headers, body=body, host=host.format(port=server.port)
        )
        assert response.status == 421, (host, method, path, response.status)
        if method != "HEAD":
            assert response.json()["detail"] == "unknown Host header"
    assert_unchanged(server.data_dir, before)


def test_loopback_host_names_are_accepted(guarded):
    server = guarded[0]
    for host in (
        f"127.0.0.1:{server.port}",
        f"localhost:{server.port}",
        f"LOCALHOST:{server.port}",
        f"[::1]:{server.port}",
        "localhost",
    ):
        response = raw_request(server.port, "GET", "/api/datasets", host=host)
        assert response.status == 200, host


# --- Origin (CSRF) ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "null",
        "http://localhost:{port}",
        "http://127.0.0.1:{port}.evil.example",
        "http://127.0.0.1",
        "http://evil.example:{port}",
    ],
)
def test_foreign_origin_on_a_write_is_refused(guarded, origin):
    server, _, writes, _ = guarded
    before = disk_state(server.data_dir)
    for method, path, body, content_type in writes:
        response = send(server.port, method, path, body, content_type, Origin=origin.format(port=server.port))
        assert response.status == 403, (origin, method, path, response.status)
        assert "cross-origin" in response.json()["detail"]
    assert_unchanged(server.data_dir, before)


def test_cross_site_fetch_metadata_on_a_write_is_refused(guarded):
    server, _, writes, _ = guarded
    before = disk_state(server.data_dir)
    for method, path, body, content_type in writes:
        response = send(server.port, method, path, body, content_type, **{"Sec-Fetch-Site": "cross-site"})
        assert response.status == 403, (method, path)
    assert_unchanged(server.data_dir, before)


def test_same_origin_writes_are_accepted(guarded):
    server, run_id, writes, _ = guarded
    origin = f"http://127.0.0.1:{server.port}"
    expected = {
        "/api/runs": 201,
        f"/api/runs/{run_id}": 200,
        f"/api/runs/{run_id}/epochs": 201,
        f"/api/runs/{run_id}/snapshots": 201,
        "/api/datasets": 201,
        "/api/datasets/shapes": 204,
    }
    for method, path, body, content_type in writes:
        response = send(
            server.port, method, path, body, content_type, Origin=origin, **{"Sec-Fetch-Site": "same-origin"}
        )
        assert response.status == expected[path], (method, path, response.body[:200])
    localhost = send(
        server.port,
        "POST",
        "/api/runs",
        b'{"dataset": "via-guard"}',
        "application/json",
        Origin=f"http://localhost:{server.port}",
    )
    assert localhost.status == 403  # the Host says 127.0.0.1: localhost is another origin
    no_origin = send(server.port, "POST", "/api/runs", b'{"dataset": "via-guard"}', "application/json")
    assert no_origin.status == 201  # curl, the CLI, scripts: no Origin, no browser, no CSRF


def test_reads_send_no_cors_permission(guarded):
    server, _, _, reads = guarded
    for method, path, body, content_type in reads:
        response = send(server.port, method, path, body, content_type, Origin="http://evil.example")
        assert "access-control-allow-origin" not in response.headers, path


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


# --- off loopback ----------------------------------------------------------------------------------------------------


def test_binding_off_loopback_requires_a_token(tmp_path):
    """Bound to 0.0.0.0 (reached here only through 127.0.0.1) without a preset token, the server makes one.

    The login URL with the token is printed once at start, for the terminal (this test's log file captures the
    terminal too): it is the only place the token may appear.
    """
    live = start_isolated(
        tmp_path, "--log-level", "info", host="0.0.0.0", env={"BROWSERTRAIN_TOKEN": ""}
    )  # empty counts as unset
    try:
        banner = re.search(r"Open this URL once to log in: (\S+)\?token=(\S+)", log_text(live))
        assert banner, log_text(live)
        token = banner.group(2)
        assert len(token) >= 16
        assert raw_request(live.port, "GET", "/api/datasets").status == 401
        assert raw_request(live.port, "GET", "/api/datasets", headers={"X-Browsertrain-Token": token}).status == 200
        login = raw_request(live.port, "GET", f"/?token={token}")
        assert login.status == 303 and login.headers["location"] == "/"
        assert (
            raw_request(
                live.port, "GET", "/api/datasets", headers={"Cookie": login.headers["set-cookie"].split(";")[0]}
            ).status
            == 200
        )
        assert raw_request(live.port, "GET", f"/api/runs?token={token}x").status == 401
    finally:
        live.stop()
    lines_with_token = [line for line in log_text(live).splitlines() if token in line]
    assert len(lines_with_token) == 1 and lines_with_token[0].startswith("Open this URL once to log in:")


def test_a_short_token_is_refused_at_start(tmp_path):
    data = tmp_path / "data"
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", "--data-dir", str(data), "--port", str(free_port())],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "BROWSERTRAIN_TOKEN": "short"},
    )
    assert done.returncode != 0
    assert "at least 16 characters" in done.stderr


def test_an_allowed_host_name_is_accepted_and_others_still_refused(tmp_path):
    """`--allow-host` lets a LAN name through the Host check (e.g. for a 0.0.0.0 bind); nothing else gets in."""
    live = start_isolated(tmp_path, "--allow-host", "devbox.lan", "--allow-host", "10.1.2.3")
    try:
        for host in (f"devbox.lan:{live.port}", f"DEVBOX.LAN:{live.port}", f"10.1.2.3:{live.port}"):
            assert raw_request(live.port, "GET", "/api/datasets", host=host).status == 200, host
        for host in (f"evil.example:{live.port}", f"devbox.lan.evil.example:{live.port}", f"10.1.2.4:{live.port}"):
            assert raw_request(live.port, "GET", "/api/datasets", host=host).status == 421, host
    finally:
        live.stop()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["http://devbox.lan", "devbox.lan:8000", "*.lan", "dev box"])
def test_an_allowed_host_that_is_not_a_plain_name_is_refused_at_start(tmp_path, name):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "serve",
            "--data-dir",
            str(tmp_path / "data"),
            "--port",
            str(free_port()),
            "--allow-host",
            name,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "is not a host name" in done.stderr
