"""Resident memory of a process tree (a browser and its helpers), read from Linux's /proc every ~100 ms."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
SAMPLE_SECONDS = 0.1
BROWSER = "browser"  # Chromium's main process is the one started without --type=


def children_by_parent() -> dict[int, list[int]]:
    """Every live process's children, from /proc/<pid>/stat (field 4 is the parent)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:  # it ended while we looked
            continue
        # The command name (field 2) is in parentheses and may hold spaces or ')': split after the last one.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def descendants(root: int) -> list[int]:
    """The processes below `root` (children, grandchildren, ...), not `root` itself."""
    children = children_by_parent()
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def resident(pid: int) -> tuple[int, int] | None:
    """(RSS, its anonymous part) in bytes, from /proc/<pid>/status; None once the process is gone. The anonymous
    part leaves out mapped files (the browser binary and libraries, which every process maps and RSS counts in each)."""
    try:
        fields = dict(
            line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
        )
        return int(fields["VmRSS"].split()[0]) * 1024, int(fields["RssAnon"].split()[0]) * 1024
    except (OSError, KeyError, ValueError, IndexError):
        return None  # gone, or a kernel thread (no VmRSS)


def command_line(pid: int) -> list[str]:
    """The process's arguments (see arguments())."""
    try:
        return arguments(Path(f"/proc/{pid}/cmdline").read_bytes())
    except OSError:
        return []


def arguments(cmdline: bytes) -> list[str]:
    """The arguments in a /proc/<pid>/cmdline. Chromium's zygote-forked children (renderers, utilities) rewrite their
    title into one space-separated string, so a lone argument is split on spaces."""
    argv = [arg for arg in cmdline.decode(errors="replace").split("\0") if arg]
    return argv[0].split() if len(argv) == 1 else argv


def is_chromium(argv: list[str]) -> bool:
    """Chromium or Chrome (Debian's is /usr/lib/chromium/chromium); not Playwright's node driver, not our server."""
    return bool(argv) and any(name in Path(argv[0]).name for name in ("chromium", "chrome", "headless_shell"))


def process_type(argv: list[str]) -> str:
    """Chromium's --type= (renderer, gpu-process, utility, zygote, ...); BROWSER for the main process."""
    for arg in argv[1:]:
        if arg.startswith("--type="):
            return arg.removeprefix("--type=")
    return BROWSER


def mem_available_bytes() -> int | None:
    """What the kernel says new work can still get without swapping (MemAvailable)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


@dataclass
class TreeSample:
    t: float  # seconds since the sampler started
    total: int  # bytes: the sum of every matched process's RSS
    anon: int  # bytes: the sum of their anonymous RSS (heaps, buffers), without mapped files
    by_type: dict[str, int]  # bytes per process type
    pids_by_type: dict[str, list[int]]
    available: int | None  # the machine's MemAvailable


def sample_tree(root: int, match: Callable[[list[str]], bool] = is_chromium, t: float = 0.0) -> TreeSample:
    """One reading of the processes below `root` whose command line `match`es. RSS counts shared pages (libraries,
    shared memory) once per process, so the sum is an upper bound of what the tree really holds."""
    by_type: dict[str, int] = {}
    pids_by_type: dict[str, list[int]] = {}
    anon = 0
    for pid in descendants(root):
        argv = command_line(pid)
        memory = resident(pid)
        if memory is None or not match(argv):
            continue
        kind = process_type(argv)
        by_type[kind] = by_type.get(kind, 0) + memory[0]
        anon += memory[1]
        pids_by_type.setdefault(kind, []).append(pid)
    return TreeSample(t, sum(by_type.values()), anon, by_type, pids_by_type, mem_available_bytes())


@dataclass
class Abort:
    reason: str  # rss_cap, low_memory or timeout
    message: str
    t: float


@dataclass
class TreeSampler:
    """Samples the tree every `interval` s in a thread of its own, so that a page busy in one long task (and a
    Playwright call waiting on it) cannot stop the readings. Past `cap_bytes` of RSS, below `min_available` bytes of
    MemAvailable, or after `deadline_s`, it kills the tree's renderers (as the kernel's OOM killer would) and records
    why in `abort`: the page then crashes, and the caller sees it."""

    root: int
    interval: float = SAMPLE_SECONDS
    cap_bytes: int | None = None
    min_available: int | None = None
    deadline_s: float | None = None
    match: Callable[[list[str]], bool] = is_chromium
    samples: list[TreeSample] = field(default_factory=list)
    abort: Abort | None = None

    def __post_init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = 0.0

    def __enter__(self):
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)

    def now(self) -> float:
        """Seconds since the sampler started: the clock of every sample's `t`."""
        return time.monotonic() - self._started

    def _run(self):
        while not self._stop.is_set():
            sample = sample_tree(self.root, self.match, self.now())
            self.samples.append(sample)
            if self.abort is None:
                self.abort = self._over_limit(sample)
                if self.abort is not None:
                    self._kill(sample.pids_by_type.get("renderer", []))
            self._stop.wait(self.interval)

    def _over_limit(self, sample: TreeSample) -> Abort | None:
        mib = 1024**2
        if self.cap_bytes is not None and sample.total > self.cap_bytes:
            return Abort("rss_cap", f"browser RSS {sample.total / mib:,.0f} MiB passed the cap", sample.t)
        if self.min_available is not None and sample.available is not None and sample.available < self.min_available:
            return Abort("low_memory", f"the machine had {sample.available / mib:,.0f} MiB available", sample.t)
        if self.deadline_s is not None and sample.t > self.deadline_s:
            return Abort("timeout", f"not done after {self.deadline_s:.0f} s", sample.t)
        return None

    @staticmethod
    def _kill(pids: list[int]):
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def peak(self, since: float | None = None, until: float | None = None) -> dict:
        """The highest total between `since` and `until` (seconds on this sampler's clock; None: open-ended), the
        per-type split at that moment, each type's own highest reading, and the highest anonymous total."""
        window = [s for s in self.samples if (since is None or s.t >= since) and (until is None or s.t <= until)]
        if not window:
            return {"total": None, "anon": None, "at_peak": {}, "by_type": {}, "samples": 0}
        top = max(window, key=lambda s: s.total)
        anon = max(window, key=lambda s: s.anon)
        by_type: dict[str, int] = {}
        for s in window:
            for kind, rss in s.by_type.items():
                by_type[kind] = max(by_type.get(kind, 0), rss)
        return {
            "total": top.total,
            "anon": anon.anon,
            "t": round(top.t, 2),
            "at_peak": top.by_type,
            "by_type": by_type,
            "samples": len(window),
        }
