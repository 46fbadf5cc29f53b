"""What every annotation reader returns (images with boxes or points, each tagged with where in which file it was
written), and the checks the readers share: file size caps, JSON parsing, numbers, names, image paths."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ...json_depth import TooDeep, check_depth
from ...limits import MAX_ANNOTATION_FILE_BYTES, MAX_CATEGORIES, MAX_NAME_CHARS
from ...storage import UnsafePath, inside

DETECTION = "detection"
LANDMARKS = "landmarks"


class AnnotationError(ValueError):
    """An annotation problem; the message names the file and the row, object or id."""


@dataclass
class Box:
    """A box as the file gave it: top-left corner and size, in pixels, or in fractions of the image if `normalised`."""

    label: str | None
    x: float
    y: float
    w: float
    h: float
    where: str
    normalised: bool = False


@dataclass
class Points:
    """One object's named points: (x, y, v) each, v as in COCO (0 not labelled, 1 labelled but hidden, 2 visible)."""

    coords: list[tuple[float, float, int]]
    names: list[str]  # the set's point names, in the same order
    where: str
    box: Box | None = None


@dataclass
class Entry:
    """One image of the set and what was drawn on it."""

    path: Path
    boxes: list[Box] = field(default_factory=list)
    points: Points | None = None
    declared_size: tuple[int, int] | None = None  # (width, height) the annotation file states, checked against the file
    where: str = ""  # names the entry in errors about the image itself


@dataclass
class AnnotatedSet:
    task: str  # DETECTION or LANDMARKS
    source_format: str
    entries: list[Entry]
    classes: list[str] = field(default_factory=list)
    point_names: list[str] = field(default_factory=list)


def relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def read_bytes(path: Path, root: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_ANNOTATION_FILE_BYTES:
        raise AnnotationError(
            f"{relative(path, root)}: {size:,} bytes; annotation files are read up to {MAX_ANNOTATION_FILE_BYTES:,}"
        )
    return path.read_bytes()


def read_text(path: Path, root: Path) -> str:
    try:
        return read_bytes(path, root).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AnnotationError(f"{relative(path, root)}: not UTF-8 text") from None


def read_json(path: Path, root: Path):
    name = relative(path, root)
    try:
        return check_depth(json.loads(read_text(path, root)), name)
    except json.JSONDecodeError as exc:
        raise AnnotationError(f"{name}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except (RecursionError, TooDeep):
        raise AnnotationError(f"{name}: nests too deeply to be an annotation file") from None


def number(value, where: str, what: str) -> float:
    """A finite number (JSON's NaN and Infinity, booleans and numeric strings are refused)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AnnotationError(f"{where}: {what} must be a number, not {value!r}")
    return float(value)


def parse_number(text: str, where: str, what: str) -> float:
    """A number written as text (YOLO, CSV, XML)."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise AnnotationError(f"{where}: {what} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise AnnotationError(f"{where}: {what} {text!r} is not a finite number")
    return value


def name(value, where: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise AnnotationError(f"{where}: {what} must be a non-empty text, not {value!r}")
    value = value.strip()
    if len(value) > MAX_NAME_CHARS:
        raise AnnotationError(f"{where}: {what} is longer than {MAX_NAME_CHARS} characters")
    return value


def check_category_count(count: int, where: str) -> None:
    if count > MAX_CATEGORIES:
        raise AnnotationError(f"{where}: {count:,} categories; the limit is {MAX_CATEGORIES:,}")


def find_image(root: Path, folders: list[Path], filename, where: str) -> Path:
    """The image `filename` names, looked up in each of `folders` in turn (all inside `root`)."""
    if not isinstance(filename, str) or not filename.strip():
        raise AnnotationError(f"{where}: the image file name must be a non-empty text, not {filename!r}")
    parts = PurePosixPath(filename.strip().replace("\\", "/")).parts
    if not parts or parts[0] == "/" or ".." in parts:
        raise AnnotationError(f"{where}: image {filename!r} points outside the dataset")
    for folder in folders:
        try:
            path = inside(folder, *parts)
        except UnsafePath:
            raise AnnotationError(f"{where}: image {filename!r} points outside the dataset") from None
        if path.is_file() and path.resolve().is_relative_to(root.resolve()):
            return path
    raise AnnotationError(f"{where}: image {filename!r} is not in the dataset")


def image_folders(root: Path, beside: Path, *more: str) -> list[Path]:
    """Where a format's file names are looked up: beside the annotation file, in its images/ folder, in `more`
    folders of the root, then the root itself; each folder once, first match wins."""
    folders = [beside, beside / "images", *(root / extra for extra in more), root, root / "images"]
    return list(dict.fromkeys(folders))
