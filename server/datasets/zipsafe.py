"""Zip extraction that checks every member before writing anything: names, count, sizes, ratios, links."""

from __future__ import annotations

import bz2
import errno
import lzma
import stat
import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from ..limits import MAX_ZIP_MEMBER_RATIO, MAX_ZIP_MEMBERS, MAX_ZIP_UNCOMPRESSED_BYTES
from ..storage import WorkFolderLost

_CHUNK = 1024 * 1024


class UnsafeArchive(ValueError):
    """A zip that is malformed, too big, or tries to write outside its folder."""


def _member_path(name: str) -> PurePosixPath:
    if not name:
        raise UnsafeArchive("a zip member has an empty name")
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


_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # a member's local header, as zipfile reads it
_LOCAL_SIGNATURE = b"PK\x03\x04"
_READ_CHUNK = 64 * 1024


def _data_spans(archive: zipfile.ZipFile, raw, members: list[zipfile.ZipInfo]) -> dict[int, tuple[int, int]]:
    """header offset -> (start, end) of each member's bytes as they really lie in the file, up to the next member (or
    the central directory). Only these bytes count as a member's compressed size: the directory's claim can lie."""
    offsets = [info.header_offset for info in archive.infolist()]
    if len(set(offsets)) != len(offsets):
        raise UnsafeArchive("zip members share their data (overlapping entries)")
    bounds = sorted(offsets) + [archive.start_dir]
    following = dict(zip(bounds, bounds[1:]))
    spans = {}
    for info in members:
        if not 0 <= info.header_offset < archive.start_dir:  # a damaged directory can point anywhere, even before 0
            raise UnsafeArchive(f"zip member {info.filename!r} points outside the archive's data")
        raw.seek(info.header_offset)
        header = raw.read(_LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size or header[:4] != _LOCAL_SIGNATURE:
            raise UnsafeArchive(f"zip member {info.filename!r} has no local header where the directory says")
        fields = _LOCAL_HEADER.unpack(header)
        start = info.header_offset + _LOCAL_HEADER.size + fields[10] + fields[11]
        end = following[info.header_offset]
        if start > end:
            raise UnsafeArchive(f"zip member {info.filename!r} overlaps the next one")
        spans[info.header_offset] = (start, end)
    return spans


def _decompressor(info: zipfile.ZipInfo, read):
    """A decompressor for the member's method: each yields at most _CHUNK bytes a call, so no member is ever
    inflated in memory whole (a bzip2 member can expand a million-fold within one 4 KiB read)."""
    if info.compress_type == zipfile.ZIP_DEFLATED:
        return zlib.decompressobj(-zlib.MAX_WBITS)
    if info.compress_type == zipfile.ZIP_BZIP2:
        return bz2.BZ2Decompressor()
    if info.compress_type == zipfile.ZIP_LZMA:
        head = read(4)  # version (2 bytes), then the length of the LZMA properties that follow
        if len(head) != 4:
            raise UnsafeArchive(f"zip member {info.filename!r} is corrupt (no LZMA header)")
        properties = read(struct.unpack("<H", head[2:])[0])
        try:
            filters = [lzma._decode_filter_properties(lzma.FILTER_LZMA1, properties)]  # as zipfile does
        except lzma.LZMAError as exc:
            raise UnsafeArchive(f"zip member {info.filename!r} is corrupt ({exc})") from None
        return lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=filters)
    raise UnsafeArchive(
        f"zip member {info.filename!r} uses compression method {info.compress_type}; "
        "stored, deflate, bzip2 and LZMA are supported"
    )


def _member_chunks(raw, info: zipfile.ZipInfo, start: int, end: int, used: list[int]):
    """Yield the member's unpacked bytes in pieces of at most _CHUNK; `used[0]` ends as the packed bytes it used."""
    raw.seek(start)
    left = end - start

    def read(size: int = _READ_CHUNK) -> bytes:
        nonlocal left
        data = raw.read(min(size, left))
        left -= len(data)
        used[0] += len(data)
        return data

    if info.compress_type == zipfile.ZIP_STORED:
        remaining = info.file_size
        while remaining:
            data = read(min(_CHUNK, remaining))
            if not data:
                raise UnsafeArchive(f"zip member {info.filename!r} is corrupt (it ends early)")
            remaining -= len(data)
            yield data
        return
    decompressor = _decompressor(info, read)
    inflating = info.compress_type == zipfile.ZIP_DEFLATED
    pending = b""  # deflate's input not yet taken (bzip2 and LZMA keep theirs inside)
    while not decompressor.eof:
        if inflating:
            if not pending:
                pending = read()
                if not pending:  # no more bytes: what zlib still holds, if the stream ends there
                    data = decompressor.flush()
                    if not decompressor.eof:
                        raise UnsafeArchive(f"zip member {info.filename!r} is corrupt (it ends early)")
                    yield data
                    break
            data = decompressor.decompress(pending, _CHUNK)
            pending = decompressor.unconsumed_tail
        else:
            packed = read() if decompressor.needs_input else b""
            if decompressor.needs_input and not packed:
                raise UnsafeArchive(f"zip member {info.filename!r} is corrupt (it ends early)")
            data = decompressor.decompress(packed, _CHUNK)
        if data:
            yield data
    used[0] -= len(decompressor.unused_data) + len(pending)


def _make_parents(dest: Path, member: PurePosixPath) -> Path:
    """Create the member's folders under `dest`, one level at a time: never `dest` itself, so a work folder removed
    under a running import fails it instead of being quietly recreated with part of the upload."""
    folder = dest
    for part in member.parts[:-1]:
        folder = folder / part
        folder.mkdir(exist_ok=True)
    return folder / member.parts[-1]


def _unpack(raw, info: zipfile.ZipInfo, span: tuple[int, int], target: Path, written_before: int) -> int:
    """Write one member to `target`; return the bytes written. Refuses a member that unpacks past its declared size,
    past MAX_ZIP_MEMBER_RATIO times the bytes it really occupies, or with a wrong CRC."""
    start, end = span
    used, written, crc = [0], 0, 0
    with open(target, "xb") as out:
        for chunk in _member_chunks(raw, info, start, end, used):
            written += len(chunk)
            if written > info.file_size or written_before + written > MAX_ZIP_UNCOMPRESSED_BYTES:
                raise UnsafeArchive(f"zip member {info.filename!r} unpacks past its declared size")
            if written > MAX_ZIP_MEMBER_RATIO * max(end - start, 1):  # it can only get worse from here
                raise _bomb(info, written, end - start)
            crc = zlib.crc32(chunk, crc)
            out.write(chunk)
    if written > MAX_ZIP_MEMBER_RATIO * max(used[0], 1):
        raise _bomb(info, written, used[0])
    if written != info.file_size or crc != info.CRC:
        raise UnsafeArchive(f"zip member {info.filename!r} is corrupt (its size or CRC is not what the zip says)")
    return written


def _bomb(info: zipfile.ZipInfo, unpacked: int, packed: int) -> UnsafeArchive:
    return UnsafeArchive(
        f"zip member {info.filename!r} unpacks {unpacked / max(packed, 1):.0f}:1 from the bytes it "
        f"really holds; the limit is {MAX_ZIP_MEMBER_RATIO}:1 (zip bomb)"
    )


def extract(zip_path: Path, dest: Path) -> None:
    """Extract into the empty folder `dest`, reading each member's bytes ourselves: sizes and ratios are counted on
    what is really there (headers can lie), and nothing is ever held in memory whole."""
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, ValueError, struct.error) as exc:
        # zipfile reports damaged headers in many ways: an unknown 'version 6.4' is a NotImplementedError
        raise UnsafeArchive(f"not a readable zip file ({exc})") from None
    with archive, open(zip_path, "rb") as raw:
        members = check_members(archive)
        spans = _data_spans(archive, raw, members)
        written = 0
        for info in members:
            try:
                target = _make_parents(dest, _member_path(info.filename))
                written += _unpack(raw, info, spans[info.header_offset], target, written)
            except (FileExistsError, NotADirectoryError, IsADirectoryError):
                raise UnsafeArchive(f"zip member {info.filename!r} appears twice (as a file or as a folder)") from None
            except UnsafeArchive:
                raise
            except (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError) as exc:
                if isinstance(exc, FileNotFoundError) and not dest.is_dir():
                    raise WorkFolderLost(
                        f"the import's work folder {dest.parent.name} was removed while it ran; nothing was imported"
                    ) from None
                if isinstance(exc, OSError) and not isinstance(exc, EOFError) and exc.errno is not None:
                    if exc.errno == errno.ENOSPC:
                        raise  # the importer reports a full disk as such
                    # e.g. a name longer than the filesystem allows: the archive's fault, not the server's
                    raise UnsafeArchive(
                        f"zip member {info.filename!r} cannot be unpacked here ({exc.strerror})"
                    ) from None
                raise UnsafeArchive(f"zip member {info.filename!r} is corrupt ({exc})") from None
