"""A throwaway PostgreSQL cluster for the `postgres` tier: initdb and pg_ctl in a temp folder, on a free port, its
unix socket in that folder; or the server at BROWSERTRAIN_TEST_POSTGRES_URL when that is set. Each test gets an empty
database of its own (fresh_database).

As root, initdb and postgres refuse to run: they run as the `postgres` system user, with the folder given to it.
Without the binaries the tier is skipped, except under CI (the variable CI set), where it must run and so fails."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from server.headless import free_port

URL_VARIABLE = "BROWSERTRAIN_TEST_POSTGRES_URL"
SYSTEM_USER = "postgres"
START_SECONDS = 60


@dataclass
class Cluster:
    """Where to connect (a SQLAlchemy URL without the database) and how to make a database."""

    base_url: str  # postgresql+psycopg://user@/?host=...&port=... or the variable's URL
    admin_database: str

    def url(self, database: str) -> str:
        head, _, query = self.base_url.partition("?")
        head = head.rsplit("/", 1)[0]
        return f"{head}/{database}" + (f"?{query}" if query else "")

    def create_database(self) -> str:
        """An empty database of its own; its URL."""
        import psycopg

        name = f"bt_{uuid.uuid4().hex[:12]}"
        conninfo = self.url(self.admin_database).replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def find_bin_dir() -> Path | None:
    """Debian keeps the server's programs in /usr/lib/postgresql/<version>/bin, off PATH; else PATH's initdb."""
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if versions:
        return Path(versions[-1]).parent
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def _as_server_user(args: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", SYSTEM_USER, "--", *args]
    return args


def _missing(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the PostgreSQL tier: {reason} (install Debian's postgresql)")
    pytest.skip(reason)


def start_cluster():
    """A generator: yields a Cluster, stops and removes it afterwards (a session fixture drives it)."""
    url = os.environ.get(URL_VARIABLE)
    if url:
        yield Cluster(url, url.partition("?")[0].rsplit("/", 1)[1] or "postgres")
        return
    bin_dir = find_bin_dir()
    if bin_dir is None or not (bin_dir / "pg_ctl").exists():
        _missing("PostgreSQL's initdb and pg_ctl were not found")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        _missing("running as root needs runuser to start PostgreSQL as its own user")
    base = Path(tempfile.mkdtemp(prefix="bt-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(base, SYSTEM_USER, SYSTEM_USER)
    data, log = base / "data", base / "server.log"
    port = free_port()
    user = SYSTEM_USER if os.geteuid() == 0 else os.environ.get("USER", "postgres")
    run = {"check": True, "capture_output": True, "text": True}
    try:
        subprocess.run(
            _as_server_user([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", user, "-E", "UTF8"]),
            **run,
        )
        options = f"-k {base} -p {port} -c listen_addresses='' -c fsync=off -c max_connections=100"
        subprocess.run(
            _as_server_user(
                [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"]
            ),
            **run,
        )
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {exc.stderr or exc.stdout}")
    try:
        yield Cluster(f"postgresql+psycopg://{user}@/postgres?host={base}&port={port}", "postgres")
    finally:
        subprocess.run(
            _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)
