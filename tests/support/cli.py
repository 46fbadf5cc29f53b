"""The `browsertrain` command run in the test's own process, as a person would see it answer."""

from __future__ import annotations

import time

from server.cli import main


def run_cli(*argv: str, capsys) -> tuple[int, str, str, float]:
    """main() in this process: (exit status, stdout, stderr, seconds); argparse's own refusals included."""
    started = time.monotonic()
    try:
        status = main(list(argv))
    except SystemExit as exc:
        status = exc.code
    seconds = time.monotonic() - started
    out, err = capsys.readouterr()
    return status, out, err, seconds
