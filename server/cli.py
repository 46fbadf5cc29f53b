"""The `browsertrain` command: serve, datasets, train (headless Chromium), runs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__, db
from .config import UnsafeSettings, from_env, is_loopback
from .datasets.importer import DatasetError, delete_dataset, import_dataset, list_datasets
from .runs.service import list_runs
from .storage import Storage, UnsafePath


def _settings(args):
    return from_env(data_dir=getattr(args, "data_dir", None), host=getattr(args, "host", None),
                    port=getattr(args, "port", None))


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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (DatasetError, UnsafePath, UnsafeSettings, FileNotFoundError) as exc:
        print(f"browsertrain: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
