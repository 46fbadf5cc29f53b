"""`browsertrain datasets import|list|delete` and `browsertrain runs list`: the data folder from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from . import db
from .config import from_env
from .datasets.importer import DatasetExists, delete_dataset, import_dataset, list_datasets
from .runs.service import list_runs
from .storage import UnsafePath, check_name, open_storage


def _settings(args):
    return from_env(data_dir=args.data_dir)


def cmd_datasets_import(args) -> int:
    storage = open_storage(_settings(args))
    source = Path(args.path)
    name = args.name or _name_from_path(source)
    try:
        manifest = import_dataset(storage, source, name, replace=args.replace)
    except DatasetExists as exc:
        raise DatasetExists(f"{exc}: add --replace to replace it, or choose another --name") from None
    print(f"imported {manifest['name']}: {manifest['num_items']} images, {_labels(manifest)}, hash {manifest['hash']}")
    return 0


def _labels(manifest: dict) -> str:
    """What the images are labelled with, as the import reports it."""
    classes = f"{len(manifest['classes'])} classes ({', '.join(manifest['classes'])})"
    if manifest["task"] == "detection":
        return f"detection: {manifest['num_boxes']} boxes of {classes}, from {manifest['source_format']}"
    if manifest["task"] == "landmarks":
        names = manifest["point_names"]
        return f"landmarks: {len(names)} points ({', '.join(names)}), from {manifest['source_format']}"
    return classes


def _name_from_path(source: Path) -> str:
    """A dataset named after its folder or zip ('digits.zip' → 'digits'), held to the server's name rule."""
    name = source.resolve().name if source.is_dir() else source.stem
    try:
        return check_name(name, "dataset name")
    except UnsafePath as exc:
        raise UnsafePath(f"{exc}; name it with --name NAME") from None


def cmd_datasets_list(args) -> int:
    datasets = list_datasets(open_storage(_settings(args)))
    if args.json:
        print(json.dumps(datasets))
        return 0
    for d in datasets:
        print(f"{d['name']:<24} {d['task']:<14} {d['num_items']:>7} images {len(d['classes']):>4} classes  {d['hash']}")
    if not datasets:
        print("no datasets yet: browsertrain datasets import PATH (named after the folder or zip; --name to choose)")
    return 0


def cmd_datasets_delete(args) -> int:
    delete_dataset(open_storage(_settings(args)), args.name)
    print(f"deleted {args.name}")
    return 0


def _result(summary: dict) -> str:
    """The runs list's result column: validation accuracy, or mAP@0.5 (detection), or NME (landmarks)."""
    task = summary.get("task", "classification")
    key, form = {"detection": ("map50", "mAP {:.3f}"), "landmarks": ("nme", "NME {:.3f}")}.get(
        task, ("val_accuracy", "{:.1%}")
    )
    value = summary.get(key)
    return "-" if value is None else form.format(value)


def cmd_runs_list(args) -> int:
    settings = _settings(args)
    storage = open_storage(settings)
    runs = list_runs(db.connect(settings.database_url), args.dataset)
    if args.json:
        print(json.dumps(runs))
        return 0
    if runs:
        print(
            f"{'run':<{len(runs[0]['id'])}}  {'dataset':<20} {'kind':<7} {'status':<9} {'epochs':>6}  "
            f"{'loss':>10} {'val acc / mAP@0.5 / NME':>23}  created"
        )
    for r in runs:
        summary = r["summary"] or {}
        print(
            f"{r['id']}  {r['dataset']:<20} {r['kind']:<7} {r['status']:<9} {r['epochs_done']:>6}  "
            f"{_significant(summary.get('final_loss')):>10} {_result(summary):>23}  "
            f"{r['created_at']}"
        )
    if runs:
        return 0
    if args.dataset and args.dataset not in {d["name"] for d in list_datasets(storage)}:
        print(
            f"browsertrain: error: there is no dataset named {args.dataset!r} (and no runs of one); "
            "see `browsertrain datasets list`",
            file=sys.stderr,
        )
        return 2
    print(
        f"no runs of {args.dataset} yet: browsertrain train --dataset {args.dataset}"
        if args.dataset
        else "no runs yet: browsertrain train --dataset NAME"
    )
    return 0


def _significant(value, digits: int = 4) -> str:
    """A loss to `digits` significant digits (0.6931, 1.386e-05), or '-' when there is none."""
    return "-" if value is None else f"{value:.{digits}g}"
