"""Boxes and points checked against the real image: inside it (with ANNOTATION_SLACK_PIXELS of rounding slack, then
clipped to it), positive sizes, caps; the manifest's form of each item's annotations."""

from __future__ import annotations

from ...limits import ANNOTATION_SLACK_PIXELS
from .records import DETECTION, AnnotationError, Box, Entry, Points

# Coordinates are stored to a thousandth of a pixel: finer is noise, and it makes a YOLO file's fractions give back
# the same numbers as the COCO file they were written from.
DECIMALS = 3


def _in_pixels(box: Box, width: int, height: int) -> tuple[float, float, float, float]:
    if box.normalised:
        return box.x * width, box.y * height, box.w * width, box.h * height
    return box.x, box.y, box.w, box.h


def _outside(where: str, what: str, width: int, height: int) -> AnnotationError:
    return AnnotationError(
        f"{where}: {what} lies outside the {width}x{height} image "
        f"(more than {ANNOTATION_SLACK_PIXELS:g} px past an edge)"
    )


def place_box(box: Box, width: int, height: int) -> dict:
    """The box in pixels from the image's top-left, clipped to the image; AnnotationError if it does not fit."""
    x, y, w, h = _in_pixels(box, width, height)
    if w <= 0 or h <= 0:
        raise AnnotationError(f"{box.where}: the box has a zero or negative size ({w:g} x {h:g} px)")
    slack = ANNOTATION_SLACK_PIXELS
    if x < -slack or y < -slack or x + w > width + slack or y + h > height + slack:
        raise _outside(box.where, f"the box [x {x:g}, y {y:g}, w {w:g}, h {h:g}]", width, height)
    left, top = max(x, 0.0), max(y, 0.0)
    right, bottom = min(x + w, float(width)), min(y + h, float(height))
    if right - left <= 0 or bottom - top <= 0:
        raise _outside(box.where, "the box", width, height)
    placed = {"x": round(left, DECIMALS), "y": round(top, DECIMALS)}
    placed["w"] = round(right - left, DECIMALS)
    placed["h"] = round(bottom - top, DECIMALS)
    return placed if box.label is None else {"label": box.label, **placed}


def place_points(points: Points, width: int, height: int) -> list[list]:
    placed = []
    slack = ANNOTATION_SLACK_PIXELS
    for point, (x, y, visible) in zip(points.names, points.coords):
        if visible == 0:  # not labelled: its coordinates mean nothing (COCO writes 0, 0)
            placed.append([0, 0, 0])
            continue
        if not (-slack <= x <= width + slack and -slack <= y <= height + slack):
            raise _outside(points.where, f"point {point!r} ({x:.6g}, {y:.6g})", width, height)
        x, y = min(max(x, 0.0), float(width)), min(max(y, 0.0), float(height))
        placed.append([round(x, DECIMALS), round(y, DECIMALS), visible])
    return placed


def annotate(task: str, entry: Entry, width: int, height: int) -> dict:
    """The manifest's annotations for one image of `width` x `height` pixels."""
    if entry.declared_size is not None and entry.declared_size != (width, height):
        declared = "x".join(map(str, entry.declared_size))
        raise AnnotationError(
            f"{entry.where}: the annotations are for a {declared} image but the file is {width}x{height}"
        )
    if task == DETECTION:
        return {"boxes": [place_box(box, width, height) for box in entry.boxes]}
    assert entry.points is not None  # the readers refuse a landmarks image without points
    found = {"points": place_points(entry.points, width, height)}
    if entry.points.box is not None:
        found["box"] = place_box(entry.points.box, width, height)
    return found
