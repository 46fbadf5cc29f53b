"""Bodies over the caps (with and without Content-Length) and clients that vanish mid-upload: 413 or nothing kept."""

from __future__ import annotations

import json
import select
import socket
import time

import pytest
from support import (
    assert_unchanged,
    disk_state,
    imagefolder,
    model_json,
    multipart_body,
    new_run,
    parse_response,
    png_bytes,
    read_until_closed,
    weights_for,
    zip_bytes,
)

from server.limits import MAX_JSON_BODY_BYTES, MAX_SNAPSHOT_BYTES, MAX_UPLOAD_BYTES

pytestmark = pytest.mark.live_server  # bodies streamed over a raw socket, clients that hang up

GOOD = imagefolder({"cat": 2, "dog": 2}, seed=300)

# --- bodies over the caps, clients that vanish ------------------------------------------------------------------------


def send_streaming(port: int, head: bytes, chunks, *, timeout: float = 30):
    """Send `head`, then `chunks` until the server answers or stops reading; return the response and bytes sent."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sent = 0
    try:
        sock.sendall(head)
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:
                break  # the server has answered early
            try:
                sock.sendall(chunk)
            except (TimeoutError, BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        return parse_response(read_until_closed(sock)), sent
    finally:
        sock.close()


def chunked(total: int, piece: bytes = b"x" * 65536):
    sent = 0
    while sent < total:
        yield b"%x\r\n" % len(piece) + piece + b"\r\n"
        sent += len(piece)
    yield b"0\r\n\r\n"


def test_chunked_json_body_over_the_cap_is_413(module_server):
    before = disk_state(module_server.data_dir)
    head = (
        f"POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1:{module_server.port}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    response, sent = send_streaming(module_server.port, head, chunked(MAX_JSON_BODY_BYTES * 3))
    assert response.status == 413, response.body
    assert f"{MAX_JSON_BODY_BYTES:,}-byte limit" in response.json()["detail"]
    assert_unchanged(module_server.data_dir, before)


def test_chunked_snapshot_over_the_cap_is_413(module_server, mclient):
    run_id = new_run(mclient)
    before = disk_state(module_server.data_dir)
    boundary = "----bigsnapshot"
    start = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="model.json"; filename="model.json"\r\n'
        f"Content-Type: application/json\r\n\r\n{{}}\r\n--{boundary}\r\nContent-Disposition: form-data; "
        f'name="model.weights.bin"; filename="model.weights.bin"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    head = (
        f"POST /api/runs/{run_id}/snapshots HTTP/1.1\r\nHost: 127.0.0.1:{module_server.port}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n"
    ).encode()

    def body():
        yield b"%x\r\n" % len(start) + start + b"\r\n"
        yield from chunked(MAX_SNAPSHOT_BYTES + 4 * 1024 * 1024, piece=b"\0" * (1024 * 1024))

    response, sent = send_streaming(module_server.port, head, body())
    assert response.status == 413, response.body
    assert f"{MAX_SNAPSHOT_BYTES:,}-byte limit" in response.json()["detail"]
    assert_unchanged(module_server.data_dir, before)
    assert mclient.get(f"/api/runs/{run_id}/snapshots").json()["snapshots"] == []


def test_content_length_over_the_cap_is_413_without_reading_the_body(module_server):
    before = disk_state(module_server.data_dir)
    body, content_type = multipart_body([("name", None, None, b"too-big")])
    head = (
        f"POST /api/datasets HTTP/1.1\r\nHost: 127.0.0.1:{module_server.port}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {MAX_UPLOAD_BYTES + 1}\r\nConnection: close\r\n\r\n"
    )
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", module_server.port), timeout=10) as sock:
        sock.sendall(head.encode())  # and not one byte of the body
        response = parse_response(read_until_closed(sock))
    assert response.status == 413
    assert f"{MAX_UPLOAD_BYTES:,}-byte limit" in response.json()["detail"]
    assert time.monotonic() - started < 5
    assert_unchanged(module_server.data_dir, before)


def wait_until_unchanged(server, before, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            assert_unchanged(server.data_dir, before)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.mark.parametrize("route", ["upload", "snapshot"])
def test_client_that_disconnects_mid_upload_leaves_nothing(module_server, mclient, route):
    if route == "upload":
        members = {**GOOD, **{f"cat/big{i}.png": png_bytes(400 + i, size=(256, 256)) for i in range(12)}}
        body, content_type = multipart_body(
            [("name", None, None, b"half-sent"), ("file", "d.zip", "application/zip", zip_bytes(members))]
        )
        path = "/api/datasets"
    else:
        run_id = new_run(mclient)
        specs = [{"name": "dense/kernel", "shape": [1024, 1024], "dtype": "float32"}]
        body, content_type = multipart_body(
            [
                ("model.json", "model.json", "application/json", json.dumps(model_json(specs)).encode()),
                ("model.weights.bin", "model.weights.bin", "application/octet-stream", weights_for(specs, 1)),
            ]
        )
        path = f"/api/runs/{run_id}/snapshots"
    assert len(body) > 2 * 1024 * 1024  # past the in-memory spool, so the server really writes a temp file
    before = disk_state(module_server.data_dir)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{module_server.port}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", module_server.port), timeout=10) as sock:
        sock.sendall(head + body[: len(body) // 2])
        time.sleep(0.3)
    wait_until_unchanged(module_server, before)
    assert mclient.get("/api/datasets/half-sent").status_code == 404
    assert mclient.get("/api/datasets").status_code == 200
    if route == "snapshot":
        assert mclient.get(f"/api/runs/{run_id}/snapshots").json()["snapshots"] == []
