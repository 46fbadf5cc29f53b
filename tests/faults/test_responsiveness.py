"""While a large upload streams in slowly and is then imported, the server keeps answering other requests."""

from __future__ import annotations

import io
import socket
import threading
import time
import zipfile

import httpx
import numpy as np
import pytest
from PIL import Image
from support import multipart_body, parse_response, read_until_closed, zip_bytes

pytestmark = pytest.mark.live_server  # a real server process must keep answering while it works

BOUND_SECONDS = 2.0  # generous: this checks that nothing blocks the event loop, it is not a benchmark


def noise_png(seed: int, side: int = 1024) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(side, side, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, format="PNG", compress_level=0)
    return out.getvalue()


@pytest.mark.slow
def test_listing_answers_quickly_during_a_large_slow_upload(module_server):
    members = {f"{'ab'[i % 2]}/{i:03d}.png": noise_png(i) for i in range(20)}
    body, content_type = multipart_body(
        [
            ("name", None, None, b"large"),
            ("file", "large.zip", "application/zip", zip_bytes(members, compression=zipfile.ZIP_STORED)),
        ]
    )
    assert len(body) > 50 * 1024 * 1024
    outcome: dict = {}

    def slow_upload() -> None:
        with socket.create_connection(("127.0.0.1", module_server.port), timeout=120) as sock:
            sock.sendall(
                (
                    f"POST /api/datasets HTTP/1.1\r\nHost: 127.0.0.1:{module_server.port}\r\n"
                    f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                    "Connection: close\r\n\r\n"
                ).encode()
            )
            step = 2 * 1024 * 1024
            for start in range(0, len(body), step):
                sock.sendall(body[start : start + step])
                time.sleep(0.08)
            outcome["response"] = parse_response(read_until_closed(sock))
        outcome["done"] = time.monotonic()

    uploader = threading.Thread(target=slow_upload)
    started = time.monotonic()
    uploader.start()
    latencies = []
    with httpx.Client(base_url=module_server.url, timeout=30) as c:
        while uploader.is_alive():
            before = time.monotonic()
            response = c.get("/api/datasets")
            latencies.append(time.monotonic() - before)
            assert response.status_code == 200
            time.sleep(0.1)
    uploader.join()
    assert outcome["response"].status == 201, outcome["response"].body[:300]
    assert outcome["done"] - started > 2, "the upload really was slow"
    assert len(latencies) >= 10
    assert max(latencies) < BOUND_SECONDS, f"slowest listing took {max(latencies):.2f} s"
