"""An `export` extra that another install broke (setuptools >= 81 removes pkg_resources, which tensorflow_hub imports:
what `make bench` did before installs were constrained) is reported with the command that repairs it."""

from __future__ import annotations

import os

import pytest
from support import DENSE_WEIGHTS, model_json, new_run, post_snapshot, start_server, weights_for
from support.exports import download, require_extra

pytestmark = pytest.mark.slow


@pytest.fixture
def server_without_pkg_resources(tmp_path):
    """A server whose Python finds a pkg_resources that fails to import, as after setuptools 81."""
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "pkg_resources.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'pkg_resources'\", name='pkg_resources')\n"
    )
    data = tmp_path / "data"
    data.mkdir()
    path = os.pathsep.join(p for p in (str(shadow), os.environ.get("PYTHONPATH")) if p)
    live = start_server(data, env={"PYTHONPATH": path})
    yield live
    live.stop()


def test_an_export_extra_broken_by_another_install_says_how_to_repair_it(server_without_pkg_resources):
    require_extra()
    with server_without_pkg_resources.client() as client:
        run_id = new_run(client)
        assert post_snapshot(client, run_id, model_json(), weights_for(DENSE_WEIGHTS, 1)).status_code == 201
        response = download(client, run_id, "keras")
    assert response.status_code == 500
    detail = response.json()["detail"]
    assert "does not import" in detail and "No module named 'pkg_resources'" in detail, detail
    assert "-m pip install -c " in detail and "constraints/export.txt" in detail and "[export]'" in detail, detail
