"""CreateML JSON: [{"image": FILE, "annotations": [{"label", "coordinates": {"x", "y", "width", "height"}}]}], with
x and y the box's CENTRE in pixels."""

from __future__ import annotations

from pathlib import Path

from .records import (
    DETECTION,
    AnnotatedSet,
    AnnotationError,
    Box,
    Entry,
    check_category_count,
    find_image,
    image_folders,
    name,
    number,
    relative,
)


def looks_like(data) -> bool:
    return isinstance(data, list) and bool(data) and isinstance(data[0], dict) and "image" in data[0]


def _box(annotation, where: str) -> Box:
    if not isinstance(annotation, dict) or not isinstance(annotation.get("coordinates"), dict):
        raise AnnotationError(f"{where}: expected {{'label': ..., 'coordinates': {{x, y, width, height}}}}")
    label = name(annotation.get("label"), where, "'label'")
    at = annotation["coordinates"]
    cx, cy, w, h = (number(at.get(key), where, f"coordinates.{key}") for key in ("x", "y", "width", "height"))
    return Box(label, cx - w / 2, cy - h / 2, w, h, where)


def read(path: Path, root: Path, data: list) -> AnnotatedSet:
    file = relative(path, root)
    folders = image_folders(root, path.parent)
    entries, claimed, classes = [], {}, set()
    for number_in_file, record in enumerate(data, start=1):
        where = f"{file} image {number_in_file}"
        if not isinstance(record, dict) or not isinstance(record.get("annotations", []), list):
            raise AnnotationError(f"{where}: expected {{'image': FILE, 'annotations': [...]}}")
        image = find_image(root, folders, record.get("image"), where)
        if image in claimed:
            raise AnnotationError(f"{where}: {record['image']!r} is listed already as image {claimed[image]}")
        claimed[image] = number_in_file
        entry = Entry(image, where=f"{where} ({record['image']})")
        for index, annotation in enumerate(record.get("annotations", []), start=1):
            entry.boxes.append(_box(annotation, f"{where} ({record['image']}) annotation {index}"))
            classes.add(entry.boxes[-1].label)
        entries.append(entry)
    check_category_count(len(classes), file)
    return AnnotatedSet(DETECTION, "createml", entries, classes=sorted(classes))
