"""Never a half object: an upload that fails, or a server killed while storing a dataset, leaves nothing a reader
takes for whole."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from support import imagefolder, upload, write_tree, zip_bytes
from support.servers import ROOT

from server.app import create_app
from server.artifact_store import S3_INCOMING, S3Store, StoreUnavailable
from server.config import from_env
from server.headless import free_port

from .conftest import BUCKET, shared_app

MIB = 1024 * 1024


class BrokenSource(io.RawIOBase):
    """A file that fails after `good` bytes, as a disk error or a vanished network mount would."""

    def __init__(self, size: int, good: int):
        self.size, self.good, self.position = size, good, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.position >= self.good:
            raise OSError("the source broke off mid-read")
        n = min(len(buffer), self.size - self.position, self.good - self.position)
        buffer[:n] = b"x" * n
        self.position += n
        return n


@pytest.mark.parametrize("size", [64 * 1024, 20 * MIB], ids=["one-request", "multipart"])
def test_an_upload_that_fails_mid_read_leaves_no_object_at_its_key(seaweed, s3_url, monkeypatch, size):
    for name, value in seaweed.env.items():
        monkeypatch.setenv(name, value)
    store = S3Store(s3_url, seaweed.endpoint)
    store.ensure_bucket()
    with pytest.raises(OSError, match="broke off"):
        store.put_fileobj("datasets/x/manifest.json", io.BufferedReader(BrokenSource(size, size // 2)))
    assert not store.exists("datasets/x/manifest.json")
    assert store.list("") == []  # nor anything at a temporary key
    # A whole upload to the same key then lands, and only at that key.
    store.put_fileobj("datasets/x/manifest.json", io.BytesIO(b"{}"))
    assert store.list("") == ["datasets/x/manifest.json"]
    prefix = s3_url.removeprefix(f"s3://{BUCKET}/")
    assert not [k for k in seaweed.keys(BUCKET, prefix) if S3_INCOMING in k]


_IMPORT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from server.artifact_store import S3Store
    from server.datasets.importer import import_dataset
    from server.storage import Storage

    data, source, url, endpoint = sys.argv[1:]
    store = S3Store(url, endpoint)
    store.ensure_bucket()
    import_dataset(Storage(Path(data), store), Path(source), "big")
    """
)


def test_a_server_killed_while_storing_a_dataset_leaves_it_unlisted_everywhere(seaweed, s3_url, tmp_path, monkeypatch):
    for name, value in seaweed.env.items():
        monkeypatch.setenv(name, value)
    source = write_tree(tmp_path / "source", imagefolder({"a": 150, "b": 150}))
    (tmp_path / "killed").mkdir()
    child = subprocess.Popen(
        [sys.executable, "-c", _IMPORT, str(tmp_path / "killed"), str(source), s3_url, seaweed.endpoint],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    prefix = s3_url.removeprefix(f"s3://{BUCKET}/")
    try:
        deadline = time.monotonic() + 120
        while len(seaweed.keys(BUCKET, f"{prefix}/datasets/big/")) < 20:  # well into storing its 300 items
            assert child.poll() is None, "the import ended before it could be killed"
            assert time.monotonic() < deadline, "the import never started storing"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    stored = seaweed.keys(BUCKET, f"{prefix}/datasets/big/")
    assert 20 <= len(stored) < 301 and f"{prefix}/datasets/big/manifest.json" not in stored

    # Another server sharing the store does not list it, does not serve it, and can import the name afresh.
    app = shared_app(tmp_path / "other", f"sqlite:///{tmp_path / 'db'}", s3_url, seaweed.endpoint)
    with app as other, other.client() as client:
        assert client.get("/api/datasets").json()["datasets"] == []
        assert client.get("/api/datasets/big").status_code == 404
        assert upload(client, "big", zip_bytes(imagefolder({"a": 3, "b": 3}))).status_code == 201
        assert client.get("/api/datasets/big").json()["num_items"] == 6


def test_an_unreachable_store_stops_the_server_at_start_with_a_clear_error(tmp_path, monkeypatch, seaweed):
    for name, value in seaweed.env.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "data").mkdir()
    nobody = f"http://127.0.0.1:{free_port()}"
    settings = from_env(data_dir=tmp_path / "data", s3_url=f"s3://{BUCKET}", s3_endpoint=nobody, create_sample=False)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="cannot be reached"):
        create_app(settings)
    assert time.monotonic() - started < 30


def test_what_a_killed_upload_left_at_a_temporary_key_is_swept_and_a_live_one_is_not(seaweed, s3_url, monkeypatch):
    for name, value in seaweed.env.items():
        monkeypatch.setenv(name, value)
    store = S3Store(s3_url, seaweed.endpoint)
    store.ensure_bucket()
    store.client.put_object(Bucket=store.bucket, Key=f"{store.prefix}{S3_INCOMING}left-behind", Body=b"half")
    store.put_fileobj("datasets/kept/manifest.json", io.BytesIO(b"{}"))
    assert store.remove_abandoned_uploads() == 0  # a minute-old upload may still be in flight: kept
    assert store.remove_abandoned_uploads(older_than=-60) == 1
    assert store.list("") == ["datasets/kept/manifest.json"]


def test_servers_starting_together_on_a_new_bucket_all_start(seaweed, monkeypatch):
    """Each finds no bucket and creates it; all but the first are told it exists already: that is a start, not a
    store that 'cannot be created' (two servers of one deployment start together)."""
    for name, value in seaweed.env.items():
        monkeypatch.setenv(name, value)
    bucket = f"together-{uuid.uuid4().hex[:8]}"
    stores = [S3Store(f"s3://{bucket}/p", seaweed.endpoint) for _ in range(4)]
    with ThreadPoolExecutor(len(stores)) as pool:
        list(pool.map(lambda store: store.ensure_bucket(), stores))
    assert bucket in {b["Name"] for b in seaweed.client().list_buckets()["Buckets"]}
