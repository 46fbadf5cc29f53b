"""The bulk pack: many items in one streamed response that a page splits with typed-array views, no copies.

Layout (all integers little-endian):
    bytes 0-3    magic b"BTPK"
    bytes 4-7    uint32 H, the length of the JSON header
    next H bytes UTF-8 JSON {"version": 1, "dataset", "hash", "items": [{"id", "label", "content_type",
                 "offset", "size"}]}; offsets count from the first payload byte. Items of detection sets carry
                 "boxes" instead of "label", of landmarks sets "points" (and "box" where the set has one), and
                 those carry the image's "width" and "height" (annotations are in its pixels)
    payload      the items' bytes, back to back, in header order
Sizes come from the manifest, so the header goes out before any item is read.
"""

from __future__ import annotations

import json
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import aiofiles

MAGIC = b"BTPK"
# What an item's entry carries of its labels, by task: a label, boxes, points and the box around them.
LABEL_KEYS = ("label", "boxes", "points", "box")
# An annotated item's entry also says the size its annotations' pixels refer to.
SIZE_KEYS = ("width", "height")
MEDIA_TYPE = "application/x-browsertrain-pack"
_CHUNK = 256 * 1024


def pack_header(manifest: dict, items: list[dict]) -> bytes:
    entries, offset = [], 0
    for item in items:
        entries.append(
            {
                "id": item["id"],
                **{key: item[key] for key in LABEL_KEYS if key in item},
                **({key: item[key] for key in SIZE_KEYS} if "label" not in item else {}),
                "content_type": item["content_type"],
                "offset": offset,
                "size": item["bytes"],
            }
        )
        offset += item["bytes"]
    header = json.dumps(
        {"version": 1, "dataset": manifest["name"], "hash": manifest["hash"], "items": entries}, separators=(",", ":")
    ).encode()
    return MAGIC + struct.pack("<I", len(header)) + header


async def stream_pack(dataset_dir: Path, header: bytes, items: list[dict]) -> AsyncIterator[bytes]:
    """The pack whose header is `header` (from pack_header): the header, then each item's bytes."""
    yield header
    for item in items:
        async with aiofiles.open(dataset_dir / item["file"], "rb") as f:
            while chunk := await f.read(_CHUNK):
                yield chunk


def unpack(data: bytes) -> tuple[dict, dict[int, bytes]]:
    """Split a pack (used by the tests); returns the header and {id: bytes}."""
    if data[:4] != MAGIC:
        raise ValueError("not a browsertrain pack")
    (length,) = struct.unpack("<I", data[4:8])
    header = json.loads(data[8 : 8 + length])
    base = 8 + length
    return header, {e["id"]: data[base + e["offset"] : base + e["offset"] + e["size"]] for e in header["items"]}
