"""Where artifacts (datasets, snapshots, epoch logs, exports) are kept for good: the data folder itself, or an
S3-compatible store that several servers share. Keys are POSIX paths relative to the data folder.

Storage (server/storage.py) publishes a file once it is whole and fetches it before reading; this module only moves
bytes. Both stores keep the atomicity promise: a key holds a whole object or nothing, never half of one.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import urlparse

from .errors import StatusError
from .limits import (
    S3_ABANDONED_UPLOAD_SECONDS,
    S3_CONNECT_TIMEOUT_SECONDS,
    S3_MAX_ATTEMPTS,
    S3_READ_TIMEOUT_SECONDS,
)

# Uploads land here first and are copied to their key only once whole.
S3_INCOMING = ".incoming/"
_CHUNK = 1024 * 1024


class StoreUnavailable(StatusError, RuntimeError):
    """The S3 store cannot be reached or refused us (503: the page keeps what it sent and retries)."""

    status = 503


class ArtifactStore(Protocol):
    """Keys are relative POSIX paths ("datasets/cats/manifest.json"); `local` stores need no copying at all."""

    local: bool

    def put_file(self, key: str, local_path: Path) -> None: ...

    def get_file(self, key: str, local_path: Path, etag: str | None = None) -> str | None: ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str) -> list[str]: ...

    def folders(self, prefix: str) -> list[str]: ...

    def delete_prefix(self, prefix: str) -> None: ...


class LocalStore:
    """The data folder is the store: what is written there is already kept, so publishing and fetching do nothing."""

    local = True

    def __init__(self, root: Path):
        self.root = Path(os.path.realpath(root))

    def put_file(self, key: str, local_path: Path) -> None:
        pass

    def get_file(self, key: str, local_path: Path, etag: str | None = None) -> str | None:
        return "local" if local_path.is_file() else None

    def exists(self, key: str) -> bool:
        return (self.root / key).is_file()

    def list(self, prefix: str) -> list[str]:
        base = self.root / prefix
        if not base.is_dir():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in base.rglob("*") if p.is_file())

    def folders(self, prefix: str) -> list[str]:
        base = self.root / prefix
        return sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []

    def delete_prefix(self, prefix: str) -> None:
        pass


def parse_s3_url(url: str) -> tuple[str, str]:
    """s3://BUCKET[/PREFIX] -> (bucket, prefix ending in '/' or empty)."""
    parts = urlparse(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"the S3 URL must look like s3://BUCKET[/PREFIX], not {url!r}")
    prefix = parts.path.strip("/")
    return parts.netloc, f"{prefix}/" if prefix else ""


class S3Store:
    """Any S3-compatible store through boto3 (path-style addressing, so a plain host:port endpoint works)."""

    local = False

    def __init__(self, url: str, endpoint: str | None = None):
        import boto3  # only servers pointed at S3 pay for importing it
        from botocore.config import Config

        self.bucket, self.prefix = parse_s3_url(url)
        self.endpoint = endpoint
        config = Config(
            s3={"addressing_style": "path"},
            connect_timeout=S3_CONNECT_TIMEOUT_SECONDS,
            read_timeout=S3_READ_TIMEOUT_SECONDS,
            retries={"max_attempts": S3_MAX_ATTEMPTS, "mode": "standard"},
        )
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.client = boto3.client("s3", endpoint_url=endpoint, region_name=region, config=config)

    def _where(self) -> str:
        return f"s3://{self.bucket}/{self.prefix} at {self.endpoint or 'AWS'}"

    def ensure_bucket(self) -> None:
        """Create the bucket unless it exists; StoreUnavailable with the reason if the store cannot be used."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
                raise StoreUnavailable(f"the S3 store {self._where()} refused us: {exc}") from None
        except BotoCoreError as exc:
            raise StoreUnavailable(f"the S3 store {self._where()} cannot be reached: {exc}") from None
        try:
            self.client.create_bucket(Bucket=self.bucket)
        except ClientError as exc:
            # Another server sharing the store created it in the same instant (two servers start together).
            if exc.response.get("Error", {}).get("Code") not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise StoreUnavailable(f"could not create the bucket of {self._where()}: {exc}") from None
        except BotoCoreError as exc:
            raise StoreUnavailable(f"could not create the bucket of {self._where()}: {exc}") from None

    def remove_abandoned_uploads(self, older_than: float = S3_ABANDONED_UPLOAD_SECONDS) -> int:
        """Delete what uploads of killed servers left at temporary keys (older than any live upload); how many."""
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than)
        pages = self._pages(S3_INCOMING)
        stale = [item["Key"] for page in pages for item in page.get("Contents", []) if item["LastModified"] < cutoff]
        with self._errors("removing abandoned uploads"):
            for key in stale:
                self.client.delete_object(Bucket=self.bucket, Key=key)
        return len(stale)

    def put_fileobj(self, key: str, source: BinaryIO) -> None:
        """Upload to a temporary key, copy it to `key` on the server, delete the temporary one. A failed upload never
        reaches `key`; what it left at the temporary key is removed."""
        temporary = f"{self.prefix}{S3_INCOMING}{uuid.uuid4().hex}"
        with self._errors(f"storing {key}"):
            try:
                self.client.upload_fileobj(source, self.bucket, temporary)
                self.client.copy_object(
                    Bucket=self.bucket, Key=self.prefix + key, CopySource={"Bucket": self.bucket, "Key": temporary}
                )
            finally:
                try:
                    self.client.delete_object(Bucket=self.bucket, Key=temporary)
                except Exception:  # the first error is the one to report
                    pass

    def put_file(self, key: str, local_path: Path) -> None:
        with open(local_path, "rb") as source:
            self.put_fileobj(key, source)

    def get_file(self, key: str, local_path: Path, etag: str | None = None) -> str | None:
        """Download `key` to `local_path` atomically (temp file + rename) and return its ETag; None if there is no
        such object. Given the `etag` of the copy already at `local_path`, an unchanged object is not downloaded."""
        from botocore.exceptions import ClientError

        conditional = {"IfNoneMatch": etag} if etag else {}
        with self._errors(f"reading {key}"):
            try:
                answer = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key, **conditional)
            except ClientError as exc:
                if etag and exc.response.get("Error", {}).get("Code") in ("304", "NotModified"):
                    return etag
                if _missing(exc):
                    return None
                raise
            local_path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=local_path.parent, prefix=".tmp-", suffix=local_path.suffix)
            try:
                with os.fdopen(fd, "wb") as out:
                    for chunk in answer["Body"].iter_chunks(_CHUNK):
                        out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, local_path)
            finally:
                Path(tmp).unlink(missing_ok=True)
        return answer["ETag"]

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        with self._errors(f"looking up {key}"):
            try:
                self.client.head_object(Bucket=self.bucket, Key=self.prefix + key)
                return True
            except ClientError as exc:
                if _missing(exc):
                    return False
                raise

    def _pages(self, prefix: str, **extra):
        with self._errors(f"listing {prefix}"):
            paginator = self.client.get_paginator("list_objects_v2")
            yield from paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix, **extra)

    def list(self, prefix: str) -> list[str]:
        cut = len(self.prefix)
        return sorted(item["Key"][cut:] for page in self._pages(prefix) for item in page.get("Contents", []))

    def folders(self, prefix: str) -> list[str]:
        cut = len(self.prefix + prefix)
        pages = self._pages(prefix, Delimiter="/")
        return sorted(p["Prefix"][cut:].rstrip("/") for page in pages for p in page.get("CommonPrefixes", []))

    def delete_prefix(self, prefix: str) -> None:
        keys = [self.prefix + key for key in self.list(prefix)]
        with self._errors(f"deleting {prefix}"):
            for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1000 keys
                chunk = keys[start : start + 1000]
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in chunk]})

    def _errors(self, doing: str):
        return _translated(f"{doing} in {self._where()}")


class _translated:
    """Turns boto's errors into StoreUnavailable (a 503 with the reason), other errors pass through."""

    def __init__(self, doing: str):
        self.doing = doing

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, _tb):
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(exc, (BotoCoreError, ClientError)):
            raise StoreUnavailable(f"{self.doing} failed: {exc}") from None
        return False


def _missing(exc) -> bool:
    return exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")


def open_store(settings, root: Path) -> ArtifactStore:
    """S3Store when settings.s3_url is set (its bucket checked, or created, and its abandoned uploads swept, now),
    else the data folder itself."""
    if not settings.s3_url:
        return LocalStore(root)
    store = S3Store(settings.s3_url, settings.s3_endpoint)
    store.ensure_bucket()
    store.remove_abandoned_uploads()
    return store
