"""Zip extraction that checks every member before writing anything: names, count, sizes, ratios, links."""

from __future__ import annotations

import errno
import stat
import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from ..limits import MAX_ZIP_MEMBER_RATIO, MAX_ZIP_MEMBERS, MAX_ZIP_UNCOMPRESSED_BYTES

_CHUNK = 1024 * 1024


class UnsafeArchive(ValueError):
    """A zip that is malformed, too big, or tries to write outside its folder."""


def _member_path(name: str) -> PurePosixPath:
    if "\x00" in name or "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchive(f"zip member {name!r} has an absolute or non-portable path")
    path = PurePosixPath(name)
    if any(part == ".." for part in path.parts):
        raise UnsafeArchive(f"zip member {name!r} points outside the archive (zip slip)")
    return path


def check_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """Refuse the whole archive on the first problem; return the regular-file members to extract."""
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise UnsafeArchive(f"zip has {len(infos):,} members; the limit is {MAX_ZIP_MEMBERS:,}")
    total = 0
    files = []
    for info in infos:
        _member_path(info.filename)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise UnsafeArchive(f"zip member {info.filename!r} is a symbolic link")
        if info.is_dir():
            continue
        if info.flag_bits & 0x1:
            raise UnsafeArchive(f"zip member {info.filename!r} is encrypted")
        total += info.file_size
        if total > MAX_ZIP_UNCOMPRESSED_BYTES:
            raise UnsafeArchive(f"zip unpacks to more than {MAX_ZIP_UNCOMPRESSED_BYTES:,} bytes")
        if info.file_size > MAX_ZIP_MEMBER_RATIO * max(info.compress_size, 1):
            raise UnsafeArchive(
                f"zip member {info.filename!r} compresses {info.file_size / max(info.compress_size, 1):.0f}:1; "
                f"the limit is {MAX_ZIP_MEMBER_RATIO}:1 (zip bomb)"
            )
        files.append(info)
    return files


def extract(zip_path: Path, dest: Path) -> None:
    """Extract into the empty folder `dest`, counting real bytes too (headers can lie)."""
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError, struct.error) as exc:
        # zipfile reports damaged headers in many ways: an unknown 'version 6.4' is a NotImplementedError
        raise UnsafeArchive(f"not a readable zip file ({exc})") from None
    with archive:
        members = check_members(archive)
        written = 0
        for info in members:
            target = dest.joinpath(*_member_path(info.filename).parts)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, open(target, "xb") as out:
                    member_written = 0
                    while chunk := src.read(_CHUNK):
                        member_written += len(chunk)
                        written += len(chunk)
                        if member_written > info.file_size or written > MAX_ZIP_UNCOMPRESSED_BYTES:
                            raise UnsafeArchive(f"zip member {info.filename!r} unpacks past its declared size")
                        out.write(chunk)
            except (FileExistsError, NotADirectoryError, IsADirectoryError):
                raise UnsafeArchive(f"zip member {info.filename!r} appears twice (as a file or as a folder)") from None
            except UnsafeArchive:
                raise
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError, struct.error) as exc:
                raise UnsafeArchive(f"zip member {info.filename!r} is corrupt ({exc})") from None
            except OSError as exc:
                if exc.errno == errno.ENOSPC:
                    raise  # the importer reports a full disk as such
                # e.g. a name longer than the filesystem allows: the archive's fault, not the server's
                raise UnsafeArchive(f"zip member {info.filename!r} cannot be unpacked here ({exc.strerror})") from None
