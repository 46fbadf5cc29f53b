"""Several server processes on one data folder (`make run` beside `browsertrain train`, which starts its own): a
starting server removes only the work folders whose owner died, so nothing the others are doing is cut short."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from support import (
    ROOT,
    imagefolder,
    model_json,
    new_run,
    post_snapshot,
    start_server,
    upload,
    weights_for,
    write_tree,
    zip_bytes,
)

from server.datasets.importer import build_dataset
from server.storage import WorkFolderLost

# Big enough that importing it takes longer than a second server takes to start.
BIG_IMPORT_ITEMS = 6000
SNAPSHOT_SPECS = [{"name": "dense/kernel", "shape": [512, 1024], "dtype": "float32"}]  # 2 MiB: a visible write
WORK_FOLDER_SECONDS = 60


def wait_for(condition, timeout: float = 60, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def in_thread(work) -> tuple[threading.Thread, dict]:
    """Run `work()` in a thread; its result (or error) lands in the returned dict."""
    outcome: dict = {}

    def body():
        try:
            outcome["result"] = work()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=body)
    thread.start()
    return thread, outcome


def result_of(thread: threading.Thread, outcome: dict, timeout: float = 300):
    thread.join(timeout)
    assert not thread.is_alive(), "the request did not finish"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


@pytest.mark.slow
def test_second_server_start_keeps_the_first_servers_import_whole(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    first = start_server(data)
    try:
        archive = zip_bytes(imagefolder({"a": BIG_IMPORT_ITEMS // 2, "b": BIG_IMPORT_ITEMS // 2}))
        with httpx.Client(base_url=first.url, timeout=300) as c:
            thread, outcome = in_thread(lambda: upload(c, "big", archive))
            # Under way: the upload is unpacked in its work folder.
            wait_for(lambda: any((data / ".staging").glob("*/source/*")), what="the import to start unpacking")
            second = start_server(data)  # its start-up sweeps the data folder's work folders
            second.stop()
            response = result_of(thread, outcome)
            assert response.status_code == 201, response.text
            assert response.json()["num_items"] == BIG_IMPORT_ITEMS
            manifest = c.get("/api/datasets/big").json()
            assert manifest["num_items"] == BIG_IMPORT_ITEMS
            assert all((data / "datasets" / "big" / item["file"]).is_file() for item in manifest["items"])
        assert list((data / ".staging").iterdir()) == []
    finally:
        first.stop()


@pytest.mark.slow
def test_snapshots_in_flight_survive_other_servers_starting(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    first = start_server(data)
    stop = threading.Event()
    try:
        with first.client() as c:
            run_id = new_run(c)
            weights = weights_for(SNAPSHOT_SPECS, seed=3)

            def post_until_stopped() -> list[int]:
                statuses = []
                with first.client() as poster:
                    while not stop.is_set():
                        statuses.append(post_snapshot(poster, run_id, model_json(SNAPSHOT_SPECS), weights).status_code)
                return statuses

            thread, outcome = in_thread(post_until_stopped)
            for _ in range(3):
                start_server(data).stop()
            stop.set()
            statuses = result_of(thread, outcome)
            assert statuses and set(statuses) == {201}, statuses
            stored = c.get(f"/api/runs/{run_id}/snapshots").json()["snapshots"]
            assert [s["seq"] for s in stored] == list(range(1, len(statuses) + 1))
        assert list((data / "runs" / run_id / "snapshots").glob(".incoming-*")) == []
    finally:
        stop.set()
        first.stop()


# A process that owns one work folder the way the server does, and says so on stdout.
_HOLDER = """
import sys, time
from pathlib import Path
from server.storage import Storage, owned_folder, INCOMING_PREFIX
storage = Storage(Path(sys.argv[1]))
snapshots = storage.runs_dir / "0123456789ab" / "snapshots"
snapshots.mkdir(parents=True, exist_ok=True)
with storage.work_folder() as work, owned_folder(snapshots, INCOMING_PREFIX) as incoming:
    (work / "part").write_bytes(b"x")
    print(work, incoming, flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold_work_folders(data: Path) -> tuple[subprocess.Popen, list[Path]]:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(data), str(WORK_FOLDER_SECONDS)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    return holder, [Path(p) for p in holder.stdout.readline().split()]


def test_a_starting_server_removes_only_work_folders_whose_owner_is_dead(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    alive, alive_folders = hold_work_folders(data)
    dead, dead_folders = hold_work_folders(data)
    try:
        dead.send_signal(signal.SIGKILL)  # killed mid-import: nothing of it ran its clean-up
        dead.wait(10)
        assert all(folder.is_dir() for folder in alive_folders + dead_folders)
        start_server(data).stop()
        assert all(folder.is_dir() for folder in alive_folders), "a live process's work folder was removed"
        assert (alive_folders[0] / "part").read_bytes() == b"x"
        assert not any(folder.exists() for folder in dead_folders), "a dead process's work folder was left"
    finally:
        for holder in (alive, dead):
            holder.kill()
            holder.wait(10)
            holder.stdout.close()


@pytest.mark.slow
def test_two_servers_on_one_data_folder_lose_nothing_while_a_third_comes_and_goes(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    servers = [start_server(data), start_server(data)]
    stop = threading.Event()
    try:

        def work(index: int) -> dict:
            """Import, post epochs and snapshots through server `index` until told to stop."""
            done = {"imports": [], "epochs": [], "snapshots": 0, "statuses": set()}
            with httpx.Client(base_url=servers[index].url, timeout=300) as c:
                run_id = done["run"] = new_run(c)
                weights = weights_for(SNAPSHOT_SPECS, seed=index)
                epoch = 0
                while not stop.is_set() or not done["imports"]:
                    name = f"set{index}-{len(done['imports'])}"
                    response = upload(c, name, zip_bytes(imagefolder({"a": 300, "b": 300}, seed=index)))
                    done["statuses"].add(response.status_code)
                    done["imports"].append(name)
                    for _ in range(5):
                        done["statuses"].add(
                            c.post(f"/api/runs/{run_id}/epochs", json={"epoch": epoch, "server": index}).status_code
                        )
                        done["epochs"].append(epoch)
                        epoch += 1
                    done["statuses"].add(post_snapshot(c, run_id, model_json(SNAPSHOT_SPECS), weights).status_code)
                    done["snapshots"] += 1
            return done

        workers = [in_thread(lambda i=i: work(i)) for i in range(2)]
        for _ in range(3):  # a third server starts (sweeping) and stops while both work
            start_server(data).stop()
        stop.set()
        with servers[0].client() as c:
            for thread, outcome in workers:
                done = result_of(thread, outcome)
                assert done["statuses"] == {201}, done["statuses"]
                for name in done["imports"]:
                    assert c.get(f"/api/datasets/{name}").json()["num_items"] == 600
                run = c.get(f"/api/runs/{done['run']}").json()
                assert [e["epoch"] for e in run["epochs"]] == done["epochs"]
                assert run["epochs_done"] == len(done["epochs"])
                assert [s["seq"] for s in run["snapshots"]] == list(range(1, done["snapshots"] + 1))
        assert list((data / ".staging").iterdir()) == []
    finally:
        stop.set()
        for server in servers:
            server.stop()


def test_an_import_whose_work_folder_vanished_fails_instead_of_recreating_it(tmp_path):
    source = write_tree(tmp_path / "source", imagefolder({"a": 2, "b": 2}))
    with pytest.raises(WorkFolderLost, match="was removed while it ran"):
        build_dataset(source, tmp_path / "removed-work-folder" / "dataset", "vanished")
    assert not (tmp_path / "removed-work-folder").exists()
