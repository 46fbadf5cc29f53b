"""The gate's inputs and verdicts: which validation images, decoded how, and where 'flagged' begins."""

from __future__ import annotations

import io

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
