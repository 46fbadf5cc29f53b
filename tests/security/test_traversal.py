"""Path traversal: every route that takes a dataset name or run id refuses names that could leave the data folder.

Requests go out over a raw socket so the server receives the encoded forms (%2e%2e%2f, %00, %5c) byte for byte.
Secrets are planted beside the data folder, behind symlinks inside it, and in sibling folders datasets2/ and runs2/;
no response may carry them and nothing on disk may change.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from support import (
    DENSE_WEIGHTS,
    RUN_ID_OUTSIDE,
    RUN_ID_SIBLING,
    assert_not_leaked,
    assert_unchanged,
    disk_state,
    model_json,
    multipart_body,
    plant_outside,
    raw_request,
    start_isolated,
    weights_for,
)

SNAPSHOT_BODY = multipart_body(
    [
        ("model.json", "model.json", "application/json", json.dumps(model_json()).encode()),
        ("model.weights.bin", "model.weights.bin", "application/octet-stream", weights_for(DENSE_WEIGHTS, 0)),
    ]
)

# (method, path with {} for the name, body, content type)
DATASET_ROUTES = [
    ("GET", "/api/datasets/{}", b"", None),
    ("GET", "/api/datasets/{}/items/0", b"", None),
    ("HEAD", "/api/datasets/{}/items/0", b"", None),
    ("GET", "/api/datasets/{}/bulk", b"", None),
    ("GET", "/api/datasets/{}/bulk?start=0&count=1", b"", None),
    ("DELETE", "/api/datasets/{}", b"", None),
    ("GET", "/datasets/{}", b"", None),
]
RUN_ROUTES = [
    ("GET", "/api/runs/{}", b"", None),
    ("PATCH", "/api/runs/{}", b'{"status": "running"}', "application/json"),
    ("POST", "/api/runs/{}/epochs", b'{"epoch": 0}', "application/json"),
    ("GET", "/api/runs/{}/snapshots", b"", None),
    ("POST", "/api/runs/{}/snapshots", SNAPSHOT_BODY[0], SNAPSHOT_BODY[1]),
    ("GET", "/api/runs/{}/model.json", b"", None),
    ("GET", "/api/runs/{}/snapshots/1/model.json", b"", None),
    ("GET", "/api/runs/{}/snapshots/1/model.weights.bin", b"", None),
    ("GET", "/api/runs/{}/export?format=tfjs", b"", None),
    ("GET", "/api/runs/{}/exports", b"", None),
    ("POST", "/api/runs/{}/exports?group=tfjs", b"", None),
    ("GET", "/runs/{}", b"", None),
    ("GET", "/runs/{}/export", b"", None),
]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    live = start_isolated(tmp_path_factory.mktemp("traversal"))
    markers = plant_outside(live.data_dir)
    yield live, markers
    live.stop()


def refuse_everywhere(
    planted, name: str, *, single_segment: bool, routes=DATASET_ROUTES + RUN_ROUTES, must_say: str | None = None
) -> None:
    """Send `name` (already URL-encoded) to every route; each must refuse it and leak nothing.

    A name that decodes to one path segment reaches the handler and must get a 400 that names the problem; one that
    decodes to several segments matches no route (404). Either way nothing changes on disk.
    """
    live, markers = planted
    before = disk_state(live.data_dir)
    for method, template, body, content_type in routes:
        target = template.format(name)
        headers = {"Content-Type": content_type} if content_type else {}
        response = raw_request(live.port, method, target, headers=headers, body=body)
        where = f"{method} {target[:120]} -> {response.status} {response.body[:200]!r}"
        assert_not_leaked(response.body + json.dumps(response.headers).encode(), markers)
        if single_segment:
            assert response.status == 400, where
            if method != "HEAD":
                detail = response.json()["detail"]
                assert "name" in detail or "run id" in detail or "path" in detail, where
                if must_say:
                    assert must_say in detail, where
        else:
            assert response.status in (400, 404, 405), where
    assert_unchanged(live.data_dir, before)


def test_dot_dot_is_refused(planted):
    refuse_everywhere(planted, "..", single_segment=True)


def test_encoded_dot_dot_is_refused(planted):
    refuse_everywhere(planted, "%2e%2e", single_segment=True)


def test_encoded_dot_dot_slash_is_refused(planted):
    refuse_everywhere(planted, "%2e%2e%2f%2e%2e%2fsecret.txt", single_segment=False)
    refuse_everywhere(planted, "..%2f..%2fsecret.txt", single_segment=False)


def test_encoded_slash_is_refused(planted):
    refuse_everywhere(planted, "shapes%2fmanifest.json", single_segment=False)
    refuse_everywhere(planted, "shapes%2F..%2F..%2Fsecret.txt", single_segment=False)


def test_nul_byte_is_refused(planted):
    refuse_everywhere(planted, "shapes%00", single_segment=True)
    refuse_everywhere(planted, "%00", single_segment=True)
    refuse_everywhere(planted, "shapes%00.png", single_segment=True)


def test_absolute_path_is_refused(planted):
    live, _ = planted
    secret = live.data_dir.parent / "secret.txt"
    refuse_everywhere(planted, quote(str(secret), safe=""), single_segment=False)
    refuse_everywhere(planted, "%2fetc%2fpasswd", single_segment=False)


def test_windows_drive_letter_and_backslashes_are_refused(planted):
    refuse_everywhere(planted, "C:%5cWindows%5csystem.ini", single_segment=True)
    refuse_everywhere(planted, "C:secret.txt", single_segment=True)
    refuse_everywhere(planted, "..%5c..%5csecret.txt", single_segment=True)
    refuse_everywhere(planted, "shapes%5c..%5c..%5csecret.txt", single_segment=True)


def test_over_long_name_is_refused(planted):
    refuse_everywhere(planted, "a" * 65, single_segment=True, routes=DATASET_ROUTES, must_say="longer than 64")
    refuse_everywhere(planted, "a" * 4000, single_segment=True)


# Pages check a name's form only (the page itself reads everything through the API), so a well-formed name that is
# a symlink is refused by the API routes, not by the page.
API_DATASET_ROUTES = [r for r in DATASET_ROUTES if r[1].startswith("/api/")]
API_RUN_ROUTES = [r for r in RUN_ROUTES if r[1].startswith("/api/")]


def test_symlink_inside_datasets_pointing_outside_is_refused(planted):
    refuse_everywhere(planted, "linked", single_segment=True, routes=API_DATASET_ROUTES, must_say="data folder")
    live, markers = planted
    listed = raw_request(live.port, "GET", "/api/datasets")
    assert listed.status == 200 and "linked" not in [d["name"] for d in listed.json()["datasets"]]
    assert_not_leaked(listed.body, markers)


def test_symlinked_files_inside_a_dataset_are_never_served(planted):
    live, markers = planted
    before = disk_state(live.data_dir)
    for target in (
        "/api/datasets/hollow/items/0",
        "/api/datasets/hollow/bulk",
        "/api/datasets/mirror",
        "/api/datasets/mirror/items/0",
        "/api/datasets/mirror/bulk",
        "/api/datasets",
    ):
        response = raw_request(live.port, "GET", target)
        assert_not_leaked(response.body, markers)
        if target != "/api/datasets":
            assert response.status in (400, 404), (target, response.status, response.body[:200])
            assert "data folder" in response.detail or "no dataset" in response.detail, response.detail
    listed = [d["name"] for d in raw_request(live.port, "GET", "/api/datasets").json()["datasets"]]
    assert "mirror" not in listed
    assert_unchanged(live.data_dir, before)


def test_symlinked_run_folder_pointing_outside_is_refused(planted):
    refuse_everywhere(planted, RUN_ID_OUTSIDE, single_segment=True, routes=API_RUN_ROUTES, must_say="data folder")


def test_sibling_folder_with_the_same_prefix_is_refused(planted):
    refuse_everywhere(planted, "..%2fdatasets2%2fsecretset", single_segment=False)
    refuse_everywhere(planted, "..%2fruns2%2f" + RUN_ID_SIBLING, single_segment=False)
    refuse_everywhere(planted, "..%5cdatasets2%5csecretset", single_segment=True)
    live, markers = planted
    for target in (
        "/api/datasets/../datasets2/secretset",
        "/api/datasets/../datasets2/secretset/items/0",
        f"/api/runs/../runs2/{RUN_ID_SIBLING}/model.json",
        "/api/datasets2/secretset",
    ):
        response = raw_request(live.port, "GET", target)
        assert response.status == 404, target
        assert_not_leaked(response.body, markers)


def test_names_in_bodies_and_forms_are_refused(planted):
    live, markers = planted
    before = disk_state(live.data_dir)
    for name in ("..", "../datasets2/secretset", "linked", "/etc/passwd", "C:\\x", "a" * 65, "shapes\x00"):
        response = raw_request(
            live.port,
            "POST",
            "/api/runs",
            headers={"Content-Type": "application/json"},
            body=json.dumps({"dataset": name}).encode(),
        )
        assert response.status == 400, (name, response.body)
        assert_not_leaked(response.body, markers)
        body, content_type = multipart_body(
            [("name", None, None, name.encode()), ("file", "x.zip", "application/zip", b"PK\x05\x06" + b"\0" * 18)]
        )
        response = raw_request(live.port, "POST", "/api/datasets", headers={"Content-Type": content_type}, body=body)
        assert response.status == 400, (name, response.body)
        detail = response.json()["detail"]
        assert "dataset name" in detail or "data folder" in detail, detail
        assert_not_leaked(response.body, markers)
    assert_unchanged(live.data_dir, before)


def test_static_files_do_not_leave_their_folder(planted):
    live, markers = planted
    secret = quote(str(live.data_dir.parent / "secret.txt"))
    for target in (
        "/static/../server/config.py",
        "/static/..%2fserver%2fconfig.py",
        "/static/%2e%2e/server/config.py",
        f"/static/{secret}",
        f"/static/%2f{secret.lstrip('/')}",
        "/static/..%5c..%5cserver%5cconfig.py",
        "/vendor/tfjs/..%2f..%2f..%2f..%2fserver%2fconfig.py",
    ):
        response = raw_request(live.port, "GET", target)
        assert response.status in (400, 404), (target, response.status)
        assert b"LOOPBACK_NAMES" not in response.body
        assert_not_leaked(response.body, markers)
