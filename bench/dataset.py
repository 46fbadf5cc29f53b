"""Synthetic image datasets for the benchmarks: small JPEGs of shapes on textured backgrounds, imported as users do."""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

from .common import BENCH_DIR, ROOT

# Generated image folders kept between runs (git-ignored): 100,000 JPEGs take a minute or two to draw.
CACHE_DIR = BENCH_DIR / ".cache"
CACHE_CHUNK = 2_000  # images per worker task
CLASSES = ("circle", "square", "triangle", "ring", "cross", "bar", "diamond", "star", "dots", "stripes")
JPEG_QUALITY = 90


def _shape(draw: ImageDraw.ImageDraw, kind: str, size: int, rng: random.Random, colour) -> None:
    c = size / 2 + rng.uniform(-size / 8, size / 8)
    r = size * rng.uniform(0.2, 0.35)
    box = (c - r, c - r, c + r, c + r)
    w = max(1, size // 16)
    if kind == "circle":
        draw.ellipse(box, fill=colour)
    elif kind == "square":
        draw.rectangle(box, fill=colour)
    elif kind == "triangle":
        draw.polygon([(c, c - r), (c + r, c + r), (c - r, c + r)], fill=colour)
    elif kind == "ring":
        draw.ellipse(box, outline=colour, width=3 * w)
    elif kind == "cross":
        draw.line([(c - r, c), (c + r, c)], fill=colour, width=3 * w)
        draw.line([(c, c - r), (c, c + r)], fill=colour, width=3 * w)
    elif kind == "bar":
        draw.rectangle((c - r, c - r / 3, c + r, c + r / 3), fill=colour)
    elif kind == "diamond":
        draw.polygon([(c, c - r), (c + r, c), (c, c + r), (c - r, c)], fill=colour)
    elif kind == "star":
        draw.regular_polygon((c, c, r), 5, rotation=rng.uniform(0, 72), fill=colour)
        draw.regular_polygon((c, c, r / 2), 5, rotation=36, fill=colour)
    elif kind == "dots":
        for _ in range(6):
            x, y = rng.uniform(c - r, c + r), rng.uniform(c - r, c + r)
            draw.ellipse((x - 2 * w, y - 2 * w, x + 2 * w, y + 2 * w), fill=colour)
    elif kind == "stripes":
        for k in range(-2, 3):
            draw.line([(c - r, c + k * r / 2.5), (c + r, c + k * r / 2.5)], fill=colour, width=w)


def make_image(kind: str, size: int, rng: random.Random) -> bytes:
    """One JPEG: a two-colour gradient with some clutter and noise behind a shape of class `kind`."""
    a = [rng.randrange(256) for _ in range(3)]
    b = [rng.randrange(256) for _ in range(3)]
    gradient = Image.linear_gradient("L").resize((size, size)).rotate(rng.uniform(0, 360))
    image = Image.composite(
        Image.new("RGB", (size, size), tuple(a)), Image.new("RGB", (size, size), tuple(b)), gradient
    )
    draw = ImageDraw.Draw(image)
    for _ in range(3):  # clutter
        x, y = rng.uniform(0, size), rng.uniform(0, size)
        s = rng.uniform(2, size / 6)
        draw.rectangle((x, y, x + s, y + s), fill=tuple(rng.randrange(256) for _ in range(3)))
    _shape(draw, kind, size, rng, tuple(rng.randrange(256) for _ in range(3)))
    noise = Image.effect_noise((size, size), rng.uniform(8, 24)).convert("RGB")
    image = Image.blend(image, noise, 0.25).filter(ImageFilter.GaussianBlur(rng.uniform(0, 0.6)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def write_image_folder(folder: Path, count: int, size: int = 64, seed: int = 1) -> int:
    """An ImageFolder tree of `count` JPEGs spread over CLASSES; returns the total bytes written."""
    rng = random.Random(seed)
    total = 0
    for index in range(count):
        kind = CLASSES[index % len(CLASSES)]
        (folder / kind).mkdir(parents=True, exist_ok=True)
        data = make_image(kind, size, rng)
        (folder / kind / f"{index:05d}.jpg").write_bytes(data)
        total += len(data)
    return total


def import_folder(source: Path, data_dir: Path, name: str) -> None:
    """`browsertrain datasets import SOURCE --name NAME`, as a user runs it."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "datasets",
            "import",
            str(source),
            "--name",
            name,
            "--data-dir",
            str(data_dir),
        ],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def import_dataset(data_dir: Path, name: str, count: int, size: int = 64, seed: int = 1) -> dict:
    """Writes the images next to data_dir and imports them with `browsertrain datasets import`."""
    source = data_dir.parent / f"{name}-source"
    total = write_image_folder(source, count, size, seed)
    import_folder(source, data_dir, name)
    return {"name": name, "items": count, "size": size, "bytes": total, "mean_bytes": total / count}


def _write_chunk(job: tuple[Path, int, int, int, int]) -> int:
    folder, start, stop, size, seed = job
    total = 0
    for index in range(start, stop):
        kind = CLASSES[index % len(CLASSES)]
        # One generator per image, so the set is the same whatever the chunking and the number of workers.
        data = make_image(kind, size, random.Random(f"{seed}:{index}"))
        (folder / kind / f"{index:06d}.jpg").write_bytes(data)
        total += len(data)
    return total


def cached_image_folder(count: int, size: int = 64, seed: int = 1, workers: int | None = None) -> tuple[Path, dict]:
    """An ImageFolder tree of `count` JPEGs under CACHE_DIR, drawn in parallel the first time and reused after;
    returns (folder, {"items", "size", "bytes", "mean_bytes", "cached"}). A folder without its finished-marker (an
    interrupted run) is drawn again."""
    folder = CACHE_DIR / f"images-{count}-{size}px-seed{seed}"
    marker = CACHE_DIR / f"{folder.name}.json"
    if marker.exists() and folder.is_dir():
        return folder, {**json.loads(marker.read_text()), "cached": True}
    shutil.rmtree(folder, ignore_errors=True)
    for kind in CLASSES:
        (folder / kind).mkdir(parents=True)
    jobs = [(folder, start, min(count, start + CACHE_CHUNK), size, seed) for start in range(0, count, CACHE_CHUNK)]
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count()) as pool:
        total = sum(pool.map(_write_chunk, jobs))
    summary = {"items": count, "size": size, "bytes": total, "mean_bytes": total / count}
    partial = marker.with_suffix(".tmp")
    partial.write_text(json.dumps(summary))
    os.replace(partial, marker)
    return folder, {**summary, "cached": False}


DATASET = "synthetic5k"  # the name the sync and server benchmarks import their 5,000 images under


def dataset_in(tmp: str, items: int, dataset: tuple[Path, dict] | None = None) -> tuple[Path, dict]:
    """`dataset` ((data folder, import_dataset's summary)) when one is given, else `items` images imported under
    DATASET into a new data folder in `tmp`."""
    if dataset is not None:
        return dataset
    data_dir = Path(tmp) / "data"
    data_dir.mkdir()
    return data_dir, import_dataset(data_dir, DATASET, items)
