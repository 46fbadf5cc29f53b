"""Turn a folder or zip into a stored dataset, all or nothing: a classification set (ImageFolder or images +
labels.csv), or a detection or landmarks set in one of the annotation formats (annotations/detect.py tells which)."""

from __future__ import annotations

import csv
import hashlib
import json
import stat as stat_mode
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from ..errors import NotFound, StatusError
from ..limits import MAX_DATASET_ITEMS, MAX_LABELS_CSV_BYTES, MIN_CLASSES, S3_REVALIDATE_SECONDS
from ..storage import (
    Storage,
    UnsafePath,
    WorkFolderLost,
    atomic_write_json,
    check_name,
    full_disk,
    inside,
    locked,
    read_json,
)
from . import zipsafe
from .annotations.detect import marks_root, read_annotations
from .annotations.geometry import annotate
from .annotations.records import DETECTION, LANDMARKS, AnnotatedSet, AnnotationError
from .validate import IMAGE_SUFFIXES, InvalidImage, validate_image

MANIFEST = "manifest.json"
ITEMS_DIR = "items"
LABELS_CSV = "labels.csv"
CLASSIFICATION = "classification"
TASKS = (CLASSIFICATION, DETECTION, LANDMARKS)
# Files that archivers and desktops add; never data.
_COPY_CHUNK = 1024 * 1024
_JUNK = {"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini"}


class DatasetError(StatusError, ValueError):
    """A user's dataset problem: the message says what and where; nothing was written."""


class DatasetExists(DatasetError):
    """A dataset of that name is there already (409)."""

    status = 409


def _visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name not in _JUNK and not p.name.startswith("."))


def _data_root(folder: Path) -> Path:
    """Zips often wrap everything in one top folder: look inside it."""
    children = _visible(folder)
    if len(children) == 1 and children[0].is_dir() and not (folder / LABELS_CSV).exists():
        inner = children[0]
        # Unwrap only a real wrapper: one holding labels.csv, an annotation file or folders, not a lone class folder.
        if (inner / LABELS_CSV).is_file() or marks_root(inner) or any(p.is_dir() for p in _visible(inner)):
            return _data_root(inner)
    return folder


def _refuse_links(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_symlink():
            raise DatasetError(f"{path.relative_to(folder)}: symbolic links are not imported")


def _csv_rows(path: Path):
    """(line number, fields) of each row, read as it streams; a row the csv module refuses is a DatasetError."""
    if path.stat().st_size > MAX_LABELS_CSV_BYTES:
        raise DatasetError(f"{LABELS_CSV} is larger than {MAX_LABELS_CSV_BYTES:,} bytes")
    with open(path, encoding="utf-8-sig", newline="") as text:
        reader = csv.reader(text)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # e.g. a field over the csv module's 131,072 characters, a NUL byte
                raise DatasetError(f"{LABELS_CSV} line {reader.line_num}: {exc}") from None
            yield reader.line_num, row


def _csv_items(root: Path) -> list[tuple[str, Path]]:
    items = []
    for line_no, row in _csv_rows(root / LABELS_CSV):
        if not row or not "".join(row).strip():
            continue
        if len(row) != 2:
            raise DatasetError(f"{LABELS_CSV} line {line_no}: expected 'filename,label', got {len(row)} fields")
        filename, label = row[0].strip(), row[1].strip()
        if line_no == 1 and (filename.lower(), label.lower()) == ("filename", "label"):
            continue
        if not label:
            raise DatasetError(f"{LABELS_CSV} line {line_no}: empty label for {filename!r}")
        try:
            path = inside(root, *Path(filename).parts)
        except UnsafePath:
            # inside()'s own words ('leaves the data folder') would name the wrong folder here
            raise DatasetError(f"{LABELS_CSV} line {line_no}: {filename!r} points outside the dataset") from None
        if not path.is_file():
            raise DatasetError(f"{LABELS_CSV} line {line_no}: file {filename!r} is not in the dataset")
        items.append((label, path))
    return items


def _folder_items(root: Path) -> list[tuple[str, Path]]:
    items = []
    for class_dir in _visible(root):
        if not class_dir.is_dir():
            continue
        for path in sorted(class_dir.rglob("*")):
            if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith("."):
                items.append((class_dir.name, path))
    return items


def _dataset_hash(manifest: dict) -> str:
    """Covers what training sees: classes, the bytes of every image and its label or annotations."""
    classes, items = manifest["classes"], manifest["items"]
    if manifest["task"] == CLASSIFICATION:  # the form every classification set has been hashed in
        content = [classes, [[it["label"], it["sha256"], it["content_type"]] for it in items]]
    else:
        keys = ("boxes", "points", "box")
        content = [
            manifest["task"],
            classes,
            manifest.get("point_names", []),
            [[it["sha256"], it["content_type"], [it.get(key) for key in keys]] for it in items],
        ]
    return hashlib.sha256(json.dumps(content).encode()).hexdigest()[:16]


def _copy_hashed(source: Path, target: Path) -> tuple[int, str]:
    """Copy a file in pieces, hashing as it goes: (bytes, sha256). Never the whole file in memory."""
    digest, size = hashlib.sha256(), 0
    with open(source, "rb") as src, open(target, "xb") as out:
        while chunk := src.read(_COPY_CHUNK):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


# One image to store, and what the manifest says about it given its real (width, height).
Found = tuple[Path, Callable[[int, int], dict]]


def _classification_items(root: Path) -> list[Found]:
    found = _csv_items(root) if (root / LABELS_CSV).is_file() else _folder_items(root)
    if not found:
        raise DatasetError(
            "no images found: use one folder per class (ImageFolder) or images with a labels.csv of filename,label; "
            "or a detection or landmarks set (COCO JSON, Pascal VOC XML, YOLO with data.yaml, CreateML JSON, a "
            "landmarks CSV)"
        )
    _check_count(len(found))
    labels = sorted({label for label, _ in found})
    if len(labels) < MIN_CLASSES:
        raise DatasetError(
            f"only one class ({labels[0]!r}): a classifier needs at least {MIN_CLASSES} classes to tell "
            "apart; add a folder (or labels.csv label) for each other class"
        )
    found.sort(key=lambda pair: (pair[0], str(pair[1].relative_to(root))))
    return [(path, lambda w, h, label=label: {"label": label}) for label, path in found]


def _annotated_items(annotated: AnnotatedSet, root: Path) -> list[Found]:
    if not annotated.entries:
        raise DatasetError(f"the {annotated.source_format} annotations list no images")
    _check_count(len(annotated.entries))
    entries = sorted(annotated.entries, key=lambda entry: str(entry.path.relative_to(root)))
    return [(entry.path, lambda w, h, e=entry: annotate(annotated.task, e, w, h)) for entry in entries]


def _check_count(count: int) -> None:
    if count > MAX_DATASET_ITEMS:
        raise DatasetError(f"{count:,} images; the limit is {MAX_DATASET_ITEMS:,}")


def _store_items(root: Path, out: Path, found: list[Found]) -> list[dict]:
    """Validate and copy each image into `out` (created here), with what the manifest records about it."""
    try:
        # Never mkdir(parents=True): if the work folder was removed under us, recreating it would import whatever
        # part of the source is left and call that a success.
        out.mkdir()
        (out / "items").mkdir()
    except FileNotFoundError:
        raise WorkFolderLost(
            f"the import's work folder {out.parent.name} was removed while it ran; nothing was imported"
        ) from None
    items = []
    for item_id, (path, described) in enumerate(found):
        relative = path.relative_to(root).as_posix()
        info = validate_image(path, relative)
        annotations = described(info.width, info.height)
        stored = f"{ITEMS_DIR}/{item_id}{info.extension}"
        size, sha256 = _copy_hashed(path, out / stored)
        items.append(
            {
                "id": item_id,
                **annotations,
                "file": stored,
                "source": relative,
                "width": info.width,
                "height": info.height,
                "bytes": size,
                "content_type": info.content_type,
                "sha256": sha256,
            }
        )
    return items


def build_dataset(source: Path, out: Path, name: str) -> dict:
    """Validate and copy every image of `source` into `out` (an empty folder); return the manifest."""
    _refuse_links(source)
    root = _data_root(source.resolve())
    annotated = read_annotations(root)
    if annotated is None:
        items = _store_items(root, out, _classification_items(root))
        task, source_format = CLASSIFICATION, "csv" if (root / LABELS_CSV).is_file() else "imagefolder"
        described = {"classes": sorted({it["label"] for it in items})}
    else:
        items = _store_items(root, out, _annotated_items(annotated, root))
        task, source_format = annotated.task, annotated.source_format
        described = {"classes": annotated.classes}
        if task == LANDMARKS:
            described["point_names"] = annotated.point_names
        else:
            described["num_boxes"] = sum(len(it["boxes"]) for it in items)
    manifest = {
        "format": "browsertrain-dataset",
        "version": 1,
        "name": name,
        "task": task,
        "hash": "",
        **described,
        "num_items": len(items),
        "total_bytes": sum(it["bytes"] for it in items),
        "source_format": source_format,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "items": items,
    }
    manifest["hash"] = _dataset_hash(manifest)
    atomic_write_json(out / MANIFEST, manifest)
    return manifest


def _taken(storage: Storage, final: Path) -> bool:
    """Whether a dataset holds this name: its folder here, or its manifest in a shared store."""
    if storage.store.local:
        return final.exists()
    return storage.store.exists(storage.key(final / MANIFEST))


def import_dataset(storage: Storage, source: Path, name: str, *, replace: bool = False) -> dict:
    """Import a folder or a .zip under `name`. On any error nothing is left on disk."""
    check_name(name, "dataset name")
    final = storage.dataset_dir(name)
    if _taken(storage, final) and not replace:
        raise DatasetExists(f"dataset {name!r} already exists")
    # full_disk outside: its DiskFull comes after the work folder is gone.
    with full_disk("nothing was imported"), storage.work_folder() as work:
        try:
            if source.is_file():
                unpacked = work / "source"
                unpacked.mkdir()
                zipsafe.extract(source, unpacked)
                source = unpacked
            elif not source.is_dir():
                raise DatasetError(f"{source}: no such folder or zip file")
            built = work / "dataset"
            manifest = build_dataset(source, built, name)
            # Checked again under the lock: two imports of one name may both have passed the check above, and the
            # second would otherwise silently replace the first.
            with locked(storage.datasets_dir):
                if _taken(storage, final) and not replace:
                    raise DatasetExists(f"dataset {name!r} already exists")
                if final.exists():
                    final.rename(work / "old")  # replace: move the old one aside first so the swap is two renames
                built.rename(final)
            storage.forget(final / MANIFEST)
            storage.publish(final, last=(MANIFEST,))  # the manifest last: no server lists a half-stored dataset
            return manifest
        except (InvalidImage, zipsafe.UnsafeArchive, AnnotationError) as exc:
            raise DatasetError(str(exc)) from None
        except UnicodeDecodeError:
            raise DatasetError(f"{LABELS_CSV} is not UTF-8 text") from None


def _revalidate(storage: Storage, manifest: Path, max_age: float = S3_REVALIDATE_SECONDS) -> None:
    """With a shared store: the manifest as the store has it now (at most `max_age` seconds old). A dataset replaced
    through another server has new items under the same names: the copies here go with the old manifest."""
    _, replaced = storage.revalidate(manifest, max_age)
    if replaced and (manifest.parent / ITEMS_DIR).is_dir():
        with storage.work_folder() as trash:
            try:
                (manifest.parent / ITEMS_DIR).rename(trash / ITEMS_DIR)
            except FileNotFoundError:  # another request of this server dropped them first
                pass


_MANIFEST_CACHE_SIZE = 8
_manifest_cache: OrderedDict[str, tuple[tuple, dict]] = OrderedDict()
_manifest_cache_lock = threading.Lock()


def load_manifest(storage: Storage, name: str) -> dict:
    """The dataset's manifest, parsed once per version: every item request reads it, and a large one takes ms to parse.

    Manifests are only ever replaced whole (a new file), so (inode, size, mtime) names a version. Read-only: shared.
    """
    path = inside(storage.dataset_dir(name), MANIFEST)  # a symlinked manifest is refused, not followed out
    _revalidate(storage, path)
    try:
        stat = path.stat()
    except FileNotFoundError:
        stat = None
    if stat is None or not stat_mode.S_ISREG(stat.st_mode):
        raise NotFound(f"no dataset named {name!r}")
    version = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
    key = str(path)
    with _manifest_cache_lock:
        cached = _manifest_cache.get(key)
        if cached and cached[0] == version:
            _manifest_cache.move_to_end(key)
            return cached[1]
    manifest = read_json(path)
    manifest.setdefault("task", CLASSIFICATION)  # manifests from before detection and landmarks sets
    with _manifest_cache_lock:
        _manifest_cache[key] = (version, manifest)
        _manifest_cache.move_to_end(key)
        while len(_manifest_cache) > _MANIFEST_CACHE_SIZE:
            _manifest_cache.popitem(last=False)
    return manifest


def list_datasets(storage: Storage) -> list[dict]:
    summaries = []
    for name in storage.folders(storage.datasets_dir):
        folder = storage.datasets_dir / name
        manifest_path = folder / MANIFEST
        _revalidate(storage, manifest_path, 0)  # a shared store asked every time (a conditional GET): exact listings
        if folder.is_dir() and not folder.is_symlink() and manifest_path.is_file() and not manifest_path.is_symlink():
            m = read_json(manifest_path)
            summary = {key: m[key] for key in ("name", "hash", "classes", "num_items", "total_bytes", "created_at")}
            summaries.append({**summary, "task": m.get("task", CLASSIFICATION)})
    return summaries


def delete_dataset(storage: Storage, name: str) -> None:
    folder = storage.dataset_dir(name)
    shared = not storage.store.local
    if not (_taken(storage, folder) if shared else (folder / MANIFEST).is_file()):
        raise NotFound(f"no dataset named {name!r}")
    # Rename first so a half-deleted dataset is never visible under its name.
    with storage.work_folder() as trash:
        try:
            with locked(storage.datasets_dir):
                folder.rename(trash / "deleted")
        except FileNotFoundError:  # deleted by someone else meanwhile (or, with a shared store, never fetched here)
            if not shared:
                raise NotFound(f"no dataset named {name!r}") from None
        storage.unpublish(folder, first=(MANIFEST,))  # the manifest first: it stops being listed before items go
