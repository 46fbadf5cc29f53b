"""`browsertrain` without a browser: bad arguments answered at once, help that shows the defaults, dataset names from
paths, one-class sets refused, and `runs list` as a person reads it."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
from support import ROOT, imagefolder, png_bytes, upload, write_tree, zip_bytes
from support.cli import run_cli

# The old way a bad argument was found: after a server and Chromium had started (about 3 s).
ANSWER_SECONDS = 1.0


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--dataset", "shapes", "--epochs", "-3"], "--epochs: must be at least 1"),
        (["--dataset", "shapes", "--batch-size", "0"], "--batch-size: must be at least 1"),
        (["--dataset", "shapes", "--lr", "2"], "--lr: must be below 1"),
        (["--dataset", "shapes", "--val-fraction", "0.95"], "--val-fraction: must be at most 0.9"),
        (["--dataset", "shapes", "--backend", "gpu"], "invalid choice: 'gpu'"),
        (["--dataset", "shapes", "--model-stages", "32,x"], "--model-stages"),
        (["--dataset", "shapes", "--augment", "off", "--augment-flip"], "--augment custom"),
        (["--dataset", "nope"], "no dataset named 'nope'"),
        (["--epochs", "3"], "one of the arguments --dataset --resume --from is required"),
        (["--dataset", "shapes", "--resume", "r1"], "not allowed with argument"),
        (["--resume", "0123456789ab"], "no run 0123456789ab"),
        (["--from", "0123456789ab"], "--from needs --epochs"),
        (["--resume", "0123456789ab", "--epochs", "5"], "drop --epochs"),
    ],
)
def test_bad_train_arguments_exit_2_in_under_a_second_and_start_no_browser(tmp_path, capsys, fake_chromium, argv, says):
    chromium, mark = fake_chromium
    status, _, err, seconds = run_cli(
        "train", *argv, "--data-dir", str(tmp_path / "data"), "--chromium", chromium, capsys=capsys
    )
    assert status == 2, err
    assert says in err and "browsertrain train: error:" in err
    assert seconds < ANSWER_SECONDS
    assert not mark.exists(), "a browser was started for a command that could not work"


def test_an_unknown_dataset_is_refused_by_the_command_itself_at_once(tmp_path):
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "train", "--dataset", "nope", "--data-dir", str(tmp_path / "data")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "no dataset named 'nope'" in result.stderr and "shapes" in result.stderr  # the sample is offered
    assert time.monotonic() - started < 3 * ANSWER_SECONDS  # Python's own start included; no server, no browser


@pytest.mark.parametrize("source", ["--chromium", "BROWSERTRAIN_CHROMIUM"])
def test_a_browser_path_that_does_not_exist_is_refused_not_ignored(tmp_path, capsys, monkeypatch, source):
    argv = ["train", "--dataset", "shapes", "--data-dir", str(tmp_path / "data")]
    if source == "--chromium":
        argv += ["--chromium", "/nope"]
    else:
        monkeypatch.setenv("BROWSERTRAIN_CHROMIUM", "/nope")
    status, _, err, _ = run_cli(*argv, capsys=capsys)
    assert status == 2
    assert f"{source} /nope: no such browser" in err


def test_train_help_shows_each_default_and_which_are_chosen_from_the_dataset(capsys):
    status, out, _, _ = run_cli("train", "--help", capsys=capsys)
    assert status == 0
    text = " ".join(out.split())
    text = text[text.index("the train page's options") :]
    for flag in ("--epochs N", "--batch-size N", "--input-size N", "--augment {auto,custom,off,on}"):
        after = text[text.index(flag) :]
        assert after[after.index("(default") :].startswith("(default auto: chosen from the dataset)"), flag
    for words in ("learning rate (default 0.001)", "(default 0.2)", "(default on)", "(default relu)"):
        assert words in text


def test_datasets_import_names_the_dataset_after_its_folder_or_zip(tmp_path, capsys):
    data = str(tmp_path / "data")
    folder = write_tree(tmp_path / "pets", imagefolder({"cat": 2, "dog": 2}))
    zipped = tmp_path / "more-pets.zip"
    zipped.write_bytes(zip_bytes(imagefolder({"cat": 1, "dog": 1})))
    assert run_cli("datasets", "import", str(folder), "--data-dir", data, capsys=capsys)[0] == 0
    assert run_cli("datasets", "import", str(zipped), "--data-dir", data, capsys=capsys)[0] == 0
    _, out, _, _ = run_cli("datasets", "list", "--data-dir", data, capsys=capsys)
    assert re.search(r"^pets\s", out, re.M) and re.search(r"^more-pets\s", out, re.M)

    again = run_cli("datasets", "import", str(folder), "--data-dir", data, capsys=capsys)
    assert again[0] == 2 and "'pets' already exists" in again[2] and "--replace" in again[2]
    odd = tmp_path / "my pets.zip"
    odd.write_bytes(zipped.read_bytes())
    refused = run_cli("datasets", "import", str(odd), "--data-dir", data, capsys=capsys)
    assert refused[0] == 2 and "'my pets'" in refused[2] and "--name" in refused[2]


def test_a_one_class_set_is_refused_at_import_from_the_cli_and_over_http(tmp_path, capsys, client):
    data = tmp_path / "cli-data"
    folder = write_tree(tmp_path / "only-cats", imagefolder({"cat": 3}))
    status, _, err, _ = run_cli("datasets", "import", str(folder), "--data-dir", str(data), capsys=capsys)
    assert status == 2 and "only one class ('cat')" in err and "at least 2 classes" in err
    assert not (data / "datasets" / "only-cats").exists()
    response = upload(client, "only-cats", zip_bytes(imagefolder({"cat": 3})))
    assert response.status_code == 400 and "at least 2 classes" in response.json()["detail"]
    assert "only-cats" not in [d["name"] for d in client.get("/api/datasets").json()["datasets"]]


def test_runs_list_rounds_the_loss_shows_validation_accuracy_and_knows_unknown_datasets(server, client, capsys):
    run_id = client.post("/api/runs", json={"dataset": "shapes"}).json()["id"]
    client.patch(
        f"/api/runs/{run_id}",
        json={"status": "finished", "summary": {"final_loss": 0.6931471805599453, "val_accuracy": 0.8333333}},
    )
    data = str(server.data_dir)
    status, out, _, _ = run_cli("runs", "list", "--data-dir", data, capsys=capsys)
    assert status == 0
    row = next(line for line in out.splitlines() if line.startswith(run_id))
    assert "0.6931 " in row and "0.69314" not in row and "83.3%" in row
    assert "val acc" in out.splitlines()[0]

    status, _, err, _ = run_cli("runs", "list", "--dataset", "nope", "--data-dir", data, capsys=capsys)
    assert status == 2 and "no dataset named 'nope'" in err
    write_tree(server.data_dir.parent / "two", imagefolder({"a": 1, "b": 1}))
    assert run_cli("datasets", "import", str(server.data_dir.parent / "two"), "--data-dir", data, capsys=capsys)[0] == 0
    status, out, _, _ = run_cli("runs", "list", "--dataset", "two", "--data-dir", data, capsys=capsys)
    assert status == 0 and "no runs of two yet" in out


def test_predict_checks_its_images_and_run_before_any_browser_starts(tmp_path, capsys, fake_chromium):
    chromium, mark = fake_chromium
    image = tmp_path / "digit.png"
    image.write_bytes(png_bytes())
    data = str(tmp_path / "data")
    for argv, says in [
        ((str(tmp_path / "gone.png"),), "gone.png: no such file"),
        ((str(image), str(tmp_path)), f"{tmp_path}: not a file"),
    ]:
        status, _, err, seconds = run_cli(
            "predict", "0123456789ab", *argv, "--chromium", chromium, "--data-dir", data, capsys=capsys
        )
        assert status == 2 and says in err and seconds < ANSWER_SECONDS
    status, _, err, _ = run_cli(
        "predict", "0123456789ab", str(image), "--chromium", chromium, "--data-dir", data, capsys=capsys
    )
    assert status == 2 and "no run 0123456789ab" in err
    assert not mark.exists()


def test_with_a_server_its_api_says_which_datasets_and_runs_exist(server, capsys, fake_chromium):
    chromium, mark = fake_chromium
    status, _, err, _ = run_cli(
        "train", "--dataset", "nope", "--server", server.url, "--chromium", chromium, capsys=capsys
    )
    assert status == 2 and f"no dataset named 'nope' in the server at {server.url} (shapes)" in err
    status, _, err, _ = run_cli(
        "train", "--resume", "0123456789ab", "--server", server.url, "--chromium", chromium, capsys=capsys
    )
    assert status == 2 and "no run 0123456789ab on the server" in err
    assert not mark.exists()
