"""`browsertrain sweep` and `browsertrain sweeps show` against a live server (--server) and on its data folder
directly; a bad argument exits 2 and writes nothing."""

from __future__ import annotations

import json

import pytest
from support.cli import run_cli
from support.servers import start_isolated


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = start_isolated(tmp_path_factory.mktemp("sweep-cli"))
    yield server
    server.stop()


def _written(server) -> tuple[list, list]:
    with server.client() as client:
        return client.get("/api/sweeps").json()["sweeps"], client.get("/api/queue/jobs").json()["jobs"]


def test_sweep_enqueues_a_grid_on_a_server_and_sweeps_show_prints_it(live, capsys):
    status, out, err, _ = run_cli(
        "sweep",
        "--dataset",
        "shapes",
        "--epochs",
        "2",
        "--batch-size",
        "8",
        "--grid",
        "model-width=4,8",
        "--grid",
        "lr=0.001,0.01",
        "--pruner",
        "none",
        "--server",
        live.url,
        "--json",
        capsys=capsys,
    )
    assert status == 0, err
    made = json.loads(out)
    assert made["status"] == "queued" and made["planned"] == 4
    sweeps, jobs = _written(live)
    trials = [j for j in jobs if j["sweep_id"] == made["sweep_id"]]
    assert sorted((j["params"]["model.width"], j["params"]["lr"]) for j in trials) == [
        (4, 0.001),
        (4, 0.01),
        (8, 0.001),
        (8, 0.01),
    ]
    for job in trials:
        width, lr = job["params"]["model.width"], job["params"]["lr"]
        assert job["config"] == {"epochs": 2, "batchSize": 8, "model": {"width": width}, "lr": lr}

    status, out, err, _ = run_cli("sweeps", "show", made["sweep_id"], "--server", live.url, "--json", capsys=capsys)
    assert status == 0, err
    shown = json.loads(out)
    with live.client() as client:
        assert shown == client.get(f"/api/sweeps/{made['sweep_id']}").json()
    assert shown["status"] == "queued" and len(shown["trials"]) == 4 and shown["best"] is None


def test_sweep_without_a_server_writes_to_the_data_folder_the_server_reads(live, capsys):
    status, out, err, _ = run_cli(
        "sweep",
        "--data-dir",
        str(live.data_dir),
        "--dataset",
        "shapes",
        "--random",
        "lr=0.0001:0.1:log",
        "--choice",
        "model.block=plain,residual",
        "--trials",
        "3",
        capsys=capsys,
    )
    assert status == 0, err
    assert "3 trials (random) on shapes" in out and "browsertrain sweeps show" in out
    sweep_id = out.split()[1].rstrip(":")
    with live.client() as client:
        shown = client.get(f"/api/sweeps/{sweep_id}").json()
    assert len(shown["trials"]) == 3 and all(0.0001 <= t["params"]["lr"] <= 0.1 for t in shown["trials"])
    status, out, err, _ = run_cli("sweeps", "show", sweep_id, "--data-dir", str(live.data_dir), capsys=capsys)
    assert status == 0, err
    assert out.startswith(f"sweep {sweep_id} on shapes: queued, 3 of 3 trials (random, pruner median)")
    assert all(t["run_id"] in out for t in shown["trials"])


BAD_ARGS = [
    (["--grid", "lr=abc,0.1"], "lr: 'abc' is not a number"),
    (["--grid", "nosuch=1,2"], "'nosuch' is not a run setting"),
    (["--random", "lr=0.1"], "give LOW:HIGH or LOW:HIGH:log"),
    (["--grid", "model.block=plain,wide"], "'wide' is not one of plain, residual, dense"),
    (["--random", "lr=0.1:0.01"], "low (0.1) must be below high (0.01)"),
    (["--grid", "lr=0.1,0.2", "--trials", "3"], "every combination (2)"),
    (["--grid", "lr"], "should look like KEY=VALUES"),
]


@pytest.mark.parametrize("where", ["server", "data-folder"])
@pytest.mark.parametrize(("args", "message"), BAD_ARGS, ids=[m for _, m in BAD_ARGS])
def test_a_bad_sweep_argument_exits_2_and_writes_nothing(live, capsys, where, args, message):
    before = _written(live)
    target = ["--server", live.url] if where == "server" else ["--data-dir", str(live.data_dir)]
    status, out, err, _ = run_cli("sweep", "--dataset", "shapes", *args, *target, "--json", capsys=capsys)
    assert status == 2 and out == ""
    assert message in err
    assert _written(live) == before


def test_sweeps_show_of_a_missing_sweep_exits_2(live, capsys):
    status, _, err, _ = run_cli("sweeps", "show", "0123456789ab", "--server", live.url, capsys=capsys)
    assert status == 2 and "no sweep '0123456789ab'" in err


@pytest.mark.parametrize(
    ("flags", "config"),
    [
        (["--augment", "off"], {"augment": {}}),
        (["--augment", "auto"], {"augment": "auto"}),
        (["--augment", "on"], {"augment": {"crop": True, "flip": False, "brightness": 0.1}}),
        (["--augment-flip"], {"augment": {"flip": True}}),
        (["--model-stages", "16,32", "--no-lr-schedule"], {"model": {"stages": [16, 32]}, "lrSchedule": False}),
    ],
)
def test_the_train_flags_make_the_base_config_as_the_train_page_reads_its_form(flags, config):
    from server.cli import build_parser
    from server.cli_sweep import sweep_body

    args = build_parser().parse_args(["sweep", "--dataset", "shapes", "--grid", "lr=0.01,0.1", *flags])
    assert sweep_body(args)["config"] == config


def test_sweep_sends_the_token_a_server_asks_for(tmp_path, capsys, monkeypatch):
    token = "sweep-token-" + "x" * 16
    guarded = start_isolated(tmp_path, env={"BROWSERTRAIN_TOKEN": token})
    try:
        monkeypatch.delenv("BROWSERTRAIN_TOKEN", raising=False)
        args = ("sweep", "--dataset", "shapes", "--grid", "lr=0.01,0.1", "--server", guarded.url, "--json")
        status, out, err, _ = run_cli(*args, capsys=capsys)
        assert status == 2 and out == "" and "refused us (401): set BROWSERTRAIN_TOKEN" in err
        monkeypatch.setenv("BROWSERTRAIN_TOKEN", token)
        status, out, err, _ = run_cli(*args, capsys=capsys)
        assert status == 0, err
        with guarded.client(headers={"X-Browsertrain-Token": token}) as client:
            assert [s["sweep_id"] for s in client.get("/api/sweeps").json()["sweeps"]] == [json.loads(out)["sweep_id"]]
    finally:
        guarded.stop()
