"""The export side's children (the Node.js evaluator, the TensorFlow worker) under one policy: the answer is the last
line of stdout, a crash is said with the child's last stderr line, a hang ends at the timeout."""

from __future__ import annotations

import sys

import pytest
from support import ROOT

from server.artifacts.subprocess_json import ChildFailed, run_json


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_the_answer_is_the_last_line_of_stdout_after_any_chatter():
    echo = (
        "import json, sys; job = json.load(sys.stdin); print('loading...'); print(json.dumps({'twice': job['n'] * 2}))"
    )
    assert run_json(python(echo), {"n": 21}, what="the echo", timeout=30, cwd=ROOT) == {"twice": 42}


def test_a_crash_says_the_childs_last_stderr_line_and_keeps_its_exit_status():
    crash = "import sys; sys.stderr.write('Traceback ...\\nValueError: bad job\\n'); sys.exit(3)"
    with pytest.raises(ChildFailed) as failed:
        run_json(python(crash), {}, what="the conversion", timeout=30, cwd=ROOT)
    assert str(failed.value) == "the conversion failed: ValueError: bad job"
    assert (failed.value.returncode, failed.value.reason) == (3, "ValueError: bad job")


def test_a_silent_crash_names_the_exit_status_and_a_non_json_answer_is_a_failure_too():
    with pytest.raises(ChildFailed, match="^the evaluation failed: 2$"):
        run_json(python("import sys; sys.exit(2)"), {}, what="the evaluation", timeout=30, cwd=ROOT)
    with pytest.raises(ChildFailed, match="gave no JSON answer"):
        run_json(python("print('done')"), {}, what="the evaluation", timeout=30, cwd=ROOT)


def test_a_child_that_hangs_is_stopped_at_the_timeout():
    with pytest.raises(ChildFailed, match=r"^the evaluation took longer than 0.5 s$") as failed:
        run_json(python("import time; time.sleep(30)"), {}, what="the evaluation", timeout=0.5, cwd=ROOT)
    assert failed.value.returncode is None
