"""COCO JSON: "images", "annotations" and "categories"; bbox [x, y, w, h] in pixels from the top-left. A category with
a "keypoints" list of names makes a landmarks set: one annotation per image, keypoints [x, y, v] per name."""

from __future__ import annotations

from pathlib import Path

from ...limits import MAX_POINTS_PER_IMAGE
from .records import (
    DETECTION,
    LANDMARKS,
    AnnotatedSet,
    AnnotationError,
    Box,
    Entry,
    Points,
    check_category_count,
    find_image,
    image_folders,
    name,
    number,
    relative,
)


def looks_like(data) -> bool:
    return isinstance(data, dict) and "images" in data and "annotations" in data


def _objects(data: dict, key: str, file: str) -> list[dict]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(obj, dict) for obj in value):
        raise AnnotationError(f"{file}: '{key}' must be a list of objects")
    return value


def _ids(objects: list[dict], what: str, file: str) -> dict[int, dict]:
    by_id: dict[int, dict] = {}
    for index, obj in enumerate(objects):
        key = obj.get("id")
        if isinstance(key, bool) or not isinstance(key, int):
            raise AnnotationError(f"{file}: {what} number {index + 1} has no integer 'id'")
        if key in by_id:
            raise AnnotationError(f"{file}: two {what}s have the id {key}")
        by_id[key] = obj
    return by_id


def _categories(data: dict, file: str) -> tuple[dict[int, str], dict[int, list[str]]]:
    """(id -> name, id -> point names for the categories that name keypoints)."""
    categories = _ids(_objects(data, "categories", file), "category", file)
    check_category_count(len(categories), file)
    names, keypoints = {}, {}
    for key, cat in categories.items():
        where = f"{file} category id {key}"
        names[key] = name(cat.get("name"), where, "'name'")
        if cat.get("keypoints"):
            listed = cat["keypoints"]
            if not isinstance(listed, list) or len(listed) > MAX_POINTS_PER_IMAGE:
                raise AnnotationError(f"{where}: 'keypoints' must be a list of at most {MAX_POINTS_PER_IMAGE} names")
            point_names = [name(n, where, "a keypoint name") for n in listed]
            if len(set(point_names)) != len(point_names):
                raise AnnotationError(f"{where}: a keypoint name appears twice")
            keypoints[key] = point_names
    if len(set(names.values())) != len(names):
        raise AnnotationError(f"{file}: two categories share a name")
    return names, keypoints


def _bbox(value, label: str | None, where: str) -> Box:
    if not isinstance(value, list) or len(value) != 4:
        raise AnnotationError(f"{where}: 'bbox' must be [x, y, width, height], not {value!r}")
    x, y, w, h = (number(v, where, "each bbox value") for v in value)
    return Box(label, x, y, w, h, where)


def _points(ann: dict, names: list[str], where: str) -> Points:
    values = ann.get("keypoints")
    if not isinstance(values, list) or len(values) != 3 * len(names):
        count = len(values) if isinstance(values, list) else 0
        raise AnnotationError(
            f"{where}: {count} keypoint values; its category names {len(names)} points, so {3 * len(names)} values "
            "([x, y, v] each) are expected"
        )
    coords = []
    for index in range(len(names)):
        x, y, v = values[3 * index : 3 * index + 3]
        if v not in (0, 1, 2) or isinstance(v, bool):
            raise AnnotationError(f"{where}: point {names[index]!r} has visibility {v!r}; COCO uses 0, 1 or 2")
        coords.append((number(x, where, "a keypoint x"), number(y, where, "a keypoint y"), int(v)))
    box = _bbox(ann["bbox"], None, where) if ann.get("bbox") is not None else None
    return Points(coords, names, where, box)


def read(path: Path, root: Path, data: dict) -> AnnotatedSet:
    file = relative(path, root)
    names, keypoints = _categories(data, file)
    task = LANDMARKS if keypoints else DETECTION
    if len(keypoints) > 1:
        raise AnnotationError(
            f"{file}: {len(keypoints)} categories name keypoints; a landmarks set has one set of named points"
        )
    folders = image_folders(root, path.parent)
    entries: dict[int, Entry] = {}
    claimed: dict[Path, int] = {}
    for key, image in _ids(_objects(data, "images", file), "image", file).items():
        where = f"{file} image id {key}"
        found = find_image(root, folders, image.get("file_name"), where)
        if found in claimed:
            raise AnnotationError(f"{where}: {image['file_name']!r} is also image id {claimed[found]}")
        claimed[found] = key
        size = (image.get("width"), image.get("height"))
        declared = size if all(isinstance(v, int) and not isinstance(v, bool) for v in size) else None
        entries[key] = Entry(found, declared_size=declared, where=f"{where} ({image['file_name']})")
    for index, ann in enumerate(_objects(data, "annotations", file)):
        where = f"{file} annotation id {ann.get('id', f'? (number {index + 1})')}"
        entry = entries.get(ann.get("image_id"))
        if entry is None:
            raise AnnotationError(f"{where}: image_id {ann.get('image_id')!r} is not in 'images'")
        category = ann.get("category_id")
        if category not in names or isinstance(category, bool):
            raise AnnotationError(f"{where}: category_id {category!r} is not in 'categories'")
        if ann.get("iscrowd"):  # a crowd region marks many objects at once; COCO leaves them out of training too
            continue
        if task == DETECTION:
            entry.boxes.append(_bbox(ann.get("bbox"), names[category], where))
        elif category not in keypoints:
            raise AnnotationError(f"{where}: category {names[category]!r} names no keypoints")
        elif entry.points is not None:
            raise AnnotationError(
                f"{where}: image id {ann['image_id']} has a keypoint annotation already; a landmarks set has one "
                "object per image"
            )
        else:
            entry.points = _points(ann, keypoints[category], where)
    if task == LANDMARKS:
        for entry in entries.values():
            if entry.points is None:
                raise AnnotationError(f"{entry.where} has no keypoint annotation")
        return AnnotatedSet(task, "coco", list(entries.values()), point_names=next(iter(keypoints.values())))
    return AnnotatedSet(task, "coco", list(entries.values()), classes=sorted(names.values()))
