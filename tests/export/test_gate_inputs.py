"""The gate's inputs and verdicts: which validation images, decoded how, and where 'flagged' begins."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from server.artifacts import gate


def png(image: Image.Image, path) -> object:
    out = io.BytesIO()
    image.save(out, format="PNG")
    path.write_bytes(out.getvalue())
    return path


def test_past_the_pixel_cap_the_gate_keeps_an_evenly_spread_subset_not_the_first_class():
    positions = list(range(0, 3000, 3))  # ordered by class, as the split is
    assert gate.spread(positions, 5000) == positions
    chosen = gate.spread(positions, 10)
    assert len(chosen) == 10 and chosen[0] == positions[0] and chosen[-1] == positions[-1]
    gaps = np.diff(chosen)
    assert gaps.max() - gaps.min() <= 3


def test_transparent_pixels_read_as_black_as_a_canvas_gives_them(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:2, :, 3] = 255  # top half opaque red, bottom half fully transparent red
    pixels = gate.read_rgb(png(Image.fromarray(rgba, "RGBA"), tmp_path / "a.png"), 4)
    assert pixels.shape == (4, 4, 3)
    assert (pixels[:2, :, 0] == 200).all() and (pixels[2:] == 0).all()


def test_gray_and_palette_images_become_rgb_at_the_input_size(tmp_path):
    gray = gate.read_rgb(png(Image.new("L", (10, 6), 77), tmp_path / "g.png"), 8)
    assert gray.shape == (8, 8, 3) and (gray == 77).all()
    palette = Image.new("RGB", (5, 5), (10, 20, 30)).convert("P", palette=Image.Palette.ADAPTIVE)
    assert (gate.read_rgb(png(palette, tmp_path / "p.png"), 5) == [10, 20, 30]).all()


@pytest.mark.parametrize("drop, status", [(0.0, "passed"), (1.0, "passed"), (1.01, "flagged"), (-2.0, "passed")])
def test_an_export_is_flagged_only_past_the_allowed_loss(drop, status):
    verdict = gate.verdict({"accuracy": 0.5, "accuracy_drop_points": drop}, 1.0)
    assert verdict == {"status": status, "needs_confirm": status == "flagged"}


def test_an_export_without_numbers_is_unknown_and_needs_a_confirm():
    assert gate.verdict(None, 1.0) == {"status": "unknown", "needs_confirm": True}


# 16-bit samples where the browser's high byte and a rounded scale differ (0x75FF: 117 vs 118; 0x00FF: 0 vs 1).
SAMPLES_16 = np.array(
    [
        [0x75FF, 0x7580, 0x0080, 0x00FF],
        [0xFFFF, 0x8000, 0x80FF, 0x0000],
        [0x0100, 0x01FF, 0xFEFF, 0x1234],
        [0x4321, 0x9ABC, 0xCDEF, 0x7FFF],
    ],
    dtype=np.uint16,
)


def png16(samples: np.ndarray, path, colour: bool = False):
    """A 16-bit PNG (grey, or RGB with the samples in every channel), by hand: Pillow writes 16-bit grey only."""
    if not colour:
        Image.fromarray(samples).save(path, format="PNG")
        return path
    height, width = samples.shape
    rgb = np.repeat(samples[..., None], 3, axis=2).astype(">u2")
    rows = b"".join(b"\x00" + rgb[y].tobytes() for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    )
    return path


@pytest.mark.parametrize("colour", [False, True], ids=["grey16", "rgb16"])
def test_16_bit_png_reads_as_the_browser_sees_it_not_clipped(tmp_path, colour):
    """Pillow's I;16 became 255 where the browser sees 117; tests/e2e/test_browser_decoding.py checks Chromium."""
    pixels = gate.read_rgb(png16(SAMPLES_16, tmp_path / "deep.png", colour), 4)
    expected = np.repeat((SAMPLES_16 >> 8).astype(np.uint8)[..., None], 3, axis=2)
    assert pixels.tolist() == expected.tolist()


def test_the_gate_validates_on_the_share_and_seed_the_run_split_with():
    labels = ["a"] * 10 + ["b"] * 10
    fifth, half = gate.validation_positions(labels, 0.2, 1), gate.validation_positions(labels, 0.5, 1)
    assert (len(fifth), len(half)) == (4, 10)
    assert gate.validation_positions(labels, 0.5, 1) == half != gate.validation_positions(labels, 0.5, 2)
