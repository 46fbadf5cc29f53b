"""Settings for one server (data folder, address, database URL, token); unsafe combinations are refused at start.

pydantic-settings reads them: the BROWSERTRAIN_* variables in ENVIRONMENT (an empty one counts as unset), then the
command line's flags, which win. The folders the pages come from are not read from the environment at all."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from . import PROJECT_ROOT
from .limits import HEARTBEAT_SECONDS, LEASE_SECONDS

DEFAULT_DATA_DIR = Path("data")
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?|[0-9a-f:]+")
MIN_TOKEN_CHARS = 16
# The settings a variable may set, and its name. BROWSERTRAIN_ALLOWED_HOSTS is a comma-separated list.
ENVIRONMENT = {
    "data_dir": "BROWSERTRAIN_DATA_DIR",
    "host": "BROWSERTRAIN_HOST",
    "port": "BROWSERTRAIN_PORT",
    "db_url": "BROWSERTRAIN_DB_URL",
    "token": "BROWSERTRAIN_TOKEN",
    "extra_hosts": "BROWSERTRAIN_ALLOWED_HOSTS",
    "lease_seconds": "BROWSERTRAIN_LEASE_SECONDS",
    "heartbeat_seconds": "BROWSERTRAIN_HEARTBEAT_SECONDS",
    "s3_url": "BROWSERTRAIN_S3_URL",
    "s3_endpoint": "BROWSERTRAIN_S3_ENDPOINT",
}


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


class _Environment(PydanticBaseSettingsSource):
    """Exactly the variables in ENVIRONMENT, nothing else (no .env file, no other names)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return os.environ.get(ENVIRONMENT.get(field_name, "")) or None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return {name: value for name, variable in ENVIRONMENT.items() if (value := os.environ.get(variable))}


class Settings(BaseSettings):
    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = DEFAULT_DATA_DIR
    host: str = "127.0.0.1"
    port: int = 8000
    db_url: str | None = None  # None: SQLite in the data folder
    token: str | None = Field(default=None, repr=False)  # required (and generated when missing) off loopback
    static_dir: Path = PROJECT_ROOT / "static"
    templates_dir: Path = PROJECT_ROOT / "templates"
    vendor_dir: Path = PROJECT_ROOT / "node_modules"
    sample_dir: Path = PROJECT_ROOT / "datasets"
    create_sample: bool = True
    extra_hosts: tuple[str, ...] = ()
    # The job queue (docs/queue.md): how long a claim lasts without a heartbeat, and how often workers send one.
    lease_seconds: float = Field(default=LEASE_SECONDS, gt=0)
    heartbeat_seconds: float = Field(default=HEARTBEAT_SECONDS, gt=0)
    # Artifacts (datasets, snapshots, exports) in an S3-compatible store, s3://BUCKET[/PREFIX], reached at
    # s3_endpoint (any S3 server: SeaweedFS, MinIO, AWS); credentials from the usual AWS_* variables. None: the
    # data folder alone.
    s3_url: str | None = None
    s3_endpoint: str | None = None

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        return init_settings, _Environment(settings_cls)  # arguments first, then the environment

    @field_validator("extra_hosts", mode="before")
    @classmethod
    def _host_list(cls, value):
        """'a, B,,c' or ['a', ' B'] -> ('a', 'b', 'c'): names compare in lower case; blanks are dropped."""
        names = value.split(",") if isinstance(value, str) else value
        return tuple(name.strip().lower() for name in names if name.strip())

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{Path(self.data_dir).resolve() / 'browsertrain.db'}"

    @property
    def allowed_hosts(self) -> frozenset[str]:
        return LOOPBACK_NAMES | {self.host.strip("[]")} | set(self.extra_hosts)


def from_env(**overrides) -> Settings:
    """Settings from BROWSERTRAIN_* variables, with explicit overrides (the CLI's flags) winning; None means unset."""
    try:
        settings = Settings(**{name: value for name, value in overrides.items() if value is not None})
    except ValidationError as exc:
        problems = "; ".join(f"{ENVIRONMENT.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}" for e in exc.errors())
        raise UnsafeSettings(f"bad settings: {problems}") from None
    return checked(settings)


def checked(settings: Settings) -> Settings:
    """Refuse what would expose a server without protection; give a token to any non-loopback bind."""
    if settings.token is not None and len(settings.token) < MIN_TOKEN_CHARS:
        raise UnsafeSettings(f"a token must be at least {MIN_TOKEN_CHARS} characters")
    for name in settings.extra_hosts:
        if not _HOST_NAME.fullmatch(name):
            raise UnsafeSettings(f"--allow-host {name!r} is not a host name or address (no port, no scheme)")
    if settings.heartbeat_seconds >= settings.lease_seconds:
        raise UnsafeSettings("the heartbeat interval must be shorter than the lease, or every claim would expire")
    if settings.s3_url is not None and not settings.s3_url.startswith("s3://"):
        raise UnsafeSettings(f"the S3 URL must look like s3://BUCKET[/PREFIX], not {settings.s3_url!r}")
    if not is_loopback(settings.host) and settings.token is None:
        settings = settings.model_copy(update={"token": secrets.token_urlsafe(24)})
    return settings
