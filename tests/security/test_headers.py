"""Items are served with their real content type and nosniff; nothing stored under a dataset is ever served as HTML."""

from __future__ import annotations

import io

from PIL import Image
from support import imagefolder, png_bytes, upload, zip_bytes

from server.datasets.pack import unpack

HTML = b"<!doctype html><html><body><script>document.title='owned'</script></body></html>"


def image_bytes(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (6, 4), (10, 200, 30)).save(out, format=fmt)
    return out.getvalue()


def test_items_are_served_with_their_real_content_type_and_nosniff(mclient):
    members = {
        "a/p.png": image_bytes("PNG"),
        "a/j.jpg": image_bytes("JPEG"),
        "a/g.gif": image_bytes("GIF"),
        "b/w.webp": image_bytes("WEBP"),
        "b/m.bmp": image_bytes("BMP"),
        "b/jpeg-named.png": image_bytes("JPEG"),
    }  # the content decides, not the name
    assert upload(mclient, "formats", zip_bytes(members)).status_code == 201
    expected = {
        "a/p.png": "image/png",
        "a/j.jpg": "image/jpeg",
        "a/g.gif": "image/gif",
        "b/w.webp": "image/webp",
        "b/m.bmp": "image/bmp",
        "b/jpeg-named.png": "image/jpeg",
    }
    for item in mclient.get("/api/datasets/formats").json()["items"]:
        response = mclient.get(f"/api/datasets/formats/items/{item['id']}")
        assert response.headers["content-type"] == expected[item["source"]], item["source"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.content == members[item["source"]]


def test_png_with_html_appended_is_still_served_as_png(mclient):
    polyglot = png_bytes(1) + HTML
    assert upload(mclient, "polyglot", zip_bytes({"cat/x.png": polyglot, "dog/y.png": png_bytes(2)})).status_code == 201
    for accept in ("text/html", "*/*", "text/html,application/xhtml+xml"):
        for method in ("GET", "HEAD"):
            response = mclient.request(method, "/api/datasets/polyglot/items/0", headers={"Accept": accept})
            assert response.status_code == 200
            assert response.headers["content-type"] == "image/png"
            assert response.headers["x-content-type-options"] == "nosniff"
    bulk = mclient.get("/api/datasets/polyglot/bulk", headers={"Accept": "text/html"})
    assert bulk.headers["content-type"] == "application/x-browsertrain-pack"
    assert bulk.headers["x-content-type-options"] == "nosniff"
    header, items = unpack(bulk.content)
    assert {e["content_type"] for e in header["items"]} == {"image/png"}
    assert polyglot in items.values()
    # The exact header bytes on the wire: test_wire.py, against a real server.


def test_html_files_in_an_upload_are_never_stored_or_served(module_server, mclient):
    members = {
        **imagefolder({"cat": 1, "dog": 1}, seed=500),
        "cat/page.html": HTML,
        "cat/page.htm": HTML,
        "index.html": HTML,
        "dog/.hidden.png": HTML,
    }
    response = upload(mclient, "with-html", zip_bytes(members))
    assert response.status_code == 201, response.text
    manifest = mclient.get("/api/datasets/with-html").json()
    assert manifest["num_items"] == 2
    assert {it["content_type"] for it in manifest["items"]} == {"image/png"}
    for path in (module_server.data_dir / "datasets" / "with-html").rglob("*"):
        if path.is_file():
            assert HTML not in path.read_bytes(), path
    for item in manifest["items"]:
        assert (
            not mclient.get(f"/api/datasets/with-html/items/{item['id']}").headers["content-type"].startswith("text/")
        )


def test_api_answers_carry_nosniff_and_no_html(mclient):
    for path in (
        "/api/datasets",
        "/api/datasets/shapes",
        "/api/runs",
        "/api/datasets/nope",
        "/api/datasets/shapes/items/99999",
    ):
        response = mclient.get(path, headers={"Accept": "text/html"})
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["content-type"].startswith("application/json"), path
