"""Running a helper program with a JSON job on stdin and reading its JSON answer: one timeout and error policy for the
export side's child processes (the Node.js evaluator, the TensorFlow worker)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


class ChildFailed(Exception):
    """The child ran out of time, exited non-zero, or answered something other than JSON.

    `returncode` is None when it timed out; `reason` is the last line it wrote to stderr (a traceback's last line is
    its message), None when it wrote nothing there."""

    def __init__(self, message: str, returncode: int | None, reason: str | None):
        super().__init__(message)
        self.returncode = returncode
        self.reason = reason


def run_json(argv: list[str], job: dict, *, what: str, timeout: float, cwd: Path) -> dict:
    """Run `argv` with `job` as JSON on stdin; its answer is the last line of its stdout (whatever a library printed
    before that is not ours to read). `what` names the work in messages: 'the evaluation took longer than 900 s'."""
    try:
        result = subprocess.run(argv, input=json.dumps(job).encode(), capture_output=True, timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired:
        raise ChildFailed(f"{what} took longer than {timeout:g} s", None, None) from None
    if result.returncode != 0:
        lines = result.stderr.decode(errors="replace").strip().splitlines()
        reason = lines[-1] if lines else None
        raise ChildFailed(f"{what} failed: {reason or result.returncode}", result.returncode, reason)
    lines = result.stdout.decode(errors="replace").strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        raise ChildFailed(f"{what} gave no JSON answer", result.returncode, None) from None
