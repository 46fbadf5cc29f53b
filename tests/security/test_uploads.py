"""Hostile uploads: zip slip, zip bombs, image bombs, corrupt and disallowed files, hostile multipart forms, bodies over
the caps and clients that vanish mid-upload. Each gets a clear 4xx and leaves nothing on disk."""

from __future__ import annotations

import io
import stat
import struct
import warnings
import zipfile
import zlib

from PIL import Image
from support import assert_unchanged, disk_state, imagefolder, multipart_body, png_bytes, upload, zip_bytes

from server.limits import (
    MAX_IMAGE_FRAMES,
    MAX_IMAGE_PIXELS,
    MAX_MULTIPART_FIELDS,
    MAX_MULTIPART_PART_HEADER_BYTES,
    MAX_ZIP_MEMBER_RATIO,
    MAX_ZIP_MEMBERS,
    MAX_ZIP_UNCOMPRESSED_BYTES,
)

GOOD = imagefolder({"cat": 2, "dog": 2}, seed=300)


def refused(server, client, archive: bytes, *, says: list[str], name: str = "hostile", status: int = 400) -> None:
    """Upload `archive`; it must be refused with `status`, a message holding every phrase, and no trace on disk."""
    before = disk_state(server.data_dir)
    response = upload(client, name, archive)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    for phrase in says:
        assert phrase in detail, detail
    assert_unchanged(server.data_dir, before)
    assert client.get(f"/api/datasets/{name}").status_code == 404


def forge_sizes(archive: bytes, sizes: dict[str, tuple[int, int]]) -> bytes:
    """Rewrite the central directory's (compressed, uncompressed) sizes of the named members: headers that lie."""
    data = bytearray(archive)
    position = data.find(b"PK\x01\x02")
    while position != -1:
        name_length = struct.unpack_from("<H", data, position + 28)[0]
        name = data[position + 46 : position + 46 + name_length].decode()
        if name in sizes:
            struct.pack_into("<II", data, position + 20, *sizes[name])
        position = data.find(b"PK\x01\x02", position + 46)
    return bytes(data)


# --- zips ------------------------------------------------------------------------------------------------------------


def test_zip_slip_member_is_refused(module_server, mclient):
    for evil in ("../evil.png", "cat/../../evil.png", "../../../../tmp/evil.png"):
        archive = zip_bytes({**GOOD, evil: png_bytes(1)})
        refused(module_server, mclient, archive, says=["zip slip", evil])
    assert not list(module_server.data_dir.parent.rglob("evil.png"))


def test_absolute_zip_member_is_refused(module_server, mclient):
    for evil in ("/tmp/evil.png", "C:/evil.png", "..\\evil.png", "cat\\..\\..\\evil.png"):
        archive = zip_bytes({**GOOD, evil: png_bytes(1)})
        refused(module_server, mclient, archive, says=["absolute or non-portable", evil.replace("\\", "\\\\")])
    assert not list(module_server.data_dir.parent.rglob("*evil.png"))


def test_zip_bomb_member_over_the_ratio_is_refused(module_server, mclient):
    archive = zip_bytes({**GOOD, "cat/bomb.png": b"\0" * (20 * 1024 * 1024)})
    assert len(archive) < 200_000
    refused(module_server, mclient, archive, says=["cat/bomb.png", f"{MAX_ZIP_MEMBER_RATIO}:1", "zip bomb"])


def test_zip_with_too_many_members_is_refused(module_server, mclient):
    members = [(f"cat/{i}.txt", b"") for i in range(MAX_ZIP_MEMBERS + 1)]
    refused(
        module_server,
        mclient,
        zip_bytes(members),
        says=[f"{MAX_ZIP_MEMBERS + 1:,} members", f"limit is {MAX_ZIP_MEMBERS:,}"],
    )


def test_zip_declaring_more_than_the_total_cap_is_refused(module_server, mclient):
    """Each member's declared ratio is under the cap, but together they would unpack past MAX_ZIP_UNCOMPRESSED_BYTES."""
    per_member = MAX_ZIP_UNCOMPRESSED_BYTES // 2 + 1
    compressed = per_member // (MAX_ZIP_MEMBER_RATIO - 10)
    archive = forge_sizes(
        zip_bytes({**GOOD, "cat/a.png": png_bytes(1), "cat/b.png": png_bytes(2)}),
        {"cat/a.png": (compressed, per_member), "cat/b.png": (compressed, per_member)},
    )
    refused(module_server, mclient, archive, says=[f"more than {MAX_ZIP_UNCOMPRESSED_BYTES:,} bytes"])


def test_zip_member_larger_than_its_header_says_is_refused(module_server, mclient):
    real = png_bytes(5, size=(32, 32))
    archive = zip_bytes({**GOOD, "cat/liar.png": real}, compression=zipfile.ZIP_STORED)
    archive = forge_sizes(archive, {"cat/liar.png": (len(real), 16)})
    refused(module_server, mclient, archive, says=["cat/liar.png"])


def test_zip_symlink_member_is_refused(module_server, mclient):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in GOOD.items():
            archive.writestr(name, data)
        link = zipfile.ZipInfo("cat/link.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    refused(module_server, mclient, out.getvalue(), says=["cat/link.png", "symbolic link"])


def test_zip_with_a_member_twice_is_refused(module_server, mclient):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Duplicate name", UserWarning)  # zipfile warns, then writes it anyway
        archive = zip_bytes([*GOOD.items(), ("cat/000.png", png_bytes(9))])
    refused(module_server, mclient, archive, says=["cat/000.png", "appears twice"])


def test_zip_with_a_file_and_a_folder_of_the_same_name_is_refused(module_server, mclient):
    archive = zip_bytes([*GOOD.items(), ("cat/x.png", png_bytes(9)), ("cat/x.png/y.png", png_bytes(10))])
    refused(module_server, mclient, archive, says=["cat/x.png"])


def test_zip_member_with_an_over_long_name_is_refused(module_server, mclient):
    long_name = "cat/" + "n" * 300 + ".png"
    refused(module_server, mclient, zip_bytes({**GOOD, long_name: png_bytes(9)}), says=["n" * 50])


# --- images ----------------------------------------------------------------------------------------------------------


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height with almost no pixel data behind it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def test_png_declaring_huge_dimensions_is_refused(module_server, mclient):
    for width, height in ((5000, 5000), (100_000, 100_000)):
        archive = zip_bytes({**GOOD, "dog/bomb.png": png_declaring(width, height)})
        refused(module_server, mclient, archive, says=["dog/bomb.png", f"{MAX_IMAGE_PIXELS:,}-pixel limit"])


def animated_gif(frames: int, size: tuple[int, int] = (2, 2)) -> bytes:
    images = [Image.new("P", size, i % 2) for i in range(frames)]
    for image in images:
        image.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    out = io.BytesIO()
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=10, loop=0)
    return out.getvalue()


def test_gif_with_too_many_frames_is_refused(module_server, mclient):
    gif = animated_gif(MAX_IMAGE_FRAMES + 1)
    assert Image.open(io.BytesIO(gif)).n_frames == MAX_IMAGE_FRAMES + 1
    refused(
        module_server,
        mclient,
        zip_bytes({**GOOD, "dog/flipbook.gif": gif}),
        says=["dog/flipbook.gif", f"{MAX_IMAGE_FRAMES + 1} frames"],
    )


def test_gif_whose_frames_add_up_past_the_pixel_cap_is_refused(module_server, mclient):
    """A 4000x4000 canvas (allowed once) with 5 one-pixel frames: 80 M pixels if each frame were drawn."""
    gif = bytearray(animated_gif(5, size=(1, 1)))
    struct.pack_into("<HH", gif, 6, 4000, 4000)  # the logical screen size
    assert Image.open(io.BytesIO(bytes(gif))).size == (4000, 4000)
    refused(
        module_server,
        mclient,
        zip_bytes({**GOOD, "dog/canvas.gif": bytes(gif)}),
        says=["dog/canvas.gif", "animation limit"],
    )


def test_truncated_png_is_refused_naming_the_file(module_server, mclient):
    whole = png_bytes(11, size=(64, 64))
    archive = zip_bytes({**GOOD, "dog/broken.png": whole[: len(whole) // 2]})
    refused(module_server, mclient, archive, says=["dog/broken.png", "corrupt"])


def test_tiff_renamed_png_is_refused(module_server, mclient):
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (1, 2, 3)).save(out, format="TIFF")
    refused(
        module_server,
        mclient,
        zip_bytes({**GOOD, "cat/photo.png": out.getvalue()}),
        says=["cat/photo.png", "TIFF is not allowed"],
    )


def test_svg_or_html_renamed_png_is_refused(module_server, mclient):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    html = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
    for name, data in (("cat/vector.png", svg), ("dog/page.png", html)):
        refused(module_server, mclient, zip_bytes({**GOOD, name: data}), says=[name, "not a readable image"])
    csv_listing_html = {"a.png": png_bytes(1), "page.html": html, "labels.csv": b"a.png,cat\npage.html,dog\n"}
    refused(module_server, mclient, zip_bytes(csv_listing_html), says=["page.html", "not a readable image"])


# --- multipart forms -------------------------------------------------------------------------------------------------


def test_multipart_filename_traversal_is_ignored(module_server, mclient):
    base = module_server.data_dir.parent
    before = disk_state(module_server.data_dir)
    for index, filename in enumerate(("../../x.zip", "/tmp/abs-x.zip", "..\\..\\win-x.zip")):
        response = upload(mclient, f"named-{index}", zip_bytes(GOOD), filename=filename)
        assert response.status_code == 201, response.text
    after = disk_state(module_server.data_dir)
    new = {path.split("/")[0] for path in after["datasets"].keys() - before["datasets"].keys()}
    assert new == {"named-0", "named-1", "named-2"}
    for key in before:
        if key != "datasets":
            assert after[key] == before[key], key
    for pattern in ("x.zip", "abs-x.zip", "*win-x.zip"):
        assert not list(base.rglob(pattern)) and not list(base.parent.glob(pattern)), pattern


def test_thousands_of_multipart_fields_are_refused(module_server, mclient):
    parts = [(f"f{i}", None, None, b"v") for i in range(5000)]
    parts += [("name", None, None, b"many-fields"), ("file", "d.zip", "application/zip", zip_bytes(GOOD))]
    body, content_type = multipart_body(parts)
    before = disk_state(module_server.data_dir)
    response = mclient.post("/api/datasets", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert f"Maximum number of fields is {MAX_MULTIPART_FIELDS}" in response.json()["detail"]
    assert_unchanged(module_server.data_dir, before)
    assert mclient.get("/api/datasets/many-fields").status_code == 404


def test_huge_multipart_part_header_is_refused(module_server, mclient):
    before = disk_state(module_server.data_dir)
    boundary = "----hugeheader"
    padding = "a" * (MAX_MULTIPART_PART_HEADER_BYTES + 1)
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\nX-Padding: {padding}\r\n\r\n'
            f'huge-header\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="d.zip"\r\n'
            f"Content-Type: application/zip\r\n\r\n"
        ).encode()
        + zip_bytes(GOOD)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = mclient.post(
        "/api/datasets", content=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert response.status_code == 400
    assert "header size exceeded" in response.json()["detail"]
    assert_unchanged(module_server.data_dir, before)
    # A header just under the cap is fine.
    ok_padding = "a" * (MAX_MULTIPART_PART_HEADER_BYTES - 200)
    body = body.replace(padding.encode(), ok_padding.encode()).replace(b"huge-header", b"long-header")
    response = mclient.post(
        "/api/datasets", content=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert response.status_code == 201, response.text


# --- imports that reach outside their own folder ----------------------------------------------------------------------


def secret_png(folder, marker: str):
    """A valid PNG beside the data folder carrying `marker` in a text chunk: imported, it would show in responses."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("secret", marker)
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (9, 9, 9)).save(out, format="PNG", pnginfo=info)
    path = folder / f"{marker}.png"
    path.write_bytes(out.getvalue())
    return path


def test_labels_csv_naming_a_file_outside_the_upload_is_refused(module_server, mclient):
    marker = "SECRETCSV0123"
    secret = secret_png(module_server.data_dir.parent, marker)
    before = disk_state(module_server.data_dir)
    for listed in (
        f"../../{secret.name}",
        f"../../../{secret.parent.name}/{secret.name}",
        str(secret),
        f"a.png/../../{secret.name}",
    ):
        members = {"a.png": png_bytes(1), "labels.csv": f"a.png,cat\n{listed},dog\n".encode()}
        response = upload(mclient, "csv-outside", zip_bytes(members))
        assert response.status_code == 400, (listed, response.text)
        assert "labels.csv line 2" in response.json()["detail"]
        assert "points outside the dataset" in response.json()["detail"]
        assert marker.encode() not in response.content.replace(secret.name.encode(), b"")
    assert_unchanged(module_server.data_dir, before)


def cli_import(source, name, data_dir):
    import subprocess
    import sys

    from support import ROOT

    return subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "datasets",
            "import",
            str(source),
            "--name",
            name,
            "--data-dir",
            str(data_dir),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_folder_with_a_symlink_pointing_outside_is_refused(tmp_path, module_server):
    secret = secret_png(tmp_path, "SECRETLINK0123")
    source = tmp_path / "linked"
    (source / "cat").mkdir(parents=True)
    (source / "cat" / "ok.png").write_bytes(png_bytes(1))
    (source / "cat" / "link.png").symlink_to(secret)
    (source / "dog").symlink_to(tmp_path, target_is_directory=True)
    before = disk_state(module_server.data_dir)
    done = cli_import(source, "linked", module_server.data_dir)
    assert done.returncode == 2, done.stdout
    assert "symbolic links are not imported" in done.stderr
    assert "SECRETLINK0123" not in done.stdout + done.stderr.replace(secret.name, "")
    assert_unchanged(module_server.data_dir, before)


def test_cli_labels_csv_naming_a_file_outside_the_folder_is_refused(tmp_path, module_server):
    secret = secret_png(tmp_path, "SECRETCLICSV01")
    source = tmp_path / "csvset"
    source.mkdir()
    (source / "a.png").write_bytes(png_bytes(1))
    before = disk_state(module_server.data_dir)
    for listed in (f"../{secret.name}", str(secret)):
        (source / "labels.csv").write_text(f"a.png,cat\n{listed},dog\n")
        done = cli_import(source, "csv-outside", module_server.data_dir)
        assert done.returncode == 2, done.stdout
        assert "labels.csv line 2" in done.stderr and "points outside the dataset" in done.stderr, done.stderr
    assert_unchanged(module_server.data_dir, before)
