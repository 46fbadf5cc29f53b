"""YOLO txt with data.yaml: one text file per image, each line `class cx cy w h` with the centre and size as
fractions of the image; class names in data.yaml's `names` (a list, or an index -> name map).

Label files are found the way Ultralytics finds them: the image's path with its last `images` folder replaced by
`labels` and a .txt suffix, else a .txt of the same name beside the image. An image without one has no objects (a
negative). Every image under the folder is imported: train/val/test splits in data.yaml are merged, as the server
makes its own validation split."""

from __future__ import annotations

from pathlib import Path

import yaml

from ...limits import MAX_ANNOTATION_FILES
from ..validate import IMAGE_SUFFIXES
from .records import (
    DETECTION,
    AnnotatedSet,
    AnnotationError,
    Box,
    Entry,
    check_category_count,
    name,
    parse_number,
    read_text,
    relative,
)

DATA_YAML_NAMES = ("data.yaml", "data.yml")
LABELS_FOLDER = "labels"


def data_yaml(root: Path) -> Path | None:
    return next((root / n for n in DATA_YAML_NAMES if (root / n).is_file()), None)


def _class_names(path: Path, root: Path) -> dict[int, str]:
    file = relative(path, root)
    try:
        config = yaml.safe_load(read_text(path, root))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise AnnotationError(f"{file}: not valid YAML ({at}{getattr(exc, 'problem', None) or exc})") from None
    names = config.get("names") if isinstance(config, dict) else None
    if isinstance(names, list):
        names = dict(enumerate(names))
    if not isinstance(names, dict) or not names:
        raise AnnotationError(f"{file}: 'names' must be a list of class names or a map of index to name")
    check_category_count(len(names), file)
    by_index = {}
    for index, value in names.items():
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise AnnotationError(f"{file}: class index {index!r} in 'names' is not a whole number from 0")
        by_index[index] = name(value if not isinstance(value, int | float) else str(value), file, f"class {index}")
    if len(set(by_index.values())) != len(by_index):
        raise AnnotationError(f"{file}: two classes in 'names' share a name")
    count = config.get("nc")
    if count is not None and count != len(by_index):
        raise AnnotationError(f"{file}: nc is {count!r} but 'names' lists {len(by_index)} classes")
    return by_index


def _label_file(image: Path, root: Path) -> Path:
    parts = image.relative_to(root).parts
    if "images" in parts[:-1]:
        last = len(parts) - 2 - parts[:-1][::-1].index("images")
        swapped = root.joinpath(*parts[:last], LABELS_FOLDER, *parts[last + 1 :]).with_suffix(".txt")
        if swapped.is_file():
            return swapped
    return image.with_suffix(".txt")


def _images(root: Path) -> list[Path]:
    return sorted(
        path
        for path in root.rglob("*")
        if path.suffix.lower() in IMAGE_SUFFIXES
        and path.is_file()
        and not any(part.startswith(".") or part == "__MACOSX" for part in path.relative_to(root).parts)
    )


def _boxes(path: Path, root: Path, names: dict[int, str]) -> list[Box]:
    file = relative(path, root)
    boxes = []
    for line_no, line in enumerate(read_text(path, root).splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        where = f"{file} line {line_no}"
        if len(fields) != 5:
            raise AnnotationError(
                f"{where}: expected 'class cx cy w h' (5 values), got {len(fields)}; "
                "segmentation polygons and keypoints are not imported"
            )
        try:
            index = int(fields[0])
        except ValueError:
            raise AnnotationError(f"{where}: class {fields[0]!r} is not a whole number") from None
        if index not in names:
            raise AnnotationError(f"{where}: class {index} is not in data.yaml's names ({len(names)} classes)")
        cx, cy, w, h = (parse_number(v, where, what) for v, what in zip(fields[1:], ("cx", "cy", "w", "h")))
        boxes.append(Box(names[index], cx - w / 2, cy - h / 2, w, h, where, normalised=True))
    return boxes


def read(root: Path, config: Path) -> AnnotatedSet:
    names = _class_names(config, root)
    images = _images(root)
    if len(images) > MAX_ANNOTATION_FILES:
        raise AnnotationError(f"{len(images):,} images; the limit is {MAX_ANNOTATION_FILES:,}")
    entries, used = [], set()
    for image in images:
        entry = Entry(image, where=relative(image, root))
        label_file = _label_file(image, root)
        if label_file.is_file():
            used.add(label_file)
            entry.boxes = _boxes(label_file, root, names)
        entries.append(entry)
    # A label file in a labels/ folder that no image claims: its image is missing.
    orphans = sorted(
        p for p in root.rglob("*.txt") if LABELS_FOLDER in p.relative_to(root).parts[:-1] and p not in used
    )
    if orphans:
        raise AnnotationError(f"{relative(orphans[0], root)}: no image of that name (it would be under images/)")
    return AnnotatedSet(DETECTION, "yolo", entries, classes=sorted(names.values()))
