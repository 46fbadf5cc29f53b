"""DNS rebinding and CSRF: foreign Host headers get 421 everywhere, cross-origin writes 403, and off loopback a token
is required at start (tests/security/test_guard_token.py holds the token's own rules)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

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
