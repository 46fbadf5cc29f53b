"""The server decodes images the way Chromium does: 16-bit PNGs (the quality gate's inputs) and MPO phone photos."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from export.test_gate_inputs import SAMPLES_16, png16
from PIL import Image
from support import mpo_bytes

from server.artifacts import gate

pytestmark = pytest.mark.browser

# What the train page does with an item's bytes (static/js/data/images.js): createImageBitmap, drawImage, read back.
DECODE = """async ([b64, type]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes], { type }));
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  const rgba = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
  return { width: bitmap.width, height: bitmap.height, rgb: Array.from(rgba).filter((_, i) => i % 4 !== 3) };
}"""


def chromium_decodes(page, data: bytes, content_type: str) -> dict:
    return page.evaluate(DECODE, [base64.b64encode(data).decode(), content_type])


@pytest.mark.parametrize("colour", [False, True], ids=["grey16", "rgb16"])
def test_16_bit_png_reads_in_the_gate_as_chromium_decodes_it(page, tmp_path, colour):
    path = png16(SAMPLES_16, tmp_path / "deep.png", colour)
    seen = chromium_decodes(page, path.read_bytes(), "image/png")
    assert (seen["width"], seen["height"]) == (4, 4)
    assert gate.read_rgb(path, 4).reshape(-1).tolist() == seen["rgb"]
    assert seen["rgb"][:3] == [117, 117, 117]  # 0x75FF: the high byte, not 255 (clipped) nor 118 (rounded)


def test_chromium_decodes_an_mpo_phone_photo_as_its_first_jpeg(page):
    data = mpo_bytes()
    seen = chromium_decodes(page, data, "image/jpeg")
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "MPO"
        first = np.asarray(image.convert("RGB"), dtype=np.int16)
    assert (seen["width"], seen["height"]) == (first.shape[1], first.shape[0])
    # Two JPEG decoders agree to a level or two, and the second picture (inverted colours) is far away.
    assert np.abs(np.array(seen["rgb"], dtype=np.int16) - first.reshape(-1)).mean() < 3
