"""Finished detection and landmarks runs with a hand-written evaluation (docs/tasks.md), for the pages that show
them: the datasets are real imports of the annotated test sets, the runs are created and finished through the API,
and every predicted box or point sits at a known offset from the truth, so a test knows what the page must draw.
"""

from __future__ import annotations

import dataclasses

import httpx

from .annotated_sets import POINT_NAMES, coco, face_boxes, face_points
from .builders import upload, zip_bytes

TASK_SET_IMAGES = 24  # small: the pages only need a few images to show
WORST_SHOWN = 4  # worst images in each synthetic evaluation
SMALL_FACE = 32  # faces below this side (pixels) are the "small" class, so the set has two classes
PR_POINTS = 101  # recall 0, 0.01, ..., 1, as the evaluation stores them


def _two_classes(samples):
    """The face set with its boxes split by size into 'small' and 'large', so the per-class views have two rows."""
    return [
        dataclasses.replace(
            s, boxes=[("small" if w < SMALL_FACE else "large", x, y, w, h) for _, x, y, w, h in s.boxes]
        )
        for s in samples
    ]


def _import(client: httpx.Client, name: str, samples) -> dict:
    response = upload(client, name, zip_bytes(coco(samples)))
    assert response.status_code == 201, response.text
    return client.get(f"/api/datasets/{name}").json()


# The epoch records' metric of each task (docs/tasks.md): train_<metric> and val_<metric>.
EPOCH_METRIC = {"detection": "iou", "landmarks": "nme"}


def _finish(client: httpx.Client, dataset: str, task: str, summary: dict) -> str:
    """A run created, given two epochs (loss 0.9 then 0.6, the task's metric 0.3 then 0.5) and finished."""
    created = client.post("/api/runs", json={"dataset": dataset, "config": {"task": task, "epochs": 2}})
    assert created.status_code == 201, created.text
    run_id = created.json()["id"]
    metric = EPOCH_METRIC[task]
    for epoch, (loss, value) in enumerate(((0.9, 0.3), (0.6, 0.5))):
        record = {
            "epoch": epoch,
            "train_loss": loss,
            "val_loss": loss,
            f"train_{metric}": value,
            f"val_{metric}": value,
        }
        posted = client.post(f"/api/runs/{run_id}/epochs", json=record)
        assert posted.status_code == 201, posted.text
    patched = client.patch(f"/api/runs/{run_id}", json={"status": "finished", "summary": {"task": task, **summary}})
    assert patched.status_code == 200, patched.text
    return run_id


def _pr_curve(name: str, ap: float) -> dict:
    """A falling precision-recall curve whose area is about `ap`."""
    recall = [i / (PR_POINTS - 1) for i in range(PR_POINTS)]
    precision = [round(min(1.0, 2 * ap * (1 - r) + 0.1 * (1 - r)), 4) for r in recall]
    return {"name": name, "recall": recall, "precision": precision}


def detection_run(client: httpx.Client, name: str = "faces-boxes") -> tuple[str, dict]:
    """A finished detection run on a real two-class box set; returns (run id, its evaluation)."""
    manifest = _import(client, name, _two_classes(face_boxes(TASK_SET_IMAGES)))
    worst = []
    for item in manifest["items"][:WORST_SHOWN]:
        w, h = item["width"], item["height"]
        truth = [
            {"label": b["label"], "x": b["x"] / w, "y": b["y"] / h, "w": b["w"] / w, "h": b["h"] / h}
            for b in item["boxes"]
        ]
        # The first true box found slightly off, the others missed, and one false detection in the corner.
        found = {**truth[0], "x": truth[0]["x"] + 0.02, "score": 0.91}
        false = {"label": truth[0]["label"], "x": 0.8, "y": 0.8, "w": 0.15, "h": 0.15, "score": 0.42}
        worst.append(
            {"item_id": item["id"], "misses": len(truth) - 1, "false_positives": 1, "truth": truth,
             "predicted": [found, false]}
        )  # fmt: skip
    worst.sort(key=lambda w: -(w["misses"] + w["false_positives"]))
    truths = {c: sum(b["label"] == c for it in manifest["items"] for b in it["boxes"]) for c in manifest["classes"]}
    aps = {"large": (0.82, 0.51), "small": (0.64, 0.33)}
    evaluation = {
        "task": "detection", "count": TASK_SET_IMAGES, "classes": manifest["classes"], "map50": 0.73, "map": 0.42,
        "per_class": [
            {"name": c, "ap50": aps[c][0], "ap50_95": aps[c][1], "truths": truths[c]} for c in manifest["classes"]
        ],
        "pr_curves": [_pr_curve(c, aps[c][0]) for c in manifest["classes"]],
        "worst": worst,
    }  # fmt: skip
    summary = {
        "final_loss": 0.6,
        "val_loss": 0.6,
        "val_accuracy": None,
        "map50": 0.73,
        "map": 0.42,
        "evaluation": evaluation,
    }
    return _finish(client, name, "detection", summary), evaluation


def landmarks_run(client: httpx.Client, name: str = "faces-points") -> tuple[str, dict]:
    """A finished landmarks run on the real 5-point set; every prediction 2 pixels right of the truth."""
    manifest = _import(client, name, face_points(TASK_SET_IMAGES))
    worst = []
    for rank, item in enumerate(manifest["items"][:WORST_SHOWN]):
        w, h = item["width"], item["height"]
        truth = [[x / w, y / h, v] for x, y, v in item["points"]]
        shift = (WORST_SHOWN - rank) * 2 / w  # the worst first: the largest shift first
        worst.append({"item_id": item["id"], "nme": round(0.05 * (WORST_SHOWN - rank), 3), "truth": truth,
                      "predicted": [[x + shift, y] for x, y, _ in truth]})  # fmt: skip
    per_point = [{"name": n, "nme": round(0.03 + 0.01 * i, 3)} for i, n in enumerate(POINT_NAMES)]
    evaluation = {
        "task": "landmarks", "count": TASK_SET_IMAGES, "nme": 0.052, "point_names": list(POINT_NAMES),
        "per_point": per_point, "worst": worst,
    }  # fmt: skip
    summary = {"final_loss": 0.01, "val_loss": 0.012, "val_accuracy": None, "nme": 0.052, "evaluation": evaluation}
    return _finish(client, name, "landmarks", summary), evaluation
