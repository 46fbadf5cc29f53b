"""The two ways a test reaches the app.

- LiveServer: `browsertrain serve` as a real uvicorn process on a free loopback port. For what needs a real socket or
  process: raw bytes on the wire, two processes on one data folder, crashes, logs, browsers, the CLI's --server.
- InProcessServer: the same app (`create_app` with the settings `serve` builds) answering Starlette's TestClient in
  this process, with no socket and no start-up wait. Every route, the guard, the security headers and the disk are
  the real ones; only uvicorn's HTTP parsing is not in the loop.

TestClient rather than httpx.ASGITransport: ASGITransport only drives an AsyncClient (the tests are synchronous), and
it skips the app's lifespan; TestClient runs the app on an event loop in a thread of its own, runs the lifespan when
used as a context manager, and is an httpx.Client, so helpers that take a client work with either server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette >= 1.10 asks for `httpx2` beside its TestClient and warns when it falls back to `httpx` (what the test
    # extra installs). The fallback behaves the same; adding httpx2 to the test extra would silence this for good.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from server.app import create_app
from server.config import from_env
from server.headless import free_port

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30
CLIENT_TIMEOUT_SECONDS = 30
# The port an in-process app believes it serves on: it only appears in the Host header the guard checks (and in the
# session cookie's name), since no socket is opened.
IN_PROCESS_PORT = 8000


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    process: subprocess.Popen
    port: int

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=CLIENT_TIMEOUT_SECONDS, **kwargs)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_server(data_dir: Path, *extra_args: str, host: str = "127.0.0.1", env: dict | None = None) -> LiveServer:
    """Start `browsertrain serve` as a real process and wait until it answers."""
    port = free_port()
    log = open(data_dir.parent / f"server-{port}.log", "wb")
    with log:  # the child keeps its own copy of the descriptor; ours is closed at once
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server.cli",
                "serve",
                "--data-dir",
                str(data_dir),
                "--host",
                host,
                "--port",
                str(port),
                "--log-level",
                "warning",
                *extra_args,
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    shown = f"[{host}]" if ":" in host else host
    server = LiveServer(f"http://{shown}:{port}", data_dir, process, port)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early: {(data_dir.parent / f'server-{port}.log').read_text()}")
        try:
            if httpx.get(f"{server.url}/api/datasets", timeout=2, headers=_token_header(env)).status_code < 500:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError("server did not start in time")


def _token_header(env: dict | None) -> dict:
    token = (env or {}).get("BROWSERTRAIN_TOKEN")
    return {"X-Browsertrain-Token": token} if token else {}


def _isolated_folders(base: Path) -> tuple[Path, Path]:
    data = base / "data"
    data.mkdir(parents=True)
    tmp = base / "tmp"
    tmp.mkdir()
    return data, tmp


def start_isolated(base: Path, *args: str, env: dict | None = None, host: str = "127.0.0.1") -> LiveServer:
    """A server whose data folder is base/data and whose temp folder is base/tmp, so stray temp files show."""
    data, tmp = _isolated_folders(base)
    return start_server(data, *args, host=host, env={"TMPDIR": str(tmp), **(env or {})})


def log_text(server: LiveServer) -> str:
    return (server.data_dir.parent / f"server-{server.port}.log").read_text(errors="replace")


@dataclass
class InProcessServer:
    """The real app in this process; `client()` answers like LiveServer's (no redirects followed, a 500 is a 500)."""

    app: FastAPI
    data_dir: Path
    url: str

    def client(self, **kwargs) -> TestClient:
        return TestClient(
            self.app,
            base_url=self.url,
            raise_server_exceptions=False,
            follow_redirects=kwargs.pop("follow_redirects", False),
            **kwargs,
        )


@contextmanager
def in_process_isolated(base: Path, **settings):
    """Like start_isolated, in this process: data in base/data, and Python's temp folder pointed at base/tmp for as
    long as the server is in use (the tests run one at a time), so the app's stray temp files show there too.
    `settings` go to the app's settings (db_url, lease_seconds, ...)."""
    data, tmp = _isolated_folders(base)
    settings = from_env(data_dir=data, host="127.0.0.1", port=IN_PROCESS_PORT, **settings)
    app = create_app(settings)
    saved, tempfile.tempdir = tempfile.tempdir, str(tmp)
    try:
        yield InProcessServer(app, data, f"http://127.0.0.1:{IN_PROCESS_PORT}")
    finally:
        tempfile.tempdir = saved
        app.state.engine.dispose()
