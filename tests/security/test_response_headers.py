"""Every response carries the security headers, whatever its status: the app's answers, static files, and the guard's
own 421, 403, 401, 413 and 303 (the header layer sits outside the guard and outside Starlette's error handler)."""

from __future__ import annotations

import json
import secrets
import socket

import pytest
from support import (
    DENSE_WEIGHTS,
    imagefolder,
    model_json,
    multipart_body,
    parse_response,
    raw_request,
    read_until_closed,
    start_isolated,
    weights_for,
    zip_bytes,
)

from server.headers import CONTENT_SECURITY_POLICY
from server.limits import MAX_JSON_BODY_BYTES

TOKEN = "headers-" + secrets.token_urlsafe(24)
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-embedder-policy": "require-corp",
    "cross-origin-resource-policy": "same-origin",
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "permissions-policy": "camera=(self), microphone=(), geolocation=()",
}


@pytest.fixture(scope="module")
def token_server(tmp_path_factory):
    live = start_isolated(tmp_path_factory.mktemp("headers"), env={"BROWSERTRAIN_TOKEN": TOKEN})
    yield live
    live.stop()


def call(server, method, target, *, token=True, headers=None, body=b"", **kwargs):
    sent = {**({"X-Browsertrain-Token": TOKEN} if token else {}), **(headers or {})}
    return raw_request(server.port, method, target, headers=sent, body=body, **kwargs)


def test_every_status_carries_the_security_headers(token_server):
    json_type = {"Content-Type": "application/json"}
    run_id = call(token_server, "POST", "/api/runs", headers=json_type, body=b'{"dataset": "shapes"}').json()["id"]
    etag = call(token_server, "GET", "/api/datasets/shapes/items/0").headers["etag"]
    form, form_type = multipart_body(
        [
            ("name", None, None, b"to-delete"),
            ("file", "d.zip", "application/zip", zip_bytes(imagefolder({"a": 1, "b": 1}))),
        ]
    )
    snapshot, snapshot_type = multipart_body(
        [
            ("model.json", "model.json", "application/json", json.dumps(model_json()).encode()),
            ("model.weights.bin", "model.weights.bin", "application/octet-stream", weights_for(DENSE_WEIGHTS, 1)[:-4]),
        ]
    )
    cases = [
        (200, "GET", "/", {}, b"", {}),
        (200, "GET", "/api/datasets/shapes/items/0", {}, b"", {}),
        (200, "GET", "/static/css/app.css", {}, b"", {}),
        (200, "HEAD", "/vendor/tfjs-backend-wasm/tfjs-backend-wasm.wasm", {}, b"", {}),
        (201, "POST", "/api/runs", json_type, b'{"dataset": "shapes"}', {}),
        (201, "POST", "/api/datasets", {"Content-Type": form_type}, form, {}),
        (204, "DELETE", "/api/datasets/to-delete", {}, b"", {}),
        (303, "GET", f"/datasets/shapes?token={TOKEN}", {}, b"", {"token": False}),
        (304, "GET", "/api/datasets/shapes/items/0", {"If-None-Match": etag}, b"", {}),
        (400, "POST", f"/api/runs/{run_id}/snapshots", {"Content-Type": snapshot_type}, snapshot, {}),
        (401, "GET", "/api/datasets", {}, b"", {"token": False}),
        (403, "POST", "/api/runs", {**json_type, "Origin": "http://evil.example"}, b"{}", {}),
        (404, "GET", "/no-such-page", {}, b"", {}),
        (405, "PUT", "/api/runs", json_type, b"{}", {}),
        (413, "POST", "/api/runs", json_type, b"x" * (MAX_JSON_BODY_BYTES + 1), {}),
        (421, "GET", "/", {}, b"", {"host": "evil.example"}),
        (422, "POST", "/api/runs", json_type, b'{"dataset": 7}', {}),
    ]
    seen = []
    for status, method, target, headers, body, options in cases:
        response = call(token_server, method, target, headers=headers, body=body, **options)
        assert response.status == status, (method, target, response.status, response.body[:200])
        missing = {k: v for k, v in SECURITY_HEADERS.items() if response.headers.get(k) != v}
        assert missing == {}, (status, method, target, {k: response.headers.get(k) for k in missing})
        seen.append(status)
    # Over the cap with no Content-Length: the guard counts the chunks and answers 413 mid-body.
    chunk = b"x" * 65536
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(MAX_JSON_BODY_BYTES // len(chunk) + 2))
    head = (
        f"POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1:{token_server.port}\r\nX-Browsertrain-Token: {TOKEN}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", token_server.port), timeout=15) as sock:
        try:
            sock.sendall(head + body + b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the answer is already on its way
        streamed = parse_response(read_until_closed(sock))
    assert streamed.status == 413
    assert {k: streamed.headers.get(k) for k in SECURITY_HEADERS} == SECURITY_HEADERS
    assert sorted(set(seen)) == [200, 201, 204, 303, 304, 400, 401, 403, 404, 405, 413, 421, 422]


def test_a_server_error_carries_the_security_headers_too(token_server):
    """Starlette's own 500 (here: a run's latest.json corrupted by hand) goes through the header layer as well."""
    run = call(
        token_server, "POST", "/api/runs", headers={"Content-Type": "application/json"}, body=b'{"dataset": "shapes"}'
    ).json()["id"]
    snapshots = token_server.data_dir / "runs" / run / "snapshots"
    snapshots.mkdir(parents=True, exist_ok=True)
    (snapshots / "latest.json").write_text("{not json")
    response = call(token_server, "GET", f"/api/runs/{run}/model.json")
    assert response.status == 500
    assert {k: response.headers.get(k) for k in SECURITY_HEADERS} == SECURITY_HEADERS
