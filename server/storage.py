"""The one module that turns names into paths: checked names, joins that cannot leave the data folder, atomic writes."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from .artifact_store import ArtifactStore, LocalStore, open_store
from .errors import StatusError
from .limits import MAX_NAME_LENGTH, S3_PARALLEL_TRANSFERS

# A name is one plain path segment: it starts with a letter or digit, so never "." / ".." / "-x",
# and holds no separator, NUL, percent sign or drive colon.
# A run's snapshot folder, and the prefix of a snapshot still being written inside it (see runs/snapshots.py).
SNAPSHOTS_DIR = "snapshots"
INCOMING_PREFIX = ".incoming-"
# A work folder in .staging/ (an upload, an import being built, a dataset being deleted).
WORK_PREFIX = "work-"

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_RUN_ID_RE = re.compile(r"[0-9a-f]{12}")


class WorkFolderLost(StatusError, RuntimeError):
    """A work folder vanished under a running import or snapshot write: something outside this process removed it.
    Not the user's fault, but said plainly rather than as a bare 500."""

    status = 500


class UnsafePath(StatusError, ValueError):
    """A name or path that would leave the data folder, or is not a plain name (400)."""


class DiskFull(StatusError, RuntimeError):
    """The disk filled up during a write; what was being written was rolled back (CLI exit 2). 507 Insufficient
    Storage: a 5xx, so the page keeps what it sent and retries later."""

    status = 507


@contextmanager
def full_disk(outcome: str):
    """Turns ENOSPC inside the block into DiskFull("the disk is full; <outcome>"); other errors pass through."""
    try:
        yield
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        raise DiskFull(f"the disk is full; {outcome}") from None


def check_name(name: str, what: str = "name") -> str:
    """Return `name` if it is a safe single segment, else raise UnsafePath with a message a user can act on."""
    if not isinstance(name, str) or not name:
        raise UnsafePath(f"{what} is empty")
    if len(name) > MAX_NAME_LENGTH:
        raise UnsafePath(f"{what} is longer than {MAX_NAME_LENGTH} characters")
    if not _NAME_RE.fullmatch(name) or ".." in name:
        raise UnsafePath(
            f"{what} {name!r} may only hold letters, digits, '.', '_' and '-', and must start with a letter or digit"
        )
    return name


def check_run_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not _RUN_ID_RE.fullmatch(run_id):
        raise UnsafePath(f"run id {run_id!r} is not a run id")
    return run_id


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def inside(root: Path, *parts: str) -> Path:
    """Join `parts` under `root` and refuse the result unless it resolves (symlinks followed) inside `root`.

    Comparing whole resolved paths, not string prefixes, is what refuses sibling folders such as `datasets2`.
    """
    root_real = Path(os.path.realpath(root))
    for part in parts:
        if "\x00" in part or part.startswith(("/", "\\")) or "\\" in part or re.match(r"^[A-Za-z]:", part):
            raise UnsafePath(f"path part {part!r} is not allowed")
    candidate = Path(os.path.realpath(root_real.joinpath(*parts)))
    if candidate != root_real and root_real not in candidate.parents:
        raise UnsafePath("path leaves the data folder")
    return candidate


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file so readers see the old content or the new one, never a torn one (temp + fsync + replace)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def atomic_write_json(path: Path, value) -> None:
    atomic_write_bytes(path, json.dumps(value, indent=1, sort_keys=True).encode())


def read_json(path: Path):
    return json.loads(path.read_bytes())


@contextmanager
def locked(folder: Path):
    """An exclusive flock on the folder itself (no lock file to leave behind), across threads and processes."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _still_names(path: Path, fd: int) -> bool:
    """Whether `path` still names the folder open as `fd` (not removed, not renamed away)."""
    try:
        here = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    there = os.fstat(fd)
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


@contextmanager
def owned_folder(parent: Path, prefix: str):
    """A fresh folder in `parent`, owned by this process while the block runs: an exclusive flock on the folder
    itself, which the kernel drops when the process dies however it dies. Removed after the block (unless the block
    renamed it into place). Several servers may share one data folder, so ownership is what tells a folder in use
    from one a killed process left behind (see remove_if_abandoned)."""
    while True:
        path = Path(tempfile.mkdtemp(dir=parent, prefix=prefix))
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except FileNotFoundError:
            continue  # a sweeper took it in the instant before it was ours: take another
        # Blocking: a sweeper that locked it first is removing it, and the check below then sends us round again.
        fcntl.flock(fd, fcntl.LOCK_EX)
        if _still_names(path, fd):
            break
        os.close(fd)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)  # before the lock goes, so no sweeper races this removal
        os.close(fd)


def remove_if_abandoned(path: Path) -> bool:
    """Remove the work folder `path` if no live process owns it; True if it was removed."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return False  # gone already, or not a folder: nothing of ours
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # its owner is alive (perhaps in another server process)
        if not _still_names(path, fd):
            return False  # its owner finished and renamed it into place meanwhile
        shutil.rmtree(path, ignore_errors=True)
        return True
    finally:
        os.close(fd)


_append_locks: dict[str, threading.Lock] = {}
_append_locks_guard = threading.Lock()


def append_line(path: Path, line: str, then=None) -> None:
    """Append one whole line: one write() of the full line under a thread lock and an flock across processes.
    A write the disk cuts short (or refuses) is cut back off the file, so a full disk never leaves a torn line;
    the OSError (ENOSPC) is raised. `then()`, if given, runs while the lock is still held; if it raises, the line is
    cut back off too (nobody else can have appended after it), so the line lands only together with what `then` does."""
    if "\n" in line:
        raise ValueError("a log line may not contain a newline")
    data = (line + "\n").encode()
    with _append_locks_guard:
        lock = _append_locks.setdefault(str(path), threading.Lock())
    with lock:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size  # every appender holds the lock, so this is where the line will start
            try:
                if os.write(fd, data) != len(data):
                    raise OSError(errno.ENOSPC, "the line was cut short", str(path))
                os.fsync(fd)
                if then is not None:
                    then()
            except BaseException:
                os.ftruncate(fd, size)
                raise
        finally:
            os.close(fd)


def _each(action, things: list) -> None:
    """`action` on every one of `things`, S3_PARALLEL_TRANSFERS at a time; the first error is raised once all end."""
    if len(things) <= 1:
        for thing in things:
            action(thing)
        return
    with ThreadPoolExecutor(min(S3_PARALLEL_TRANSFERS, len(things))) as pool:
        for future in [pool.submit(action, thing) for thing in things]:
            future.result()


def _hidden(relative: Path) -> bool:
    """Work files and folders (.tmp-*, .build-*, .incoming-*) are never published: only what was put in place."""
    return any(part.startswith(".") for part in relative.parts)


class Storage:
    """The data folder's layout. Every path the server touches comes from here."""

    def __init__(self, data_dir: Path, store: ArtifactStore | None = None):
        self.root = Path(os.path.realpath(data_dir))
        for folder in (self.root, self.datasets_dir, self.runs_dir, self.staging_dir):
            folder.mkdir(parents=True, exist_ok=True)
        # Where artifacts are kept for good: the data folder itself (LocalStore), or an S3 store that other servers
        # share, in which case the data folder is this server's cache of it (see server/artifact_store.py).
        self.store = store or LocalStore(self.root)
        self._seen: dict[Path, tuple[float, str]] = {}  # revalidate(): when each copy was checked, and its ETag

    # --- the store: publish after a whole write, fetch before a read ---------------------------------------------

    def key(self, path: Path) -> str:
        """The store's key for a path under the data folder: its path relative to the folder."""
        return Path(path).relative_to(self.root).as_posix()

    def publish(self, path: Path, *, last: tuple[str, ...] = (), under: Path | None = None) -> None:
        """After a completed atomic write: keep `path` in the store (a file, or every file of a folder but its hidden
        work files), under the keys of `under` if given (a work folder stored as what it will be renamed to). The
        files named in `last` (a manifest, a marker) go up after all the others, so a reader that looks for them
        first never finds a partial dataset, snapshot or export."""
        if self.store.local:
            return
        if not path.is_dir():
            self.store.put_file(self.key(under or path), path)
            return

        def put(file: Path) -> None:
            self.store.put_file(self.key((under or path) / file.relative_to(path)), file)

        files = [p for p in sorted(path.rglob("*")) if p.is_file() and not _hidden(p.relative_to(path))]
        first = [p for p in files if p.relative_to(path).as_posix() not in last]
        _each(put, first)  # all of these before any `last` one
        for file in files:
            if file not in first:
                put(file)

    def fetch(self, path: Path, *, refresh: bool = False) -> bool:
        """Before reading a file: download it if it is not here (always, with `refresh`: the epoch log, which several
        servers append to in turn). Whether the file is here now."""
        if self.store.local or (not refresh and path.is_file()):
            return path.is_file()
        return self.store.get_file(self.key(path), path) is not None or path.is_file()

    def fetch_many(self, paths: list[Path]) -> None:
        """fetch() for many files (a bulk pack's items), those not here S3_PARALLEL_TRANSFERS at a time."""
        if not self.store.local:
            _each(self.fetch, [path for path in paths if not path.is_file()])

    def revalidate(self, path: Path, max_age: float) -> tuple[bool, bool]:
        """Before reading a file that other servers may replace or delete (a dataset's manifest): ask the store again
        once the copy here was last checked more than `max_age` seconds ago, downloading it only if it changed; a
        file gone from the store goes from here too. (Whether it is here now, whether this call replaced it.)"""
        if self.store.local:
            return path.is_file(), False
        seen = self._seen.get(path)
        here = path.is_file()
        if here and seen is not None and time.monotonic() - seen[0] < max_age:
            return True, False
        known = seen[1] if here and seen is not None else None
        # A copy of unknown origin (written here, or before this process started) is compared by its bytes.
        before = path.read_bytes() if here and known is None else None
        etag = self.store.get_file(self.key(path), path, etag=known)
        if etag is None:
            self._seen.pop(path, None)
            path.unlink(missing_ok=True)
            return False, here
        self._seen[path] = (time.monotonic(), etag)
        if before is not None:
            return True, path.read_bytes() != before
        return True, here and etag != known

    def forget(self, path: Path) -> None:
        """This server replaced `path` itself: what revalidate() knew of the store's copy no longer holds."""
        self._seen.pop(path, None)

    def fetch_folder(self, path: Path, *, last: tuple[str, ...] = ()) -> None:
        """Before reading a folder: download every file of it that is not here, those named in `last` at the end."""
        if self.store.local:
            return
        prefix = self.key(path) + "/"
        keys = [k for k in self.store.list(prefix) if not _hidden(Path(k[len(prefix) :]))]
        missing = [(k, local) for k in keys if not (local := inside(self.root, *k.split("/"))).is_file()]
        # A key from the store is checked like any name (inside); the `last` ones come after all the others.
        _each(lambda pair: self.store.get_file(*pair), [p for p in missing if p[0][len(prefix) :] not in last])
        for key, local in missing:
            if key[len(prefix) :] in last:
                self.store.get_file(key, local)

    def folders(self, path: Path) -> list[str]:
        """The names of the folders in `path`, as the store has them (what every server sees)."""
        if self.store.local:
            return sorted(p.name for p in path.iterdir() if p.is_dir()) if path.is_dir() else []
        return [name for name in self.store.folders(self.key(path) + "/") if not name.startswith(".")]

    def unpublish(self, path: Path, *, first: tuple[str, ...] = ()) -> None:
        """Remove a folder from the store: the files named in `first` (its manifest) before the rest, so that it
        stops being listed before anything it names goes."""
        if self.store.local:
            return
        prefix = self.key(path) + "/"
        for name in first:
            self.store.delete_prefix(prefix + name)
        self.store.delete_prefix(prefix)

    @property
    def datasets_dir(self) -> Path:
        return self.root / "datasets"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def staging_dir(self) -> Path:
        # Inside the data folder so that finishing an import is one rename on the same filesystem.
        return self.root / ".staging"

    def dataset_dir(self, name: str) -> Path:
        return inside(self.datasets_dir, check_name(name, "dataset name"))

    def run_dir(self, run_id: str) -> Path:
        return inside(self.runs_dir, check_run_id(run_id))

    def work_folder(self):
        """A fresh folder in `.staging/`, this process's own while the block runs, removed after it."""
        return owned_folder(self.staging_dir, WORK_PREFIX)

    def remove_abandoned_work(self) -> None:
        """Remove the work folders that an interrupted import or snapshot write left behind (called at start-up).

        Only those no live process owns: another server on this data folder may be importing right now."""
        for child in self.staging_dir.iterdir():
            if child.is_dir() and not child.is_symlink():
                remove_if_abandoned(child)
            else:
                child.unlink(missing_ok=True)  # the server makes only folders here
        for run in self.runs_dir.iterdir():
            snapshots = run / SNAPSHOTS_DIR
            if run.is_symlink() or snapshots.is_symlink() or not snapshots.is_dir():
                continue  # never follow a link out of the data folder, not even to clean up
            for child in snapshots.iterdir():
                if child.name.startswith(INCOMING_PREFIX):
                    remove_if_abandoned(child)


def open_storage(settings) -> Storage:
    """The data folder of `settings`, with the S3 store it names (settings.s3_url) or the folder itself as its store:
    what the server and the CLI's commands that read or write artifacts use."""
    return Storage(settings.data_dir, open_store(settings, settings.data_dir))
