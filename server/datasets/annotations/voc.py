"""Pascal VOC XML: one <annotation> file per image (beside it, or in Annotations/ with the images in JPEGImages/);
each <object> has a <name> and a <bndbox> of xmin, ymin, xmax, ymax in pixels. The box is xmin..xmax wide (no
1-based shift: tools disagree on it, and the difference is within the rounding slack)."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

from ...limits import MAX_ANNOTATION_FILES
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
    parse_number,
    read_bytes,
    relative,
)

ANNOTATIONS_FOLDER = "Annotations"


def annotation_files(root: Path) -> list[Path]:
    """The XML files of a VOC set: at the root or in Annotations/."""
    found = [*root.glob("*.xml"), *(root / ANNOTATIONS_FOLDER).glob("*.xml")]
    return sorted(path for path in found if path.is_file() and not path.name.startswith("."))


def _parse(path: Path, root: Path) -> ElementTree.Element:
    file = relative(path, root)
    data = read_bytes(path, root)
    # VOC files never declare a DOCTYPE; refusing one shuts out entity expansion ("billion laughs") and external
    # entities before the parser sees them.
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise AnnotationError(f"{file}: DOCTYPE and ENTITY declarations are not accepted in annotation XML")
    try:
        tree = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise AnnotationError(f"{file}: not well-formed XML ({exc})") from None
    if tree.tag != "annotation":
        raise AnnotationError(f"{file}: the root element is <{tree.tag}>, not <annotation>")
    return tree


def _text(element: ElementTree.Element, tag: str, where: str) -> str:
    child = element.find(tag)
    if child is None or not (child.text or "").strip():
        raise AnnotationError(f"{where}: <{tag}> is missing or empty")
    return child.text.strip()


def _declared_size(tree: ElementTree.Element, where: str) -> tuple[int, int] | None:
    size = tree.find("size")
    if size is None:
        return None
    width, height = (parse_number(_text(size, tag, where), where, f"<size><{tag}>") for tag in ("width", "height"))
    if width <= 0 or height <= 0:  # some tools write 0 when they did not know: nothing to check against
        return None
    return int(width), int(height)


def _box(obj: ElementTree.Element, where: str) -> Box:
    label = name(_text(obj, "name", where), where, "<name>")
    bndbox = obj.find("bndbox")
    if bndbox is None:
        raise AnnotationError(f"{where}: <bndbox> is missing")
    xmin, ymin, xmax, ymax = (
        parse_number(_text(bndbox, tag, where), where, f"<{tag}>") for tag in ("xmin", "ymin", "xmax", "ymax")
    )
    return Box(label, xmin, ymin, xmax - xmin, ymax - ymin, where)


def read(root: Path, files: list[Path]) -> AnnotatedSet:
    if len(files) > MAX_ANNOTATION_FILES:
        raise AnnotationError(f"{len(files):,} XML files; the limit is {MAX_ANNOTATION_FILES:,}")
    entries, claimed, classes = [], {}, set()
    for path in files:
        file = relative(path, root)
        tree = _parse(path, root)
        folders = image_folders(root, path.parent, "JPEGImages")
        image = find_image(root, folders, _text(tree, "filename", file), file)
        if image in claimed:
            raise AnnotationError(f"{file}: {relative(image, root)} is described by {claimed[image]} already")
        claimed[image] = file
        entry = Entry(image, declared_size=_declared_size(tree, file), where=file)
        for index, obj in enumerate(tree.findall("object"), start=1):
            entry.boxes.append(_box(obj, f"{file} object {index}"))
            classes.add(entry.boxes[-1].label)
        entries.append(entry)
    check_category_count(len(classes), "the XML files")
    return AnnotatedSet(DETECTION, "voc", entries, classes=sorted(classes))
