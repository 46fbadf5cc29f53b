"""What needs a real uvicorn process: the exact header bytes of an answer, a refusal that comes back whole rather than
as a reset connection, and truncated bodies. The same routes' other checks run in-process (test_headers.py,
test_topology.py, test_snapshots.py).

Truncated multipart bodies stay here because Starlette leaves the spool file of the unfinished part to the garbage
collector: harmless in a server, but in-process its ResourceWarning would land in whichever test runs next."""

from __future__ import annotations

import json
import socket

import pytest
from support import (
    DENSE_WEIGHTS,
    assert_unchanged,
    disk_state,
    latest_model,
    model_json,
    multipart_body,
    new_run,
    parse_response,
    png_bytes,
    post_snapshot,
    raw_request,
    read_until_closed,
    upload,
    weights_for,
    zip_bytes,
)

from .test_headers import HTML

pytestmark = pytest.mark.live_server


def test_a_png_with_html_appended_goes_out_with_one_image_content_type_header(module_server, mclient):
    polyglot = png_bytes(1) + HTML
    assert upload(mclient, "polyglot", zip_bytes({"cat/x.png": polyglot, "dog/y.png": png_bytes(2)})).status_code == 201
    with socket.create_connection(("127.0.0.1", module_server.port)) as sock:
        sock.sendall(
            f"GET /api/datasets/polyglot/items/0 HTTP/1.1\r\nHost: 127.0.0.1:{module_server.port}\r\n"
            "Accept: text/html\r\nConnection: close\r\n\r\n".encode()
        )
        raw = read_until_closed(sock)
    response = parse_response(raw)
    assert [line for line in raw.split(b"\r\n\r\n")[0].lower().split(b"\r\n") if line.startswith(b"content-type")] == [
        b"content-type: image/png"
    ]
    assert response.body == polyglot


def test_a_snapshot_refused_before_its_body_is_read_gets_a_whole_answer_not_a_reset(module_server, mclient):
    run_id = new_run(mclient)
    model = model_json()
    model["weightsManifest"] = [
        {"paths": ["./model.weights.bin"], "weights": [DENSE_WEIGHTS[0]]},
        {"paths": ["./model.weights.bin"], "weights": [DENSE_WEIGHTS[1]]},
    ]
    before = disk_state(module_server.data_dir)
    body, content_type = multipart_body(
        [
            ("model.json", "model.json", "application/json", json.dumps(model).encode()),
            (
                "model.weights.bin",
                "model.weights.bin",
                "application/octet-stream",
                weights_for(DENSE_WEIGHTS, seed=42) * 2,
            ),
        ]
    )
    response = raw_request(
        module_server.port, "POST", f"/api/runs/{run_id}/snapshots", headers={"Content-Type": content_type}, body=body
    )
    assert response.status == 400 and "exactly one group" in response.detail
    assert_unchanged(module_server.data_dir, before)


def test_a_truncated_snapshot_body_is_refused_and_the_last_good_snapshot_stays(module_server, mclient):
    run_id = new_run(mclient)
    good = weights_for(DENSE_WEIGHTS, seed=42)
    assert post_snapshot(mclient, run_id, model_json(), good, epoch=0).status_code == 201
    body, content_type = multipart_body(
        [
            ("model.json", "model.json", "application/json", json.dumps(model_json()).encode()),
            ("model.weights.bin", "model.weights.bin", "application/octet-stream", weights_for(DENSE_WEIGHTS, 7)),
        ]
    )
    before = disk_state(module_server.data_dir)
    for cut in (len(body) - 5, len(body) - 20, len(body) // 2, 40):
        response = raw_request(
            module_server.port,
            "POST",
            f"/api/runs/{run_id}/snapshots",
            headers={"Content-Type": content_type},
            body=body[:cut],
        )
        assert response.status == 400, (cut, response.body)
        assert response.detail
    assert_unchanged(module_server.data_dir, before)
    assert latest_model(mclient, run_id)[1] == good
