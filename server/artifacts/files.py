"""Export build folders: a fresh work folder per build, atomic moves into place, and reproducible zips."""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)


def work_dir(folder: Path) -> Path:
    """A fresh build folder in `folder`; called under its lock, so any other is one a killed build left behind."""
    for stale in folder.glob(".build-*"):
        shutil.rmtree(stale, ignore_errors=True)
    return Path(tempfile.mkdtemp(dir=folder, prefix=".build-"))


def _fsync_tree(folder: Path) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())


def move_into_place(work: Path, folder: Path, names: list[str]) -> None:
    """Files replace atomically; a folder is removed first (only ever under the lock, before its marker exists)."""
    _fsync_tree(work)
    for name in names:
        target = folder / name
        if (work / name).is_dir():
            if target.exists():
                shutil.rmtree(target)
            os.rename(work / name, target)
        else:
            os.replace(work / name, target)


def tree(folder: Path) -> dict[str, Path]:
    """Every file and folder under `folder`, by its path relative to it (POSIX), for write_zip."""
    return {entry.relative_to(folder).as_posix(): entry for entry in folder.rglob("*")}


def write_zip(path: Path, top: str, entries: dict[str, Path]) -> None:
    """Zip `entries` (name inside the folder -> file or folder on disk) under the folder name `top`: sorted entries,
    fixed timestamps and modes, so equal trees zip equal."""
    with zipfile.ZipFile(path, "w") as archive:
        for relative in sorted(entries):
            entry, name = entries[relative], f"{top}/{relative}"
            if entry.is_dir():
                info = zipfile.ZipInfo(name + "/", ZIP_TIMESTAMP)
                info.external_attr = (0o40755 << 16) | 0x10
                archive.writestr(info, b"")
            else:
                info = zipfile.ZipInfo(name, ZIP_TIMESTAMP)
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, entry.read_bytes(), compresslevel=6)
