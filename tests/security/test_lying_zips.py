"""Zips whose directory lies about compressed sizes, images that are mostly trailing bytes, and imports that must
not hold whole files in memory. Each refusal is a clear 400 and leaves the disk as it was."""

from __future__ import annotations

import io
import os
import struct
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image
from support import imagefolder, png_bytes, start_isolated, upload, zip_bytes

from server.limits import MAX_IMAGE_BYTES_PER_PIXEL, MAX_IMAGE_METADATA_BYTES, MAX_ZIP_MEMBER_RATIO

from .test_uploads import GOOD, forge_sizes, refused

TINY_PNG = png_bytes(1, (1, 1))  # about 70 bytes


def test_bzip2_member_lying_about_its_compressed_size_is_a_zip_bomb(module_server, mclient):
    """73 real bytes of PNG, then zeros: bzip2 packs 20 MB of them into about 100 bytes. The directory claims a
    compressed size that keeps the ratio under the cap; only the bytes really read tell."""
    payload = TINY_PNG + bytes(20 * 1024 * 1024)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_BZIP2) as archive:
        for name, data in GOOD.items():
            archive.writestr(name, data)
        archive.writestr("cat/bomb.png", payload)
    claimed = len(payload) // (MAX_ZIP_MEMBER_RATIO // 2)
    archive = forge_sizes(out.getvalue(), {"cat/bomb.png": (claimed, len(payload))})
    assert len(archive) < 4096
    refused(
        module_server,
        mclient,
        archive,
        says=["cat/bomb.png", "from the bytes it really holds", f"{MAX_ZIP_MEMBER_RATIO}:1 (zip bomb)"],
    )


def test_png_followed_by_megabytes_of_trailing_bytes_is_refused(module_server, mclient):
    """Stored, not compressed, so no ratio catches it: a 1-pixel PNG and 6 MB that decoders skip as trailing data."""
    padded = TINY_PNG + bytes(MAX_IMAGE_METADATA_BYTES + 2 * 1024 * 1024)
    archive = zip_bytes({**GOOD, "dog/padded.png": padded}, compression=zipfile.ZIP_STORED)
    refused(
        module_server,
        mclient,
        archive,
        says=[
            "dog/padded.png",
            f"{len(padded):,} bytes for 1 pixels",
            f"at most {MAX_IMAGE_BYTES_PER_PIXEL} bytes per pixel",
        ],
    )


def peak_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc")


def mpo_of_many_pictures(pictures: int, side: int) -> bytes:
    """A valid multi-picture JPEG of noise: big on disk, while a decoder only ever decodes the first picture."""
    rng = np.random.default_rng(0)
    frames = [Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)) for _ in range(pictures)]
    out = io.BytesIO()
    frames[0].save(out, format="MPO", save_all=True, append_images=frames[1:], quality=100)
    return out.getvalue()


def test_import_streams_each_image_instead_of_reading_it_whole(tmp_path):
    """The server's peak memory grew by each image's full size (read_bytes): 736 MiB for a 314 MB one."""
    server = start_isolated(tmp_path)
    try:
        photo = mpo_of_many_pictures(24, 700)
        assert len(photo) > 20 * 1024 * 1024
        with server.client() as c:
            warm_up = upload(c, "warm-up", zip_bytes(imagefolder({"a": 2, "b": 2})))
            assert warm_up.status_code == 201, warm_up.text
            before = peak_rss_bytes(server.process.pid)
            archive = zip_bytes({"a/photo.jpg": photo, "b/x.png": png_bytes(3)}, compression=zipfile.ZIP_STORED)
            response = upload(c, "big-photo", archive)
            assert response.status_code == 201, response.text
        grown = peak_rss_bytes(server.process.pid) - before
        # The first picture decoded (1.5 MB) and copy buffers; never the 20+ MB file.
        assert grown < len(photo) // 2, (
            f"peak memory grew by {grown / 2**20:.1f} MiB for a {len(photo) / 2**20:.1f} MiB file"
        )
    finally:
        server.stop()
    assert os.path.exists(server.data_dir / "datasets" / "big-photo" / "manifest.json")


def forge_offset(archive: bytes, name: str, offset: int) -> bytes:
    """Point the named member's central-directory entry at another local header offset."""
    data = bytearray(archive)
    position = data.find(b"PK\x01\x02")
    while position != -1:
        length = struct.unpack_from("<H", data, position + 28)[0]
        if data[position + 46 : position + 46 + length].decode() == name:
            struct.pack_into("<I", data, position + 42, offset)
        position = data.find(b"PK\x01\x02", position + 46)
    return bytes(data)


def test_zip_members_pointing_outside_the_data_or_at_each_other_are_refused(module_server, mclient):
    archive = zip_bytes(GOOD)
    directory = archive.find(b"PK\x01\x02")
    refused(
        module_server,
        mclient,
        forge_offset(archive, "cat/000.png", directory + 10),
        says=["cat/000.png", "points outside the archive's data"],
    )
    refused(module_server, mclient, forge_offset(archive, "cat/001.png", 0), says=["overlapping"])


def test_zip_member_with_an_empty_name_is_refused(module_server, mclient):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in GOOD.items():
            archive.writestr(name, data)
        archive.writestr(zipfile.ZipInfo("x"), b"data")
    damaged = out.getvalue()
    # Rename the last member to "" in its central-directory entry (a length of 0; the name byte becomes slack).
    last = damaged.rfind(b"PK\x01\x02")
    damaged = damaged[: last + 28] + struct.pack("<H", 0) + damaged[last + 30 : last + 46] + damaged[last + 47 :]
    end = damaged.rfind(b"PK\x05\x06")
    size = struct.unpack_from("<I", damaged, end + 12)[0]
    damaged = damaged[: end + 12] + struct.pack("<I", size - 1) + damaged[end + 16 :]
    refused(module_server, mclient, damaged, says=["empty name"])
