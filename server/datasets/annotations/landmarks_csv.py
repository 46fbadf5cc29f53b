"""A landmarks CSV: one row per image, a header naming the points. Two header styles are read:

    filename,x1,y1,x2,y2,...                  points named p1, p2, ... in column order
    filename,left_eye_x,left_eye_y,...        points named by the text before _x / _y

The first column may also be called `file` or `image`; pixel coordinates from the image's top-left. A point whose x
and y cells are both empty is not labelled (visibility 0); every other point is visible (2, as in COCO)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from ...limits import MAX_ANNOTATION_FILE_BYTES, MAX_POINTS_PER_IMAGE
from .records import (
    LANDMARKS,
    AnnotatedSet,
    AnnotationError,
    Entry,
    Points,
    find_image,
    image_folders,
    parse_number,
    read_text,
    relative,
)

FILE_COLUMNS = ("filename", "file", "image")
_NUMBERED = re.compile(r"^([xy])(\d+)$")
_NAMED = re.compile(r"^(.+)_([xy])$")


def _column(header: str) -> tuple[str, str] | None:
    """(point name, 'x' or 'y') for a coordinate column's header, else None."""
    text = header.strip()
    if match := _NUMBERED.match(text.lower()):
        return f"p{match.group(2)}", match.group(1)
    if match := _NAMED.match(text):
        return match.group(1), match.group(2).lower()
    return None


def point_names(header: list[str]) -> list[str] | None:
    """The point names a header declares, or None if it is not a landmarks header."""
    if len(header) < 3 or len(header) % 2 == 0 or header[0].strip().lower() not in FILE_COLUMNS:
        return None
    names = []
    for x_header, y_header in zip(header[1::2], header[2::2]):
        x_column, y_column = _column(x_header), _column(y_header)
        if not x_column or not y_column or x_column != (y_column[0], "x") or y_column[1] != "y":
            return None
        names.append(x_column[0])
    return names if len(set(names)) == len(names) else None


def read_header(path: Path, root: Path) -> list[str] | None:
    """The point names if `path` is a landmarks CSV (only its first line is read), else None."""
    with open(path, encoding="utf-8-sig", newline="", errors="replace") as text:
        first = next(csv.reader([text.readline(MAX_ANNOTATION_FILE_BYTES)]), [])
    return point_names(first)


def _rows(path: Path, root: Path):
    reader = csv.reader(io.StringIO(read_text(path, root), newline=""))
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise AnnotationError(f"{relative(path, root)} line {reader.line_num}: {exc}") from None
        yield reader.line_num, row


def _point(x_text: str, y_text: str, where: str, point: str) -> tuple[float, float, int]:
    if not x_text.strip() and not y_text.strip():
        return 0.0, 0.0, 0
    if not x_text.strip() or not y_text.strip():
        raise AnnotationError(f"{where}: point {point!r} has only one coordinate (leave both empty if unlabelled)")
    return parse_number(x_text, where, f"{point}'s x"), parse_number(y_text, where, f"{point}'s y"), 2


def read(path: Path, root: Path, names: list[str]) -> AnnotatedSet:
    file = relative(path, root)
    if len(names) > MAX_POINTS_PER_IMAGE:
        raise AnnotationError(f"{file}: {len(names)} points per image; the limit is {MAX_POINTS_PER_IMAGE}")
    folders = image_folders(root, path.parent)
    entries, claimed = [], {}
    for line_no, row in _rows(path, root):
        if line_no == 1 or not "".join(row).strip():
            continue
        where = f"{file} line {line_no}"
        if len(row) != 1 + 2 * len(names):
            raise AnnotationError(f"{where}: {len(row)} fields; the header has {1 + 2 * len(names)}")
        image = find_image(root, folders, row[0], where)
        if image in claimed:
            raise AnnotationError(f"{where}: {row[0].strip()!r} is on line {claimed[image]} already")
        claimed[image] = line_no
        coords = [_point(x, y, where, n) for n, x, y in zip(names, row[1::2], row[2::2])]
        entries.append(Entry(image, points=Points(coords, names, where), where=where))
    return AnnotatedSet(LANDMARKS, "landmarks-csv", entries, point_names=names)
