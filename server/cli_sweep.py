"""`browsertrain sweep` and `browsertrain sweeps show`: a sweep enqueued on a server (--server) or in this data
folder's database, through the same service; bad arguments exit with status 2 before anything is written."""

from __future__ import annotations

import json
import sys

from .cli_options import AUGMENT_MODE, OptionConflict, page_query
from .preflight import API_TIMEOUT_SECONDS, api_headers
from .sweeps.space import SweepError, config_from_fields, config_key, parse_value

LIST_KEY_SEPARATOR = ";"  # between the values of a list setting (model.stages), whose values hold commas


def _values(key: str, text: str) -> list:
    separator = LIST_KEY_SEPARATOR if key == "model.stages" else ","
    return [parse_value(key, part.strip()) for part in text.split(separator)]


def _range(key: str, text: str) -> dict:
    parts = text.split(":")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "log"):
        raise SweepError(f"--random {key}={text}: give LOW:HIGH or LOW:HIGH:log")
    return {"low": parse_value(key, parts[0]), "high": parse_value(key, parts[1]), "log": len(parts) == 3}


def sweep_body(args) -> dict:
    """The POST /api/sweeps body the command line asks for (SweepError or OptionConflict when it cannot be)."""
    fields = {}
    for field, text in page_query(args).items():
        fields[field] = text if field == AUGMENT_MODE else parse_value(field, text)
    grid = {config_key(k): _values(config_key(k), v) for k, v in args.grid}
    choice = {config_key(k): _values(config_key(k), v) for k, v in args.choice}
    random = {config_key(k): _range(config_key(k), v) for k, v in args.random}
    for flag, given in (("--grid", args.grid), ("--choice", args.choice), ("--random", args.random)):
        if len({config_key(k) for k, _ in given}) != len(given):
            raise SweepError(f"{flag}: a setting is given twice")
    return {
        "dataset": args.dataset,
        "config": config_from_fields(fields),
        "grid": grid or None,
        "random": random or None,
        "choice": choice or None,
        "trials": args.trials,
        "sampler": args.sampler,
        "pruner": args.pruner,
        "parallel": args.parallel,
        "seed": args.sampler_seed,
    }


def _call(method: str, server: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    import httpx

    try:
        response = httpx.request(
            method,
            f"{server.rstrip('/')}{path}",
            json=body,
            headers=api_headers(server),
            timeout=API_TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as exc:
        raise ConnectionError(f"the server at {server} did not answer: {exc}") from None
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, {"detail": response.text[:200]}


def _local(args):
    """(engine, storage) of this data folder, its schema brought up to date."""
    from . import db
    from .config import from_env
    from .storage import open_storage

    settings = from_env(data_dir=args.data_dir)
    return db.connect(settings.database_url), open_storage(settings)


def _answer(server: str, status: int, body: dict) -> int | None:
    """Print a refused request's detail; its exit status (2: our input or token, 1: the server), or None when
    accepted."""
    if status < 400:
        return None
    if status in (401, 403):
        print(
            f"browsertrain: error: the server at {server} refused us ({status}): set BROWSERTRAIN_TOKEN",
            file=sys.stderr,
        )
        return 2
    print(f"browsertrain: error: {body.get('detail', body)}", file=sys.stderr)
    return 2 if status < 500 else 1


def _remote(server: str, method: str, path: str, body: dict | None = None) -> tuple[dict, int | None]:
    """(the answer, None) when the server accepted the request; else (its body, the exit status), having said why."""
    try:
        status, answer = _call(method, server, path, body)
    except ConnectionError as exc:
        print(f"browsertrain: error: {exc}", file=sys.stderr)
        return {}, 1
    return answer, _answer(server, status, answer)


def cmd_sweep(args) -> int:
    try:
        body = sweep_body(args)
    except (SweepError, OptionConflict) as exc:
        args.parser.error(str(exc))
    if args.server:
        sweep, refused = _remote(args.server, "POST", "/api/sweeps", body)
        if refused is not None:
            return refused
    else:
        from .sweeps.service import create_sweep

        engine, storage = _local(args)
        try:
            sweep = create_sweep(engine, storage, **body)
        except SweepError as exc:
            args.parser.error(str(exc))
    if args.json:
        print(json.dumps({"sweep_id": sweep["sweep_id"], "status": sweep["status"], "planned": sweep["planned"]}))
    else:
        where = f"{args.server.rstrip('/')}/sweeps/{sweep['sweep_id']}" if args.server else "/sweeps/<id> on the server"
        print(
            f"sweep {sweep['sweep_id']}: {sweep['planned']} trials ({sweep['sampler']}) on {sweep['dataset']}, "
            f"{len(sweep['trials'])} queued for the workers; watch it at {where} "
            f"or with: browsertrain sweeps show {sweep['sweep_id']}"
        )
    return 0


def cmd_sweeps_show(args) -> int:
    if args.server:
        sweep, refused = _remote(args.server, "GET", f"/api/sweeps/{args.sweep_id}")
        if refused is not None:
            return refused
    else:
        from .storage import check_name
        from .sweeps.service import get_sweep

        check_name(args.sweep_id, "sweep id")
        sweep = get_sweep(_local(args)[0], args.sweep_id)
    print(json.dumps(sweep) if args.json else describe(sweep))
    return 0


def _number(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def describe(sweep: dict) -> str:
    """A sweep as a person reads it: one line per trial, the best marked."""
    metric = sweep["metric"]
    best = (sweep["best"] or {}).get("run_id")
    lines = [
        f"sweep {sweep['sweep_id']} on {sweep['dataset']}: {sweep['status']}, "
        f"{len(sweep['trials'])} of {sweep['planned']} trials ({sweep['sampler']}, pruner {sweep['pruner']})"
    ]
    for trial in sweep["trials"]:
        params = " ".join(f"{key}={value}" for key, value in trial["params"].items())
        mark = "  <- best" if trial["run_id"] == best else ""
        lines.append(
            f"  {trial['run_id']}  {trial['status']:<9} {trial['epochs_done']:>4} epochs  "
            f"{metric} {_number(trial[metric])}  {params}{mark}"
        )
    return "\n".join(lines)
