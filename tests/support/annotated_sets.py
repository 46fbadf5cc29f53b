"""Detection and landmark test sets built from pictures that scikit-image ships (nothing is downloaded), and writers
that save one set in each annotation format, so every importer is tested on the same data.

- face_boxes(): real faces (the first 100 of skimage's LFW subset are faces) pasted at random places and sizes into
  random 128x128 crops of real photos, 1-3 per image; each box is exactly the pasted square.
- face_points(): 5 named points placed once by hand on the astronaut's face; each image is a random similarity
  transform (turn, scale, shift) of that photo into 64x64, and the points go through the same transform, so every
  label is exact by construction.
Both are seeded and take well under a second or two.
"""

from __future__ import annotations

import functools
import io
import json
import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry")
# The astronaut's own face, kept out of the background crops: an unboxed face would be a wrong label.
ASTRONAUT_FACE = (150, 30, 310, 210)  # left, top, right, bottom
FACE_COUNT = 100  # lfw_subset(): the first 100 images are faces, the rest are not
FACE_CLASS = "face"
# Hand-placed on skimage.data.astronaut(), pixel coordinates from the top-left (as seen in the picture).
POINT_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
ASTRONAUT_POINTS = ((203.3, 101.7), (246.7, 102.7), (226.0, 127.3), (204.3, 141.7), (244.0, 140.7))
ASTRONAUT_FACE_BOX = (175.0, 60.0, 280.0, 180.0)  # around the face, for COCO's bbox of a keypoint annotation


@dataclass
class Sample:
    file: str
    data: bytes
    width: int
    height: int
    boxes: list[tuple[str, float, float, float, float]] = field(default_factory=list)  # label, x, y, w, h
    points: list[tuple[float, float]] = field(default_factory=list)
    box: tuple[float, float, float, float] | None = None  # around the points (landmark sets)


@functools.cache
def _photo(name: str) -> Image.Image:
    import skimage.data

    return Image.fromarray(getattr(skimage.data, name)()).convert("RGB")


@functools.cache
def _faces() -> list[Image.Image]:
    import skimage.data

    faces = skimage.data.lfw_subset()[:FACE_COUNT]
    return [Image.fromarray((face * 255).round().astype(np.uint8)).convert("RGB") for face in faces]


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def _overlaps(a, b) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _background(rng, size: int) -> Image.Image:
    while True:
        photo = _photo(PHOTOS[rng.integers(len(PHOTOS))])
        left = int(rng.integers(photo.width - size + 1))
        top = int(rng.integers(photo.height - size + 1))
        crop = (left, top, left + size, top + size)
        if photo is _photo("astronaut") and _overlaps(
            (left, top, size, size), (*ASTRONAUT_FACE[:2], ASTRONAUT_FACE[2] - 150, ASTRONAUT_FACE[3] - 30)
        ):
            continue
        return photo.crop(crop)


def face_boxes(count: int = 240, size: int = 128, seed: int = 0) -> list[Sample]:
    """`count` size x size photos with 1-3 real faces pasted in, each face boxed exactly, none overlapping."""
    rng = np.random.default_rng(seed)
    faces = _faces()
    samples = []
    for index in range(count):
        image = _background(rng, size)
        boxes: list[tuple[str, float, float, float, float]] = []
        for _ in range(int(rng.integers(1, 4))):
            for _attempt in range(50):
                side = int(rng.integers(20, 49))
                x, y = (int(v) for v in rng.integers(0, size - side + 1, size=2))
                if not any(_overlaps((x, y, side, side), b[1:]) for b in boxes):
                    break
            else:
                continue  # no room left: fewer faces in this image
            face = faces[int(rng.integers(len(faces)))].resize((side, side), Image.BILINEAR)
            image.paste(face, (x, y))
            boxes.append((FACE_CLASS, float(x), float(y), float(side), float(side)))
        samples.append(Sample(f"img_{index:04d}.jpg", _jpeg(image), size, size, boxes))
    return samples


def _similarity(rng, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A random turn, scale and shift that takes the astronaut's face into a size x size picture: (2x2, offset)."""
    points = np.array(ASTRONAUT_POINTS)
    centre = points.mean(axis=0)
    eye_distance = float(np.linalg.norm(points[1] - points[0]))
    scale = rng.uniform(0.22, 0.30) * size / eye_distance
    angle = math.radians(rng.uniform(-25, 25))
    turn = scale * np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    target = np.array([size / 2, size / 2]) + rng.uniform(-size / 10, size / 10, size=2)
    return turn, target - turn @ centre


def face_points(count: int = 300, size: int = 64, seed: int = 0) -> list[Sample]:
    """`count` size x size views of the astronaut's face, each with its 5 points moved exactly as the picture was."""
    rng = np.random.default_rng(seed)
    photo = _photo("astronaut")
    left, top, right, bottom = ASTRONAUT_FACE_BOX
    corners = np.array([(left, top), (right, top), (left, bottom), (right, bottom)])
    samples = []
    for index in range(count):
        turn, offset = _similarity(rng, size)
        # Pillow maps each output position back to the photo (continuous coordinates, pixel centres at +0.5), so
        # the inverse of out = turn @ p + offset gives the exact picture of the transformed points.
        back = np.linalg.inv(turn)
        start = -back @ offset
        matrix = (back[0, 0], back[0, 1], start[0], back[1, 0], back[1, 1], start[1])
        image = photo.transform((size, size), Image.AFFINE, matrix, resample=Image.BILINEAR)
        moved = [tuple(float(v) for v in turn @ np.array(p) + offset) for p in ASTRONAUT_POINTS]
        bounds = np.array([turn @ c + offset for c in corners])
        x0, y0 = np.clip(bounds.min(axis=0), 0, size)
        x1, y1 = np.clip(bounds.max(axis=0), 0, size)
        box = (float(x0), float(y0), float(x1 - x0), float(y1 - y0))
        samples.append(Sample(f"face_{index:04d}.jpg", _jpeg(image), size, size, points=moved, box=box))
    return samples


# --- writers: one set, each format -----------------------------------------------------------------------------------


def coco(samples: list[Sample], *, annotations: str = "annotations.json", images: str = "images/") -> dict:
    """COCO JSON plus the images (file_name relative to `images`, which the importer looks in)."""
    keypoints = bool(samples and samples[0].points)
    classes = sorted({b[0] for s in samples for b in s.boxes}) or [FACE_CLASS]
    categories = [{"id": i + 1, "name": c, "supercategory": "object"} for i, c in enumerate(classes)]
    if keypoints:
        categories[0]["keypoints"] = list(POINT_NAMES)
        categories[0]["skeleton"] = []
    ids = {c: i + 1 for i, c in enumerate(classes)}
    doc = {"info": {"description": "browsertrain test set"}, "images": [], "annotations": [], "categories": categories}
    for image_id, sample in enumerate(samples, start=1):
        doc["images"].append({"id": image_id, "file_name": sample.file, "width": sample.width, "height": sample.height})
        if keypoints:
            flat = [v for x, y in sample.points for v in (x, y, 2)]
            x, y, w, h = sample.box
            doc["annotations"].append(
                {"id": len(doc["annotations"]) + 1, "image_id": image_id, "category_id": 1, "keypoints": flat,
                 "num_keypoints": len(sample.points), "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0}
            )  # fmt: skip
        for label, x, y, w, h in sample.boxes:
            doc["annotations"].append(
                {"id": len(doc["annotations"]) + 1, "image_id": image_id, "category_id": ids[label],
                 "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0}
            )  # fmt: skip
    members = {images + s.file: s.data for s in samples}
    members[annotations] = json.dumps(doc).encode()
    return members


def voc(samples: list[Sample]) -> dict:
    """Annotations/NAME.xml and JPEGImages/NAME.jpg, as the Pascal VOC devkit lays them out."""
    members = {}
    for s in samples:
        objects = "".join(
            f"<object><name>{label}</name><pose>Unspecified</pose><truncated>0</truncated><difficult>0</difficult>"
            f"<bndbox><xmin>{x:g}</xmin><ymin>{y:g}</ymin><xmax>{x + w:g}</xmax><ymax>{y + h:g}</ymax></bndbox>"
            "</object>"
            for label, x, y, w, h in s.boxes
        )
        xml = (
            f"<annotation><folder>JPEGImages</folder><filename>{s.file}</filename>"
            f"<size><width>{s.width}</width><height>{s.height}</height><depth>3</depth></size>"
            f"<segmented>0</segmented>{objects}</annotation>"
        )
        members[f"Annotations/{s.file.rsplit('.', 1)[0]}.xml"] = xml.encode()
        members[f"JPEGImages/{s.file}"] = s.data
    return members


def yolo(samples: list[Sample], *, names_as_map: bool = False) -> dict:
    """data.yaml plus images/train/*.jpg and labels/train/*.txt (`class cx cy w h`, fractions of the image)."""
    classes = sorted({b[0] for s in samples for b in s.boxes})
    names = "\n".join(f"  {i}: {c}" for i, c in enumerate(classes)) if names_as_map else None
    yaml = "path: .\ntrain: images/train\nval: images/train\n"
    yaml += f"names:\n{names}\n" if names_as_map else f"nc: {len(classes)}\nnames: {json.dumps(classes)}\n"
    members = {"data.yaml": yaml.encode()}
    for s in samples:
        lines = [
            f"{classes.index(label)} {(x + w / 2) / s.width!r} {(y + h / 2) / s.height!r} {w / s.width!r} "
            f"{h / s.height!r}"
            for label, x, y, w, h in s.boxes
        ]
        members[f"images/train/{s.file}"] = s.data
        if lines:  # YOLO writes no file for an image without objects
            members[f"labels/train/{s.file.rsplit('.', 1)[0]}.txt"] = ("\n".join(lines) + "\n").encode()
    return members


def createml(samples: list[Sample]) -> dict:
    """The images with a CreateML JSON beside them (box centres in pixels), named as Roboflow exports it."""
    doc = [
        {
            "image": s.file,
            "annotations": [
                {"label": label, "coordinates": {"x": x + w / 2, "y": y + h / 2, "width": w, "height": h}}
                for label, x, y, w, h in s.boxes
            ],
        }
        for s in samples
    ]
    members = {s.file: s.data for s in samples}
    members["_annotations.createml.json"] = json.dumps(doc).encode()
    return members


def landmarks_csv(samples: list[Sample], *, numbered: bool = False) -> dict:
    """landmarks.csv (filename, then x and y per point) and the images in images/."""
    columns = [f"{axis}{i}" for i in range(1, len(POINT_NAMES) + 1) for axis in "xy"] if numbered else [
        f"{n}_{axis}" for n in POINT_NAMES for axis in "xy"
    ]  # fmt: skip
    rows = [",".join(["filename", *columns])]
    rows += [",".join([s.file, *(repr(v) for p in s.points for v in p)]) for s in samples]
    members = {f"images/{s.file}": s.data for s in samples}
    members["landmarks.csv"] = ("\n".join(rows) + "\n").encode()
    return members
