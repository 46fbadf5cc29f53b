"""Which annotation format a dataset folder holds, told from its files, and the set read from it.

Looked for at the data root: a COCO or CreateML JSON (also in annotations/), Pascal VOC XML (also in Annotations/),
YOLO's data.yaml, a CSV with a landmarks header. None of them: the folder is a classification set (ImageFolder or
labels.csv). More than one: refused, so a stray file never silently decides what a set means."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ...limits import MAX_BOXES_PER_IMAGE, MAX_DATASET_BOXES
from . import coco, createml, landmarks_csv, voc, yolo
from .records import DETECTION, AnnotatedSet, AnnotationError, read_json, relative

JSON_FOLDERS = ("", "annotations")
# Files that make a folder look like an annotated set's root (a zip's wrapper folder is looked into when it holds one).
MARKER_SUFFIXES = {".json", ".xml", ".yaml", ".yml", ".csv"}


def _json_readers(root: Path) -> list[tuple[str, Callable[[], AnnotatedSet]]]:
    found = []
    for folder in JSON_FOLDERS:
        for path in sorted((root / folder).glob("*.json")):
            if not path.is_file() or path.name.startswith("."):
                continue
            data = read_json(path, root)
            if coco.looks_like(data):
                found.append((f"COCO JSON ({relative(path, root)})", lambda p=path, d=data: coco.read(p, root, d)))
            elif createml.looks_like(data):
                found.append(
                    (f"CreateML JSON ({relative(path, root)})", lambda p=path, d=data: createml.read(p, root, d))
                )
    return found


def _readers(root: Path) -> list[tuple[str, Callable[[], AnnotatedSet]]]:
    found = _json_readers(root)
    if xml_files := voc.annotation_files(root):
        found.append((f"Pascal VOC XML ({relative(xml_files[0], root)}, ...)", lambda: voc.read(root, xml_files)))
    if config := yolo.data_yaml(root):
        found.append((f"YOLO ({config.name})", lambda: yolo.read(root, config)))
    for path in sorted(root.glob("*.csv")):
        if path.is_file() and (names := landmarks_csv.read_header(path, root)):
            found.append((f"landmarks CSV ({path.name})", lambda p=path, n=names: landmarks_csv.read(p, root, n)))
    return found


def _check_caps(annotated: AnnotatedSet) -> None:
    if annotated.task != DETECTION:
        return
    total = 0
    for entry in annotated.entries:
        if len(entry.boxes) > MAX_BOXES_PER_IMAGE:
            raise AnnotationError(f"{entry.where}: {len(entry.boxes):,} boxes; the limit is {MAX_BOXES_PER_IMAGE}")
        total += len(entry.boxes)
    if total > MAX_DATASET_BOXES:
        raise AnnotationError(f"{total:,} boxes in the set; the limit is {MAX_DATASET_BOXES:,}")
    if total == 0:
        raise AnnotationError("no boxes in any image: a detection set needs at least one object to learn from")


def read_annotations(root: Path) -> AnnotatedSet | None:
    """The annotated set in `root`, or None when it holds no annotation file (a classification set)."""
    found = _readers(root)
    if not found:
        return None
    if len(found) > 1:
        raise AnnotationError(
            f"found {len(found)} annotation sources: {'; '.join(what for what, _ in found)}. Keep one per dataset"
        )
    annotated = found[0][1]()
    _check_caps(annotated)
    return annotated


def marks_root(folder: Path) -> bool:
    """Whether `folder` holds a file that could make it an annotated set's root."""
    return any(p.is_file() and p.suffix.lower() in MARKER_SUFFIXES for p in folder.iterdir())
