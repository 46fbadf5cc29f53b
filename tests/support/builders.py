"""Builders for what clients send: images, zips, multipart forms."""

from __future__ import annotations

import io
import secrets
import zipfile
from pathlib import Path

import httpx
import numpy as np
from PIL import Image


def png_bytes(seed: int = 0, size: tuple[int, int] = (8, 8)) -> bytes:
    """A small PNG whose pixels depend on `seed`, so different seeds give different bytes."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(seed: int = 0, size: tuple[int, int] = (8, 8)) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(png_bytes(seed, size))).save(out, format="JPEG")
    return out.getvalue()


def mpo_bytes(seed: int = 0, size: tuple[int, int] = (32, 24)) -> bytes:
    """A multi-picture JPEG as phone cameras write it: a JPEG, then a second one (here its colours inverted)."""
    first = Image.open(io.BytesIO(png_bytes(seed, size))).convert("RGB")
    second = Image.eval(first, lambda value: 255 - value)
    out = io.BytesIO()
    first.save(out, format="MPO", save_all=True, append_images=[second], quality=95)
    return out.getvalue()


def imagefolder(classes: dict[str, int], *, prefix: str = "", seed: int = 0) -> dict[str, bytes]:
    """{'cat': 2, 'dog': 3} -> {'cat/000.png': <png>, ...}, every image different."""
    members, n = {}, seed
    for label, count in classes.items():
        for index in range(count):
            members[f"{prefix}{label}/{index:03d}.png"] = png_bytes(n)
            n += 1
    return members


def labels_csv(labels: dict[str, str], *, header: bool = True, seed: int = 100) -> dict[str, bytes]:
    """{'a.png': 'cat'} -> images plus labels.csv."""
    members = {name: png_bytes(seed + i) for i, name in enumerate(labels)}
    rows = (["filename,label"] if header else []) + [f"{name},{label}" for name, label in labels.items()]
    members["labels.csv"] = ("\n".join(rows) + "\n").encode()
    return members


def write_tree(folder: Path, members: dict[str, bytes]) -> Path:
    for name, data in members.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


def zip_bytes(members: dict[str, bytes] | list[tuple[str, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in members.items() if isinstance(members, dict) else members:
            archive.writestr(name, data)
    return out.getvalue()


def upload(client: httpx.Client, name: str, archive: bytes, filename: str = "dataset.zip") -> httpx.Response:
    return client.post("/api/datasets", files={"file": (filename, archive, "application/zip")}, data={"name": name})


def multipart_body(
    parts: list[tuple[str, str | None, str | None, bytes]], boundary: str | None = None
) -> tuple[bytes, str]:
    """Build multipart/form-data by hand: parts are (field name, filename or None, content type or None, data)."""
    boundary = boundary or f"----browsertrain{secrets.token_hex(8)}"
    out = io.BytesIO()
    for field, filename, content_type, data in parts:
        disposition = f'form-data; name="{field}"' + (f'; filename="{filename}"' if filename is not None else "")
        out.write(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode())
        if content_type:
            out.write(f"Content-Type: {content_type}\r\n".encode())
        out.write(b"\r\n" + data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"
