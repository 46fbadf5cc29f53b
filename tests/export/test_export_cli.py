"""`browsertrain export --server`: the file comes from a running server's export API (with its token), the same bytes
as a download; a slow first build says so on stderr instead of sitting silent."""

from __future__ import annotations

import json
import os
import secrets

import pytest
from support import start_server
from support.exports import cli, download, require_extra

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TOKEN = "cli-export-" + secrets.token_urlsafe(16)


def test_export_through_a_server_writes_the_downloaded_bytes_and_says_it_is_building(trained, tmp_path):
    out = tmp_path / "exports"
    out.mkdir()
    result = cli(
        "export", trained.run_id, "--format", "uint8", "--server", trained.server.url, "--out", str(out), "--json"
    )
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stdout.strip().splitlines()[-1])
    with trained.server.client() as client:
        served = download(client, trained.run_id, "uint8").content
    written = out / os.path.basename(line["path"])
    assert written.read_bytes() == served and line["bytes"] == len(served)
    assert line["seq"] == trained.seq and line["labels"] == ["circle", "square", "triangle"]
    assert line["verdict"]["status"] in ("passed", "flagged") and line["gate"] is not None
    assert "building uint8 export" in result.stderr and "done in" in result.stderr


def test_a_keras_export_warns_that_its_first_build_takes_a_while_and_local_exports_say_so_too(trained, tmp_path):
    require_extra()
    through_server = cli(
        "export",
        trained.run_id,
        "--format",
        "keras",
        "--server",
        trained.server.url,
        "--out",
        str(tmp_path / "server.zip"),
    )
    assert through_server.returncode == 0, through_server.stderr
    assert "building keras export (the first build of a snapshot takes ~30-60 s" in through_server.stderr
    assert "wrote" in through_server.stdout and "labels: circle, square, triangle" in through_server.stdout
    here = cli(
        "export",
        trained.run_id,
        "--format",
        "float16",
        "--data-dir",
        str(trained.data_dir),
        "--out",
        str(tmp_path / "here.zip"),
    )
    assert here.returncode == 0, here.stderr
    assert "building float16 export…" in here.stderr and "done in" in here.stderr and "first build" not in here.stderr


def test_export_through_a_server_sends_the_token_and_says_what_is_wrong(trained, tmp_path, monkeypatch):
    guarded = start_server(trained.data_dir, env={"BROWSERTRAIN_TOKEN": TOKEN})
    try:
        args = ("export", trained.run_id, "--format", "float16", "--server", guarded.url, "--out", str(tmp_path))
        refused = cli(*args)
        assert refused.returncode == 2 and "BROWSERTRAIN_TOKEN" in refused.stderr
        monkeypatch.setenv("BROWSERTRAIN_TOKEN", TOKEN)  # the command's process inherits it
        allowed = cli(*args)
        assert allowed.returncode == 0, allowed.stderr
        missing = cli("export", "0123456789ab", "--format", "float16", "--server", trained.server.url)
        assert missing.returncode == 2 and "404" in missing.stderr
    finally:
        guarded.stop()
