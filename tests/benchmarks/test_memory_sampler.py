"""The memory benchmark's process-tree sampler (bench/proc_memory.py) on this test's own children, and its case list;
no browser. A sampler that missed a child, or its memory, would report a browser smaller than it is."""

import subprocess
import sys
import time

import pytest

from bench import memory, proc_memory

HELD_BYTES = 64 * 1024**2
# A child that touches HELD_BYTES of memory (so it is resident) and waits; it prints once it holds them.
HOLDER = (
    f"import time; b = bytearray({HELD_BYTES}); b[::4096] = b'x' * len(b[::4096]); print('held', flush=True); "
    "time.sleep(60)"
)


def hold(*extra):
    return subprocess.Popen([sys.executable, "-c", HOLDER, *extra], stdout=subprocess.PIPE, text=True)


@pytest.fixture
def holder():
    child = hold()
    try:
        assert child.stdout.readline().strip() == "held"
        yield child
    finally:
        child.kill()
        child.wait(10)
        child.stdout.close()


def everything(_argv):
    return True


def test_the_tree_sample_finds_a_child_and_counts_its_memory(holder):
    sample = proc_memory.sample_tree(proc_memory.os.getpid(), match=everything)
    assert holder.pid in sample.pids_by_type[proc_memory.BROWSER]  # a plain python has no --type=
    assert sample.total >= HELD_BYTES
    assert sample.anon >= HELD_BYTES
    assert sample.total >= sample.anon


def test_processes_that_do_not_match_are_left_out(holder):
    sample = proc_memory.sample_tree(proc_memory.os.getpid())  # only Chromium's processes
    assert holder.pid not in [pid for pids in sample.pids_by_type.values() for pid in pids]


def test_the_sampler_records_a_peak_and_kills_nothing_under_its_cap(holder):
    with proc_memory.TreeSampler(proc_memory.os.getpid(), interval=0.02, cap_bytes=2**40, match=everything) as sampler:
        time.sleep(0.3)
    assert sampler.abort is None
    assert holder.poll() is None
    peak = sampler.peak()
    assert peak["total"] >= HELD_BYTES
    assert peak["samples"] >= 3
    assert sampler.peak(since=10**6)["total"] is None  # an empty window says so, it does not borrow a reading


def test_over_its_cap_the_sampler_kills_the_renderers_and_says_why():
    renderer = hold("--type=renderer")  # what the sampler takes for a renderer
    try:
        assert renderer.stdout.readline().strip() == "held"
        with proc_memory.TreeSampler(
            proc_memory.os.getpid(), interval=0.02, cap_bytes=HELD_BYTES // 2, match=everything
        ) as sampler:
            renderer.wait(10)
        assert renderer.returncode == -proc_memory.signal.SIGKILL
        assert sampler.abort.reason == "rss_cap"
        assert "passed the cap" in sampler.abort.message
    finally:
        renderer.kill()
        renderer.wait(10)
        renderer.stdout.close()


@pytest.mark.parametrize(
    ("cmdline", "kind"),
    [
        (b"/usr/lib/chromium/chromium\0--no-sandbox\0--headless\0", "browser"),
        (b"/usr/lib/chromium/chromium\0--type=gpu-process\0--no-sandbox\0", "gpu-process"),
        # a zygote-forked child's title: one string, separated by spaces (read from a real renderer)
        (
            b"/usr/lib/chromium/chromium --type=renderer --enable-crash-reporter=,built on Debian GNU/Linux 12\0",
            "renderer",
        ),
    ],
)
def test_chromium_process_types(cmdline, kind):
    argv = proc_memory.arguments(cmdline)
    assert proc_memory.is_chromium(argv)
    assert proc_memory.process_type(argv) == kind


def test_the_playwright_driver_and_the_server_are_not_chromium():
    assert not proc_memory.is_chromium(["/venv/lib/python3.11/site-packages/playwright/driver/node", "cli.js"])
    assert not proc_memory.is_chromium([sys.executable, "-m", "server.cli", "serve"])
    assert not proc_memory.is_chromium([])


def test_cases_parse_and_bad_ones_are_refused():
    assert memory.parse_cases("5000@64, 20000@128,300") == [(5000, 64), (20000, 128), (300, 64)]
    for bad in ("lots@64", "5000@x", "5@64", "5000@4"):
        with pytest.raises(Exception, match="ITEMS@SIZE|at least 10 items"):
            memory.parse_cases(bad)


def test_phase_times_end_each_phase_where_the_next_was_first_seen():
    seen = {"sync": 1.0, "preprocess": 3.0, "train": 7.5, "done": 20.0}
    assert memory.phase_times(seen, end=21.0) == {
        "sync": {"start": 1.0, "seconds": 2.0},
        "preprocess": {"start": 3.0, "seconds": 4.5},
        "train": {"start": 7.5, "seconds": 12.5},
        "done": {"start": 20.0, "seconds": 1.0},
    }
