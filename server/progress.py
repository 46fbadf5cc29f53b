"""Progress on stderr for a slow step with nothing to count (an export build): a line first, then the seconds."""

from __future__ import annotations

import sys
import threading
import time

TICK_SECONDS = 1.0


def with_progress(message: str, work, stream=None):
    """Return work() (run in a worker thread), saying `message…` first on `stream` (stderr), then the elapsed seconds:
    live on a terminal, once at the end otherwise, so a log holds one line and not a hundred."""
    stream = stream or sys.stderr
    live = stream.isatty()
    outcome = {}

    def run():
        try:
            outcome["value"] = work()
        except BaseException as exc:  # handed to the caller's thread below
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    print(f"{message}…", end="" if live else "\n", file=stream, flush=True)
    worker.start()
    while worker.is_alive():
        worker.join(TICK_SECONDS)
        if live and worker.is_alive():
            print(f"\r{message}… {time.monotonic() - started:.0f} s", end="", file=stream, flush=True)
    elapsed = time.monotonic() - started
    status = "failed" if "error" in outcome else "done"
    print(
        f"\r{message}… {status} in {elapsed:.1f} s" if live else f"{status} in {elapsed:.1f} s", file=stream, flush=True
    )
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
