"""After a run: links onward, "Try it" on new images, a finished run that never changes, and "Train more"."""

from __future__ import annotations

import subprocess
import sys

import httpx
from support import ROOT
from support.train_page import train_url, wait_for_phase

CLASSES = ["circle", "square", "triangle"]
# Small and quick, and the same for every run here: no augmentation, so "train more" sees what its parent saw.
QUICK = {"epochs": 4, "backend": "wasm", "batchSize": 32, "inputSize": 32, "augmentMode": "off", "snapshotEvery": 2}


def sample_images(server, tmp_path, ids=(0, 100, 200)) -> list[str]:
    paths = []
    for item_id in ids:
        path = tmp_path / f"item-{item_id}.png"
        path.write_bytes(httpx.get(f"{server.url}/api/datasets/shapes/items/{item_id}").content)
        paths.append(str(path))
    return paths


def try_images(page, paths) -> list[dict]:
    page.set_input_files("#try-file", paths)
    page.wait_for_function(
        "(n) => globalThis.browsertrainTry?.done === n || globalThis.browsertrainTry?.error",
        arg=len(paths),
        timeout=60_000,
    )
    mirror = page.evaluate("() => globalThis.browsertrainTry")
    assert mirror["error"] is None, mirror["error"]
    return mirror["results"]


def assert_top_labels(results, count):
    assert len(results) == count
    for result in results:
        top = result["top"]
        assert len(top) == 3 and {t["label"] for t in top} == set(CLASSES), top
        probabilities = [t["probability"] for t in top]
        assert probabilities == sorted(probabilities, reverse=True) and abs(sum(probabilities) - 1) < 1e-4


def test_a_run_ends_with_links_onward_and_a_try_it_panel(server, page, tmp_path):
    page.goto(train_url(server, **QUICK))
    state = wait_for_phase(page)
    assert state["phase"] == "done", state["error"]
    run_id = state["summary"]["run_id"]
    page.wait_for_selector("#after-run:not([hidden]) #try-file")
    links = {link: page.get_attribute(link, "href") for link in ("#open-run", "#open-export", "#train-more-link")}
    assert links == {
        "#open-run": f"/runs/{run_id}",
        "#open-export": f"/runs/{run_id}/export",
        "#train-more-link": f"/train?from={run_id}",
    }
    results = try_images(page, sample_images(server, tmp_path))
    assert_top_labels(results, 3)
    assert [r["name"] for r in results] == ["item-0.png", "item-100.png", "item-200.png"]
    shown = page.inner_text("#try-results")
    assert "item-200.png" in shown and "%" in shown and any(label in shown for label in CLASSES)


def test_a_finished_run_is_never_changed_and_trains_further_as_a_child_run(server, page, tmp_path):
    page.goto(train_url(server, **QUICK))
    state = wait_for_phase(page)
    assert state["phase"] == "done", state["error"]
    parent_id = state["summary"]["run_id"]
    stored = httpx.get(f"{server.url}/api/runs/{parent_id}").content

    # Reloading the train page on it, and the CLI's --resume, refuse it and point at Train more.
    page.goto(f"{server.url}/train?resume={parent_id}")
    refused = wait_for_phase(page)
    assert refused["phase"] == "error" and "is finished" in refused["error"] and "Train more" in refused["error"]
    cli = subprocess.run(
        [sys.executable, "-m", "server.cli", "train", "--resume", parent_id, "--server", server.url, "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert cli.returncode == 1 and "is finished" in cli.stderr and f"--from {parent_id}" in cli.stderr, cli.stderr
    more = subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "train",
            "--resume",
            parent_id,
            "--epochs",
            "25",
            "--server",
            server.url,
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert more.returncode == 2, more.stderr  # a resumed run keeps its own settings: refused before any browser
    assert httpx.get(f"{server.url}/api/runs/{parent_id}").content == stored, "a finished run was changed"

    # Its page offers Train more instead of Resume; two more epochs make a new run that names its parent.
    page.goto(f"{server.url}/runs/{parent_id}")
    page.wait_for_selector("body[data-ready=true]")
    assert page.is_hidden("#resume-link") and page.is_visible("#finished-note")
    page.fill("#more-epochs", "2")
    page.click("#train-more button[type=submit]")
    child_state = wait_for_phase(page)
    assert child_state["phase"] == "done", child_state["error"]
    child_id = child_state["summary"]["run_id"]
    assert child_id != parent_id and child_state["summary"]["epochs"] == 6
    parent, child = (httpx.get(f"{server.url}/api/runs/{i}").json() for i in (parent_id, child_id))
    assert httpx.get(f"{server.url}/api/runs/{parent_id}").json()["summary"] == parent["summary"]
    assert child["parent_run_id"] == parent_id and parent["child_run_ids"] == [child_id]
    assert child["info"]["from_snapshot"] == {"run_id": parent_id, "seq": parent["snapshots"][-1]["seq"], "epoch": 4}
    assert [e["epoch"] for e in child["epochs"]] == [4, 5] and child["status"] == "finished"
    # It went on from the parent's weights: its first epoch starts where the parent ended, not from scratch.
    assert child["epochs"][0]["train_loss"] < 0.9 * parent["epochs"][0]["train_loss"]
    assert child["config"] == {**parent["config"], "epochs": 6}

    # Both run pages show the lineage; the child's page has a Try it panel too.
    page.goto(f"{server.url}/runs/{parent_id}")
    page.wait_for_selector("body[data-ready=true]")
    assert page.get_attribute("#lineage a.child-link", "href") == f"/runs/{child_id}"
    page.goto(f"{server.url}/runs/{child_id}")
    page.wait_for_selector("body[data-ready=true]")
    assert page.get_attribute("#parent-link", "href") == f"/runs/{parent_id}"
    assert "after epoch 4" in page.inner_text("#lineage")
    assert_top_labels(try_images(page, sample_images(server, tmp_path, ids=(5, 150))), 2)

    # The compare page names the parent of each run and overlays the child's curve where the parent's ends.
    page.goto(f"{server.url}/compare?runs={parent_id},{child_id}")
    page.wait_for_selector("body[data-ready=true]")
    assert page.inner_text("#config-diff tr[data-key=continues]").split() == ["continues", "null", parent_id]
    assert page.get_attribute("#run-picker a.parent-link", "href") == f"/runs/{parent_id}"
    assert f"continues {parent_id}" in page.inner_text("#legend")
