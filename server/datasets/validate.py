"""Image validation with Pillow: allow-listed formats, header-checked size caps before decoding, full decode."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from ..limits import (
    MAX_IMAGE_BYTES_PER_PIXEL,
    MAX_IMAGE_FRAMES,
    MAX_IMAGE_METADATA_BYTES,
    MAX_IMAGE_PIXELS,
    MAX_IMAGE_TOTAL_PIXELS,
)

# Pillow format name -> (content type, file extension). Nothing else is ever stored or served.
ALLOWED_FORMATS = {
    "PNG": ("image/png", ".png"),
    "JPEG": ("image/jpeg", ".jpg"),
    "WEBP": ("image/webp", ".webp"),
    "GIF": ("image/gif", ".gif"),
    "BMP": ("image/bmp", ".bmp"),
    # Multi-picture JPEG (phone cameras): a JPEG followed by more JPEGs; browsers decode the first, as JPEG.
    "MPO": ("image/jpeg", ".jpg"),
}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp"}


class InvalidImage(ValueError):
    """An image that is not allowed or cannot be decoded; the message names the file."""


@dataclass(frozen=True)
class ImageInfo:
    format: str
    content_type: str
    extension: str
    width: int
    height: int


def validate_image(path: Path, label: str) -> ImageInfo:
    """Check one file and return what the manifest records; `label` names it in errors (its path in the upload)."""
    try:
        with warnings.catch_warnings():
            # Pillow warns, then raises, past its own pixel limit; our caps below are stricter and checked first.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                fmt = im.format
                if fmt not in ALLOWED_FORMATS:
                    raise InvalidImage(f"{label}: format {fmt} is not allowed (PNG, JPEG, WebP, GIF, BMP)")
                width, height = im.size
                if width < 1 or height < 1:
                    raise InvalidImage(f"{label}: image has no pixels")
                if width * height > MAX_IMAGE_PIXELS:
                    raise InvalidImage(
                        f"{label}: {width}x{height} exceeds the {MAX_IMAGE_PIXELS:,}-pixel limit per image"
                    )
                frames = getattr(im, "n_frames", 1)
                if frames > MAX_IMAGE_FRAMES or frames * width * height > MAX_IMAGE_TOTAL_PIXELS:
                    raise InvalidImage(f"{label}: {frames} frames of {width}x{height} exceed the animation limit")
                most = MAX_IMAGE_BYTES_PER_PIXEL * frames * width * height + MAX_IMAGE_METADATA_BYTES
                size = path.stat().st_size
                if size > most:
                    raise InvalidImage(
                        f"{label}: {size:,} bytes for {frames * width * height:,} pixels; at most "
                        f"{MAX_IMAGE_BYTES_PER_PIXEL} bytes per pixel (plus "
                        f"{MAX_IMAGE_METADATA_BYTES // (1024 * 1024)} MiB of metadata) are imported"
                    )
                im.load()  # decodes the first frame: truncated or corrupt data fails here
    except InvalidImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own check fires at open() for sizes far past ours: report it as our cap.
        raise InvalidImage(f"{label}: its size exceeds the {MAX_IMAGE_PIXELS:,}-pixel limit per image") from None
    except UnidentifiedImageError as exc:
        raise InvalidImage(f"{label}: not a readable image ({type(exc).__name__})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidImage(f"{label}: corrupt image ({exc})") from None
    content_type, extension = ALLOWED_FORMATS[fmt]
    return ImageInfo(fmt, content_type, extension, width, height)
