"""Settings for one server (data folder, address, database URL, token); unsafe combinations are refused at start."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = Path("data")
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?|[0-9a-f:]+")


class UnsafeSettings(ValueError):
    """A configuration the server refuses to start with."""


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Settings:
    data_dir: Path = DEFAULT_DATA_DIR
    host: str = "127.0.0.1"
    port: int = 8000
    db_url: str | None = None          # None: SQLite in the data folder
    token: str | None = None           # required (and generated when missing) off loopback
    static_dir: Path = PROJECT_ROOT / "static"
    templates_dir: Path = PROJECT_ROOT / "templates"
    vendor_dir: Path = PROJECT_ROOT / "node_modules"
    sample_dir: Path = PROJECT_ROOT / "datasets"
    create_sample: bool = True
    extra_hosts: tuple[str, ...] = field(default_factory=tuple)

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{Path(self.data_dir).resolve() / 'browsertrain.db'}"

    @property
    def allowed_hosts(self) -> frozenset[str]:
        return LOOPBACK_NAMES | {self.host.strip("[]")} | set(self.extra_hosts)


def from_env(**overrides) -> Settings:
    """Settings from BROWSERTRAIN_* variables, with explicit overrides (the CLI's flags) winning."""
    env = {
        "data_dir": os.environ.get("BROWSERTRAIN_DATA_DIR"),
        "host": os.environ.get("BROWSERTRAIN_HOST"),
        "port": os.environ.get("BROWSERTRAIN_PORT"),
        "db_url": os.environ.get("BROWSERTRAIN_DB_URL"),
        "token": os.environ.get("BROWSERTRAIN_TOKEN"),
        "extra_hosts": os.environ.get("BROWSERTRAIN_ALLOWED_HOSTS"),
    }
    values = {k: v for k, v in env.items() if v}
    values.update({k: v for k, v in overrides.items() if v is not None})
    if isinstance(values.get("extra_hosts"), str):
        values["extra_hosts"] = values["extra_hosts"].split(",")
    if "extra_hosts" in values:
        values["extra_hosts"] = tuple(h.strip().lower() for h in values["extra_hosts"] if h.strip())
    if "data_dir" in values:
        values["data_dir"] = Path(values["data_dir"])
    if "port" in values:
        values["port"] = int(values["port"])
    return checked(Settings(**values))


def checked(settings: Settings) -> Settings:
    """Refuse what would expose a server without protection; give a token to any non-loopback bind."""
    if settings.token is not None and len(settings.token) < 16:
        raise UnsafeSettings("a token must be at least 16 characters")
    for name in settings.extra_hosts:
        if not _HOST_NAME.fullmatch(name):
            raise UnsafeSettings(f"--allow-host {name!r} is not a host name or address (no port, no scheme)")
    if not is_loopback(settings.host) and settings.token is None:
        settings = Settings(**{**settings.__dict__, "token": secrets.token_urlsafe(24)})
    return settings
