"""`browsertrain export`: one format of a run's snapshot to a file, built here or by a running server (--server)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from urllib.parse import unquote

from .progress import with_progress

# Exit statuses: 2 for what the user can fix in the command; 3 when the quality gate wants --confirm.
EXIT_USAGE, EXIT_NEEDS_CONFIRM, EXIT_UNREACHABLE = 2, 3, 1
DOWNLOAD_TIMEOUT_SECONDS = 900  # a first TensorFlow build of a large model


def add_export_arguments(export) -> None:
    from .artifacts.format_names import DEFAULT_MAX_ACCURACY_DROP, FORMATS

    export.add_argument("run_id", metavar="RUN_ID")
    export.add_argument("--format", required=True, choices=FORMATS)
    export.add_argument("--out", metavar="PATH", help="file or folder to write (default: a descriptive name here)")
    export.add_argument("--seq", type=int, help="the snapshot (default: the latest)")
    export.add_argument(
        "--max-accuracy-drop",
        type=float,
        default=DEFAULT_MAX_ACCURACY_DROP,
        metavar="POINTS",
        help="validation accuracy points an export may lose before it needs --confirm "
        f"(default {DEFAULT_MAX_ACCURACY_DROP:g})",
    )
    export.add_argument("--confirm", action="store_true", help="write an export the quality gate flagged")
    export.add_argument(
        "--raw",
        action="store_true",
        help="keras, tflite, tflite-dynamic: the bare model file (labels inside) instead of a zip "
        "with labels.txt and metadata.json beside it",
    )
    export.add_argument(
        "--server",
        metavar="URL",
        help="have this running server build the export, through its HTTP API "
        "(a token from $BROWSERTRAIN_TOKEN is sent along)",
    )
    export.add_argument("--json", action="store_true", help="print one JSON line: path, size, gate numbers")


def build_message(fmt: str) -> str:
    from .artifacts.format_names import TF_FORMATS

    if fmt in TF_FORMATS:
        return f"building {fmt} export (the first build of a snapshot takes ~30-60 s; later ones come from a cache)"
    return f"building {fmt} export"


def _fail(message: str, status: int = EXIT_USAGE) -> int:
    print(f"browsertrain: error: {message}", file=sys.stderr)
    return status


def cmd_export(args) -> int:
    if not args.max_accuracy_drop >= 0:
        return _fail("--max-accuracy-drop must be 0 or more points")
    built = _from_server(args) if args.server else _here(args)
    if isinstance(built, int):
        return built
    data, filename, entry, verdict = built
    from .storage import atomic_write_bytes

    out = Path(args.out) if args.out else Path(filename)
    if out.is_dir():
        out = out / filename
    atomic_write_bytes(out, data)
    _report(args, out, entry, verdict)
    return 0


def _here(args):
    """Build in this process: (bytes, filename, summary, verdict), or an exit status."""
    from . import db
    from .artifacts import exports
    from .config import from_env
    from .errors import NotFound
    from .runs.service import RunError, RunNotFound
    from .storage import check_run_id, open_storage

    settings = from_env(data_dir=args.data_dir)
    try:
        sx = exports.open_snapshot(
            open_storage(settings), db.connect(settings.database_url), check_run_id(args.run_id), args.seq
        )
        path, filename, verdict = with_progress(
            build_message(args.format),
            lambda: exports.export(
                sx, args.format, max_drop=args.max_accuracy_drop, confirm=args.confirm, raw=args.raw
            ),
        )
    except exports.NeedsConfirm as exc:
        print(f"browsertrain: {exc} (--confirm)", file=sys.stderr)
        return EXIT_NEEDS_CONFIRM
    except RunNotFound as exc:
        return _fail(f"no run {exc}")
    except NotFound:
        return _fail(f"run {args.run_id} has no snapshot {args.seq}")
    except (RunError, exports.ConversionFailed) as exc:
        return _fail(str(exc))
    return path.read_bytes(), filename, exports.summary(sx, args.max_accuracy_drop), verdict


def _from_server(args):
    """Ask --server to build and send the export: (bytes, filename, summary, verdict), or an exit status."""
    import httpx

    from .preflight import api_headers

    base = f"{args.server.rstrip('/')}/api/runs/{args.run_id}"
    query = {
        "format": args.format,
        "max_accuracy_drop": args.max_accuracy_drop,
        "confirm": args.confirm,
        "raw": args.raw,
        **({"seq": args.seq} if args.seq is not None else {}),
    }
    query = {key: (str(value).lower() if isinstance(value, bool) else value) for key, value in query.items()}
    try:
        with httpx.Client(headers=api_headers(args.server), timeout=DOWNLOAD_TIMEOUT_SECONDS) as client:
            download = with_progress(build_message(args.format), lambda: client.get(f"{base}/export", params=query))
            if download.status_code != 200:
                return _server_refused(download)
            summary = client.get(
                f"{base}/exports", params={key: query[key] for key in ("seq", "max_accuracy_drop") if key in query}
            )
            if summary.status_code != 200:
                return _server_refused(summary)
    except httpx.HTTPError as exc:
        return _fail(f"the server at {args.server} did not answer: {exc}", EXIT_UNREACHABLE)
    entry = summary.json()
    row = next(f for f in entry["formats"] if f["format"] == args.format)
    filename = _attachment_name(download.headers.get("content-disposition", "")) or row["filename"]
    return download.content, filename, entry, row["verdict"]


def _server_refused(response) -> int:
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    if response.status_code == 409:
        print(f"browsertrain: {detail} (--confirm)", file=sys.stderr)
        return EXIT_NEEDS_CONFIRM
    if response.status_code in (401, 403):
        detail = f"{detail} (set BROWSERTRAIN_TOKEN to the server's token)"
    return _fail(f"the server answered {response.status_code}: {detail}")


def _attachment_name(disposition: str) -> str | None:
    """The file name a download names (filename*=utf-8''... or filename="..."), without any folder part."""
    match = re.search(r"filename\*=utf-8''([^;]+)", disposition, re.I) or re.search(r'filename="([^"]+)"', disposition)
    return Path(unquote(match.group(1))).name if match else None


def _report(args, out: Path, entry: dict, verdict: dict) -> None:
    row = next(f for f in entry["formats"] if f["format"] == args.format)
    size = out.stat().st_size
    if args.json:
        print(
            json.dumps(
                {
                    "path": str(out),
                    "bytes": size,
                    "format": args.format,
                    "seq": entry["seq"],
                    "verdict": verdict,
                    "gate": row["gate"],
                    "reference_accuracy": entry["gate"]["reference_accuracy"],
                    "labels": entry["labels"],
                }
            )
        )
        return
    print(f"wrote {out} ({size:,} bytes, snapshot {entry['seq']})")
    known = entry["labels"] is not None
    print(f"labels: {', '.join(entry['labels'])}" if known else f"labels unknown: {entry['labels_unavailable']}")
    if row["gate"]:
        print(f"quality gate: {verdict['status']}: {_gate_numbers(row['gate'], entry['gate'])}")
    elif verdict.get("reason"):
        print(f"quality gate: {verdict['status']}: {verdict['reason']}")


def _gate_numbers(numbers: dict, reference: dict) -> str:
    """One export's gate numbers as a line: accuracy for a classifier, boxes or points for the other tasks."""
    items = f"{reference['val_items']} items"
    if "box_agreement" in numbers:
        found = f"box agreement with float32 {numbers['box_agreement']:.3f}, mAP@0.5 {_maybe(numbers['map50'])}"
        return f"{found} (float32 {_maybe(reference.get('reference_map50'))}, {items})"
    if "nme_vs_reference" in numbers:
        shift = f"points moved {numbers['nme_vs_reference']:.4f} of the box diagonal from float32's"
        return f"{shift}, NME {_maybe(numbers['nme'])} (float32 {_maybe(reference.get('reference_nme'))}, {items})"
    return (
        f"validation accuracy {numbers['accuracy']:.1%} (float32 {reference['reference_accuracy']:.1%}, {items}), "
        f"max |Δ output| {numbers['max_abs_diff']:.3g}"
    )


def _maybe(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"
