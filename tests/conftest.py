"""Shared fixtures: real servers (uvicorn in a subprocess on a free loopback port) and real headless Chromium."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from server.headless import CHROMIUM_FLAGS, find_chromium

ROOT = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    data_dir: Path
    process: subprocess.Popen
    port: int

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)

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
            [sys.executable, "-m", "server.cli", "serve", "--data-dir", str(data_dir), "--host", host,
             "--port", str(port), "--log-level", "warning", *extra_args],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
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


@pytest.fixture
def server(tmp_path):
    """A fresh server with its own data folder (holding the sample dataset)."""
    data = tmp_path / "data"
    data.mkdir()
    live = start_server(data)
    yield live
    live.stop()


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory):
    """One server for read-only tests that only need the sample dataset."""
    data = tmp_path_factory.mktemp("shared") / "data"
    data.mkdir()
    live = start_server(data)
    yield live
    live.stop()


@pytest.fixture
def client(server):
    with server.client() as c:
        yield c


def chromium_path() -> str:
    try:
        return find_chromium()
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), headless=True, args=list(CHROMIUM_FLAGS))
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    pg = context.new_page()
    yield pg
    context.close()
