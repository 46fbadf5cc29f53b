"""Exports of a run trained in real Chromium: every format by API and CLI, sizes, the gate, caching and bytes."""

from __future__ import annotations

import io
import json
import re
import shutil
import sys
import zipfile

import pytest
from support.exports import (
    FORMATS,
    TFJS_FORMATS,
    WITHOUT_EXTRA,
    cli,
    download,
    lossy_under_uint8,
    new_run_with_snapshot,
    read_snapshot,
    require_extra,
)

pytestmark = pytest.mark.slow


def zip_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}


def tfjs_files(data: bytes) -> tuple[dict, dict[str, bytes]]:
    """model.json and the weight files of a tfjs export zip, by plain file name (labels.txt, metadata.json aside)."""
    members = {name.split("/", 1)[1]: body for name, body in zip_members(data).items()}
    assert {"labels.txt", "metadata.json"} <= set(members)
    return json.loads(members.pop("model.json")), {
        name: body for name, body in members.items() if name not in ("labels.txt", "metadata.json")
    }


def test_every_format_downloads_under_a_name_that_says_what_it_is(trained):
    require_extra()
    with trained.server.client() as client:
        for fmt in FORMATS:
            response = download(client, trained.run_id, fmt, seq=trained.seq)
            assert response.status_code == 200, (fmt, response.text)
            name = f"shapes-{trained.run_id}-s{trained.seq}-{fmt}.zip"
            assert response.headers["content-disposition"] == f'attachment; filename="{name}"'
            assert response.headers["x-browsertrain-gate"] in ("reference", "passed")
            top = name.removesuffix(".zip")
            if fmt == "keras":
                assert zip_members(response.content)[f"{top}/model.h5"][:8] == b"\x89HDF\r\n\x1a\n"
            elif fmt.startswith("tflite"):
                assert zip_members(response.content)[f"{top}/model.tflite"][4:8] == b"TFL3"
            elif fmt == "savedmodel":
                names = set(zip_members(response.content))
                assert {f"{top}/saved_model.pb", f"{top}/variables/variables.index"} <= names


def test_tfjs_exports_keep_the_topology_and_drop_the_optimizer(trained):
    snapshot = json.loads((trained.snapshot_dir() / "model.json").read_text())
    model_weights = [w for w in snapshot["weightsManifest"][0]["weights"] if w.get("group") != "optimizer"]
    assert len(model_weights) < len(snapshot["weightsManifest"][0]["weights"])  # the snapshot holds Adam's state
    with trained.server.client() as client:
        for fmt in TFJS_FORMATS:
            model_json, weight_files = tfjs_files(download(client, trained.run_id, fmt, seq=trained.seq).content)
            assert model_json["modelTopology"] == snapshot["modelTopology"], fmt
            assert "trainingConfig" not in model_json
            (group,) = model_json["weightsManifest"]
            assert group["paths"] == ["group1-shard1of1.bin"] and set(weight_files) == {"group1-shard1of1.bin"}
            assert [(w["name"], w["shape"], w["dtype"]) for w in group["weights"]] == [
                (w["name"], w["shape"], w["dtype"]) for w in model_weights
            ]
            quantized = {w.get("quantization", {}).get("dtype") for w in group["weights"]}
            assert quantized == ({None} if fmt == "tfjs" else {fmt})


def test_uint8_weights_are_at_most_26_percent_of_float32(trained):
    with trained.server.client() as client:
        sizes = {
            fmt: sum(
                len(b) for b in tfjs_files(download(client, trained.run_id, fmt, seq=trained.seq).content)[1].values()
            )
            for fmt in TFJS_FORMATS
        }
    assert sizes["uint8"] <= 0.26 * sizes["tfjs"], sizes
    assert sizes["float16"] == sizes["uint16"] <= 0.51 * sizes["tfjs"], sizes


def test_the_gate_passes_every_format_of_the_sample_model_on_the_browsers_own_split(trained):
    require_extra()
    with trained.server.client() as client:
        response = client.post(
            f"/api/runs/{trained.run_id}/exports", params={"group": "tf", "seq": trained.seq}, timeout=600
        )
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["gate_unavailable"] is None
    # The gate rebuilt the browser's validation split and preprocessing: same items, same float32 accuracy.
    assert summary["gate"]["val_items"] == trained.summary["val_items"]
    browser_accuracy = trained.summary.get("evaluation", {}).get("accuracy", trained.summary["val_accuracy"])
    assert summary["gate"]["reference_accuracy"] == pytest.approx(
        browser_accuracy, abs=1.01 / trained.summary["val_items"]
    )
    assert summary["gate"]["reference_accuracy"] > 0.5, "the sample model should be well above chance (1/3)"
    for row in summary["formats"]:
        assert row["built"] and row["bytes"] > 0, row
        assert row["verdict"]["status"] == ("reference" if row["format"] == "tfjs" else "passed"), row
        assert row["gate"]["accuracy_drop_points"] <= 1.0 and row["gate"]["agreement"] >= 0.95, row
    by_format = {row["format"]: row for row in summary["formats"]}
    assert by_format["tfjs"]["gate"]["max_abs_diff"] == 0
    for fmt in ("keras", "savedmodel", "tflite"):
        assert by_format[fmt]["gate"]["max_abs_diff"] <= 1e-4, by_format[fmt]
    for fmt in ("float16", "uint16", "uint8"):
        assert by_format[fmt]["quantize_ms"] < 1000, by_format[fmt]


def test_the_server_process_never_loads_tensorflow(trained):
    require_extra()
    with trained.server.client() as client:
        assert download(client, trained.run_id, "tflite-dynamic", seq=trained.seq).status_code == 200
    with open(f"/proc/{trained.server.process.pid}/maps") as f:
        maps = f.read()
    assert "tensorflow" not in maps.lower()


def test_exports_are_cached_and_the_same_snapshot_rebuilds_to_the_same_bytes(trained, tmp_path):
    """Download everything, then rebuild it all from scratch with the CLI in a copy of the data folder."""
    require_extra()
    with trained.server.client() as client:
        served = {fmt: download(client, trained.run_id, fmt, seq=trained.seq).content for fmt in FORMATS}
        again = download(client, trained.run_id, "uint8", seq=trained.seq)
    assert again.content == served["uint8"]
    copy = tmp_path / "data"
    shutil.copytree(trained.data_dir, copy, ignore=shutil.ignore_patterns("exports", ".lock"))
    for fmt in FORMATS:
        out = tmp_path / f"rebuilt-{fmt}"
        result = cli(
            "export",
            trained.run_id,
            "--format",
            fmt,
            "--seq",
            str(trained.seq),
            "--out",
            str(out),
            "--data-dir",
            str(copy),
        )
        assert result.returncode == 0, result.stderr
        assert out.read_bytes() == served[fmt], f"{fmt} did not rebuild to the same bytes"
    assert (copy / "runs" / trained.run_id / "exports").is_dir()


def test_the_gate_flags_an_export_built_to_lose_accuracy_and_serves_it_only_when_confirmed(trained, tmp_path):
    model_raw, weights = read_snapshot(trained.snapshot_dir())
    with trained.server.client() as client:
        config = client.get(f"/api/runs/{trained.run_id}").json()["config"]
        run_id = new_run_with_snapshot(client, "shapes", config, model_raw, lossy_under_uint8(model_raw, weights))
        refused = download(client, run_id, "uint8")
        assert refused.status_code == 409, refused.text
        detail = refused.json()["detail"]
        assert re.search(r"uint8 loses \d+\.\d\d points of validation accuracy", detail) and "confirm" in detail
        confirmed = download(client, run_id, "uint8", confirm="true")
        assert confirmed.status_code == 200 and confirmed.headers["x-browsertrain-gate"] == "flagged"
        assert download(client, run_id, "float16").status_code == 200  # float16 keeps the 1e4 and the rest
        assert download(client, run_id, "tfjs").status_code == 200
        # The allowance is the user's to set.
        assert download(client, run_id, "uint8", max_accuracy_drop=100).status_code == 200
        summary = client.get(f"/api/runs/{run_id}/exports").json()
    rows = {row["format"]: row for row in summary["formats"]}
    assert rows["uint8"]["verdict"] == {"status": "flagged", "needs_confirm": True}
    assert rows["uint8"]["gate"]["accuracy_drop_points"] > 10
    assert rows["float16"]["verdict"]["status"] == "passed"
    assert summary["gate"]["reference_accuracy"] > 0.5

    out = tmp_path / "lossy.zip"
    result = cli("export", run_id, "--format", "uint8", "--out", str(out), "--data-dir", str(trained.data_dir))
    assert result.returncode == 3 and "--confirm" in result.stderr and not out.exists()
    result = cli(
        "export", run_id, "--format", "uint8", "--out", str(out), "--confirm", "--data-dir", str(trained.data_dir)
    )
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == confirmed.content and "quality gate: flagged" in result.stdout


def test_a_quantized_export_the_gate_cannot_evaluate_needs_a_confirm(trained, tmp_path):
    """The run's dataset is deleted: float32 still downloads, quantized ones say why they are unvouched for."""
    from support import imagefolder, upload, zip_bytes

    model_raw, weights = read_snapshot(trained.snapshot_dir())
    with trained.server.client() as client:
        assert upload(client, "gone", zip_bytes(imagefolder({"a": 3, "b": 3, "c": 3}))).status_code == 201
        run_id = new_run_with_snapshot(client, "gone", {"inputSize": 64}, model_raw, weights)
        assert client.delete("/api/datasets/gone").status_code in (200, 204)
        assert download(client, run_id, "tfjs").status_code == 200
        refused = download(client, run_id, "uint8")
        assert refused.status_code == 409
        assert "could not evaluate" in refused.json()["detail"] and "'gone' is gone" in refused.json()["detail"]
        assert download(client, run_id, "uint8", confirm="true").status_code == 200
        built = client.post(f"/api/runs/{run_id}/exports").json()
    assert "gone" in built["gate_unavailable"]


def test_without_the_extra_the_api_and_cli_say_exactly_how_to_install_it(trained, no_extra_server):
    model_raw, weights = read_snapshot(trained.snapshot_dir())
    with no_extra_server.client() as client:
        config = client.get(f"/api/runs/{trained.run_id}").json()["config"]
        run_id = new_run_with_snapshot(client, "shapes", config, model_raw, weights)
        for fmt in ("keras", "savedmodel", "tflite", "tflite-dynamic"):
            response = download(client, run_id, fmt)
            assert response.status_code == 501
            assert "make export-extra" in response.json()["detail"]
            assert "pip install -c constraints/export.txt -e '.[export]'" in response.json()["detail"]
        assert download(client, run_id, "uint8").status_code == 200  # tfjs formats need nothing extra
        summary = client.get(f"/api/runs/{run_id}/exports").json()
    assert summary["extra"]["installed"] is False and "make export-extra" in summary["extra"]["install"]
    result = cli(
        "export",
        run_id,
        "--format",
        "keras",
        "--data-dir",
        str(trained.data_dir),
        python=[sys.executable, "-c", WITHOUT_EXTRA],
    )
    assert result.returncode == 2
    assert "make export-extra" in result.stderr and "pip install -c constraints/export.txt" in result.stderr


def test_user_errors_are_clear_and_change_nothing(trained):
    exports_dir = trained.data_dir / "runs" / trained.run_id / "exports"
    before = sorted(p.name for p in exports_dir.iterdir()) if exports_dir.exists() else []
    with trained.server.client() as client:
        assert download(client, trained.run_id, "onnx").status_code == 422
        missing = download(client, trained.run_id, "uint8", seq=999)
        assert missing.status_code == 404
        assert download(client, "0123456789ab", "uint8").status_code == 404
        assert download(client, trained.run_id, "uint8", max_accuracy_drop=-1).status_code == 422
    after = sorted(p.name for p in exports_dir.iterdir()) if exports_dir.exists() else []
    assert after == before
    result = cli("export", trained.run_id, "--format", "uint8", "--seq", "999", "--data-dir", str(trained.data_dir))
    assert result.returncode == 2 and "no snapshot 999" in result.stderr
