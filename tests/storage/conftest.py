"""Two servers on different data folders sharing one database and one S3 store (a real SeaweedFS)."""

from __future__ import annotations

import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from support.seaweed import start_seaweed
from support.servers import IN_PROCESS_PORT, InProcessServer

from server.app import create_app
from server.config import from_env

BUCKET = "browsertrain-tests"


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory):
    weed = start_seaweed(tmp_path_factory.mktemp("seaweed"))
    yield weed
    weed.stop()


@pytest.fixture
def s3_url():
    """A prefix of its own for each test, so tests never see each other's objects."""
    return f"s3://{BUCKET}/t-{uuid.uuid4().hex[:8]}"


@contextmanager
def shared_app(data: Path, db_url: str, s3_url: str, endpoint: str):
    data.mkdir(parents=True)
    settings = from_env(
        data_dir=data, port=IN_PROCESS_PORT, db_url=db_url, s3_url=s3_url, s3_endpoint=endpoint, create_sample=False
    )
    app = create_app(settings)
    try:
        yield InProcessServer(app, data, f"http://127.0.0.1:{IN_PROCESS_PORT}")
    finally:
        app.state.engine.dispose()


@pytest.fixture
def two_servers(tmp_path, seaweed, s3_url, monkeypatch):
    """Servers A and B: their own data folders, one SQLite file, one S3 prefix."""
    for name, value in seaweed.env.items():
        monkeypatch.setenv(name, value)
    db_url = f"sqlite:///{tmp_path / 'shared.db'}"
    with ExitStack() as stack:
        a = stack.enter_context(shared_app(tmp_path / "a", db_url, s3_url, seaweed.endpoint))
        b = stack.enter_context(shared_app(tmp_path / "b", db_url, s3_url, seaweed.endpoint))
        yield a, b
