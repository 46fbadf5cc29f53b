"""The `browsertrain` command: serve, datasets, train (headless Chromium), runs, export."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__, db
from .config import UnsafeSettings, from_env, is_loopback
from .datasets.importer import DatasetError, delete_dataset, import_dataset, list_datasets
from .runs.service import list_runs
from .storage import DiskFull, Storage, UnsafePath, WorkFolderLost


def _settings(args):
    return from_env(data_dir=getattr(args, "data_dir", None), host=getattr(args, "host", None),
                    port=getattr(args, "port", None), extra_hosts=getattr(args, "allow_host", None))


def cmd_serve(args) -> int:
    import uvicorn

    from .app import create_app
    from .security import install_log_redaction

    settings = _settings(args)
    app = create_app(settings)
    install_log_redaction()
    shown_host = f"[{settings.host}]" if ":" in settings.host else settings.host
    url = f"http://{shown_host}:{settings.port}/"
    if settings.token and not is_loopback(settings.host):
        # Printed once, on the terminal only; the access log redacts it.
        print(f"browsertrain is listening on {url}\nOpen this URL once to log in: {url}?token={settings.token}",
              flush=True)
    else:
        print(f"browsertrain is listening on {url}", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=args.log_level)
    return 0


def cmd_datasets_import(args) -> int:
    storage = Storage(_settings(args).data_dir)
    manifest = import_dataset(storage, Path(args.path), args.name, replace=args.replace)
    print(f"imported {manifest['name']}: {manifest['num_items']} images, {len(manifest['classes'])} classes "
          f"({', '.join(manifest['classes'])}), hash {manifest['hash']}")
    return 0


def cmd_datasets_list(args) -> int:
    datasets = list_datasets(Storage(_settings(args).data_dir))
    if args.json:
        print(json.dumps(datasets))
        return 0
    for d in datasets:
        print(f"{d['name']:<24} {d['num_items']:>7} images {len(d['classes']):>4} classes  {d['hash']}")
    if not datasets:
        print("no datasets yet: browsertrain datasets import PATH --name NAME")
    return 0


def cmd_datasets_delete(args) -> int:
    delete_dataset(Storage(_settings(args).data_dir), args.name)
    print(f"deleted {args.name}")
    return 0


def cmd_runs_list(args) -> int:
    settings = _settings(args)
    Storage(settings.data_dir)
    runs = list_runs(db.connect(settings.database_url), args.dataset)
    if args.json:
        print(json.dumps(runs))
        return 0
    for r in runs:
        loss = (r["summary"] or {}).get("final_loss")
        print(f"{r['id']}  {r['dataset']:<20} {r['kind']:<7} {r['status']:<9} epochs {r['epochs_done']:>4}  "
              f"loss {loss if loss is not None else '-'}  {r['created_at']}")
    if not runs:
        print("no runs yet: browsertrain train --dataset NAME")
    return 0


def cmd_train(args) -> int:
    from .headless import train

    return train(args)


def cmd_export(args) -> int:
    from .artifacts import exports
    from .runs.service import RunError, RunNotFound
    from .storage import atomic_write_bytes, check_run_id

    settings = _settings(args)
    if not args.max_accuracy_drop >= 0:
        print("browsertrain: error: --max-accuracy-drop must be 0 or more points", file=sys.stderr)
        return 2
    try:
        sx = exports.open_snapshot(Storage(settings.data_dir), db.connect(settings.database_url),
                                   check_run_id(args.run_id), args.seq)
        path, filename, verdict = exports.export(sx, args.format, max_drop=args.max_accuracy_drop,
                                                 confirm=args.confirm, raw=args.raw)
    except exports.NeedsConfirm as exc:
        print(f"browsertrain: {exc} (--confirm)", file=sys.stderr)
        return 3
    except RunNotFound as exc:
        print(f"browsertrain: error: no run {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError:
        print(f"browsertrain: error: run {args.run_id} has no snapshot {args.seq}", file=sys.stderr)
        return 2
    except (RunError, exports.ConversionFailed) as exc:
        print(f"browsertrain: error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else Path(filename)
    if out.is_dir():
        out = out / filename
    atomic_write_bytes(out, path.read_bytes())
    entry = exports.summary(sx, args.max_accuracy_drop)
    row = next(f for f in entry["formats"] if f["format"] == args.format)
    if args.json:
        print(json.dumps({"path": str(out), "bytes": out.stat().st_size, "format": args.format, "seq": sx.seq,
                          "verdict": verdict, "gate": row["gate"],
                          "reference_accuracy": entry["gate"]["reference_accuracy"], "labels": entry["labels"]}))
        return 0
    print(f"wrote {out} ({out.stat().st_size:,} bytes, snapshot {sx.seq})")
    known = entry["labels"] is not None
    print(f"labels: {', '.join(entry['labels'])}" if known else f"labels unknown: {entry['labels_unavailable']}")
    if row["gate"]:
        print(f"quality gate: {verdict['status']}: validation accuracy {row['gate']['accuracy']:.1%} "
              f"(float32 {entry['gate']['reference_accuracy']:.1%}, {entry['gate']['val_items']} items), "
              f"max |Δ output| {row['gate']['max_abs_diff']:.3g}")
    elif verdict.get("reason"):
        print(f"quality gate: {verdict['status']}: {verdict['reason']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="browsertrain", description=__doc__)
    parser.add_argument("--version", action="version", version=f"browsertrain {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    def with_data_dir(p):
        p.add_argument("--data-dir", help="the data folder (default: ./data or $BROWSERTRAIN_DATA_DIR)")
        return p

    serve = with_data_dir(commands.add_parser("serve", help="run the web app"))
    serve.add_argument("--host", help="address to bind (default 127.0.0.1; others require a token)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.add_argument("--allow-host", action="append", metavar="NAME",
                       help="another Host name browsers may use (e.g. this machine's LAN name); repeatable")
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve.set_defaults(func=cmd_serve)

    datasets = commands.add_parser("datasets", help="import, list and delete datasets").add_subparsers(
        dest="action", required=True)
    imp = with_data_dir(datasets.add_parser("import", help="import a folder or .zip"))
    imp.add_argument("path", help="an ImageFolder tree or images + labels.csv, as a folder or a .zip")
    imp.add_argument("--name", required=True)
    imp.add_argument("--replace", action="store_true", help="replace a dataset of the same name")
    imp.set_defaults(func=cmd_datasets_import)
    lst = with_data_dir(datasets.add_parser("list", help="list datasets"))
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_datasets_list)
    delete = with_data_dir(datasets.add_parser("delete", help="delete a dataset"))
    delete.add_argument("name")
    delete.set_defaults(func=cmd_datasets_delete)

    runs = commands.add_parser("runs", help="list runs").add_subparsers(dest="action", required=True)
    runs_list = with_data_dir(runs.add_parser("list", help="list runs"))
    runs_list.add_argument("--dataset")
    runs_list.add_argument("--json", action="store_true")
    runs_list.set_defaults(func=cmd_runs_list)

    from .headless import add_train_arguments

    train = with_data_dir(commands.add_parser("train", help="train in headless Chromium, the same page a person uses"))
    add_train_arguments(train)
    train.set_defaults(func=cmd_train)

    from .artifacts.exports import FORMATS
    from .artifacts.gate import DEFAULT_MAX_ACCURACY_DROP

    export = with_data_dir(commands.add_parser(
        "export", help="export a run's snapshot: tfjs, quantized tfjs, Keras H5, SavedModel, TFLite"))
    export.add_argument("run_id", metavar="RUN_ID")
    export.add_argument("--format", required=True, choices=FORMATS)
    export.add_argument("--out", metavar="PATH", help="file or folder to write (default: a descriptive name here)")
    export.add_argument("--seq", type=int, help="the snapshot (default: the latest)")
    export.add_argument("--max-accuracy-drop", type=float, default=DEFAULT_MAX_ACCURACY_DROP, metavar="POINTS",
                        help="validation accuracy points an export may lose before it needs --confirm "
                             f"(default {DEFAULT_MAX_ACCURACY_DROP:g})")
    export.add_argument("--confirm", action="store_true", help="write an export the quality gate flagged")
    export.add_argument("--raw", action="store_true",
                        help="keras, tflite, tflite-dynamic: the bare model file (labels inside) instead of a zip "
                             "with labels.txt and metadata.json beside it")
    export.add_argument("--json", action="store_true", help="print one JSON line: path, size, gate numbers")
    export.set_defaults(func=cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (DatasetError, DiskFull, UnsafePath, UnsafeSettings, FileNotFoundError, WorkFolderLost) as exc:
        print(f"browsertrain: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
