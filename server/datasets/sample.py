"""The built-in sample dataset: coloured shapes drawn with Pillow, so a first run needs no download."""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw

from ..storage import Storage
from .importer import import_dataset

SAMPLE_NAME = "shapes"
SAMPLE_CLASSES = ("circle", "square", "triangle")
SAMPLE_PER_CLASS = 80
SAMPLE_SIZE = 64
SAMPLE_SEED = 1234


def _draw(shape: str, rng: random.Random) -> Image.Image:
    background = tuple(rng.randint(0, 90) for _ in range(3))
    colour = tuple(rng.randint(140, 255) for _ in range(3))
    im = Image.new("RGB", (SAMPLE_SIZE, SAMPLE_SIZE), background)
    draw = ImageDraw.Draw(im)
    r = rng.randint(12, 24)
    cx, cy = rng.randint(r + 2, SAMPLE_SIZE - r - 2), rng.randint(r + 2, SAMPLE_SIZE - r - 2)
    if shape == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
    elif shape == "square":
        draw.rectangle((cx - r, cy - r, cx + r, cy + r), fill=colour)
    else:
        draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=colour)
    return im


def write_sample_images(folder: Path) -> None:
    """Write the sample as an ImageFolder tree (deterministic for SAMPLE_SEED)."""
    rng = random.Random(SAMPLE_SEED)
    for shape in SAMPLE_CLASSES:
        (folder / shape).mkdir(parents=True, exist_ok=True)
        for index in range(SAMPLE_PER_CLASS):
            _draw(shape, rng).save(folder / shape / f"{shape}_{index:03d}.png", optimize=True)


def ensure_sample(storage: Storage, shipped: Path | None = None) -> None:
    """Create the sample dataset unless one of that name is there: from the shipped copy, else drawn afresh."""
    if (storage.datasets_dir / SAMPLE_NAME).exists():
        return
    source = shipped / SAMPLE_NAME if shipped else None
    if source is not None and source.is_dir():
        import_dataset(storage, source, SAMPLE_NAME)
        return
    with storage.work_folder() as drawn:
        write_sample_images(drawn)
        import_dataset(storage, drawn, SAMPLE_NAME)
