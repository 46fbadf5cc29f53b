"""The `browsertrain` command: serve, datasets, train and predict (headless Chromium), runs, export, the queue's
workers and sweeps, db upgrade."""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .cli_export import add_export_arguments
from .cli_queue import add_sweep_arguments, add_sweeps_show_arguments, add_worker_arguments
from .headless import add_train_arguments
from .predict import add_predict_arguments


def _settings(args):
    from .config import from_env  # pydantic-settings loads only for a command that runs

    return from_env(
        data_dir=getattr(args, "data_dir", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        extra_hosts=getattr(args, "allow_host", None),
    )


def cmd_serve(args) -> int:
    import uvicorn

    from .app import create_app
    from .config import is_loopback
    from .security import install_log_redaction

    settings = _settings(args)
    app = create_app(settings)
    install_log_redaction()
    shown_host = f"[{settings.host}]" if ":" in settings.host else settings.host
    url = f"http://{shown_host}:{settings.port}/"
    if settings.token and not is_loopback(settings.host):
        # Printed once, on the terminal only; the access log redacts it.
        print(
            f"browsertrain is listening on {url}\nOpen this URL once to log in: {url}?token={settings.token}",
            flush=True,
        )
    else:
        print(f"browsertrain is listening on {url}", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=args.log_level)
    return 0


def _lazy(module: str, name: str):
    """A command whose module loads only when it runs: a mistyped argument is answered before SQLAlchemy loads."""

    def run(args) -> int:
        return getattr(importlib.import_module(f".{module}", __package__), name)(args)

    return run


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
    serve.add_argument(
        "--allow-host",
        action="append",
        metavar="NAME",
        help="another Host name browsers may use (e.g. this machine's LAN name); repeatable",
    )
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve.set_defaults(func=cmd_serve)

    datasets = commands.add_parser("datasets", help="import, list and delete datasets").add_subparsers(
        dest="action", required=True
    )
    imp = with_data_dir(datasets.add_parser("import", help="import a folder or .zip"))
    imp.add_argument("path", help="an ImageFolder tree or images + labels.csv, as a folder or a .zip")
    imp.add_argument("--name", help="the dataset's name (default: the folder's or the zip's name)")
    imp.add_argument("--replace", action="store_true", help="replace a dataset of the same name")
    imp.set_defaults(func=_lazy("cli_data", "cmd_datasets_import"))
    lst = with_data_dir(datasets.add_parser("list", help="list datasets"))
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=_lazy("cli_data", "cmd_datasets_list"))
    delete = with_data_dir(datasets.add_parser("delete", help="delete a dataset"))
    delete.add_argument("name")
    delete.set_defaults(func=_lazy("cli_data", "cmd_datasets_delete"))

    runs = commands.add_parser("runs", help="list runs").add_subparsers(dest="action", required=True)
    runs_list = with_data_dir(runs.add_parser("list", help="list runs"))
    runs_list.add_argument("--dataset")
    runs_list.add_argument("--json", action="store_true")
    runs_list.set_defaults(func=_lazy("cli_data", "cmd_runs_list"))

    train = with_data_dir(commands.add_parser("train", help="train in headless Chromium, the same page a person uses"))
    add_train_arguments(train)
    train.set_defaults(func=_lazy("headless", "train"), parser=train)

    predict = with_data_dir(
        commands.add_parser(
            "predict", help="predict image files with a run's model, in headless Chromium (the run page's try-it)"
        )
    )
    add_predict_arguments(predict)
    predict.set_defaults(func=_lazy("predict", "cmd_predict"), parser=predict)

    export = with_data_dir(
        commands.add_parser(
            "export", help="export a run's snapshot: tfjs, quantized tfjs, Keras H5, SavedModel, TFLite"
        )
    )
    add_export_arguments(export)
    export.set_defaults(func=_lazy("cli_export", "cmd_export"))

    worker = commands.add_parser(
        "worker", help="headless Chromium workers that take training jobs from a server's queue"
    )
    add_worker_arguments(worker)
    worker.set_defaults(func=_lazy("cli_worker", "cmd_worker"), parser=worker)

    sweep = with_data_dir(commands.add_parser("sweep", help="enqueue a hyperparameter sweep for the workers to train"))
    add_sweep_arguments(sweep)
    sweep.set_defaults(func=_lazy("cli_sweep", "cmd_sweep"), parser=sweep)
    sweeps = commands.add_parser("sweeps", help="sweeps and their trials").add_subparsers(dest="action", required=True)
    show = with_data_dir(sweeps.add_parser("show", help="a sweep's trials, their params and accuracy, and the best"))
    add_sweeps_show_arguments(show)
    show.set_defaults(func=_lazy("cli_sweep", "cmd_sweeps_show"))

    database = commands.add_parser("db", help="the metadata database").add_subparsers(dest="action", required=True)
    upgrade = with_data_dir(
        database.add_parser("upgrade", help="bring the database's schema to this version (a server start does it too)")
    )
    upgrade.set_defaults(func=_lazy("cli_db", "cmd_db_upgrade"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if not isinstance(exc, _user_errors()):
            raise
        print(f"browsertrain: error: {exc}", file=sys.stderr)
        return 2


def _user_errors() -> tuple[type[Exception], ...]:
    """What a user can fix (a bad dataset, a bad path or name, a full disk): exit status 2 and the message."""
    from .config import UnsafeSettings
    from .datasets.importer import DatasetError
    from .errors import NotFound
    from .storage import DiskFull, UnsafePath, WorkFolderLost

    return DatasetError, DiskFull, UnsafePath, UnsafeSettings, NotFound, FileNotFoundError, WorkFolderLost


if __name__ == "__main__":
    sys.exit(main())
