"""Serving datasets: one item's bytes with its type and ETag, If-None-Match, and bulk packs (parsed two ways, paged)."""

from __future__ import annotations

import json
import struct

import pytest
from support import imagefolder, jpeg_bytes, png_bytes, upload, zip_bytes

from server.datasets.pack import unpack

MEMBERS = {
    **imagefolder({"ant": 3, "bee": 4}, seed=200),
    "bee/photo.jpg": jpeg_bytes(5, size=(12, 10)),
    "ant/big.png": png_bytes(6, size=(64, 48)),
}


@pytest.fixture(scope="module")
def served(module_server):
    """A dataset whose every source file is known, uploaded once for this module."""
    with module_server.client() as c:
        response = upload(c, "served", zip_bytes(MEMBERS))
        assert response.status_code == 201, response.text
        return c.get("/api/datasets/served").json()


def parse_pack_by_hand(data: bytes) -> tuple[dict, dict[int, bytes]]:
    """The README's format: 'BTPK', uint32 LE header length, JSON header, then payload with offsets from its start."""
    assert data[:4] == b"BTPK"
    (length,) = struct.unpack_from("<I", data, 4)
    header = json.loads(data[8 : 8 + length].decode("utf-8"))
    base = 8 + length
    items = {
        entry["id"]: data[base + entry["offset"] : base + entry["offset"] + entry["size"]] for entry in header["items"]
    }
    last = header["items"][-1] if header["items"] else None
    assert len(data) == base + (last["offset"] + last["size"] if last else 0), "payload ends where the header says"
    return header, items


def test_item_bytes_equal_the_imported_file(served, mclient):
    assert len(served["items"]) == len(MEMBERS)
    for item in served["items"]:
        response = mclient.get(f"/api/datasets/served/items/{item['id']}")
        assert response.status_code == 200
        assert response.content == MEMBERS[item["source"]]
        expected_type = "image/jpeg" if item["source"].endswith(".jpg") else "image/png"
        assert response.headers["content-type"] == expected_type
        assert response.headers["x-content-type-options"] == "nosniff"
        assert int(response.headers["content-length"]) == item["bytes"]


def test_item_etag_answers_if_none_match_with_304(served, mclient):
    first = mclient.get("/api/datasets/served/items/0")
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2
    again = mclient.get("/api/datasets/served/items/0", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    listed = mclient.get("/api/datasets/served/items/0", headers={"If-None-Match": f'"nope", {etag}'})
    assert listed.status_code == 304
    other = mclient.get("/api/datasets/served/items/0", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.content == first.content
    # Different content gets a different ETag.
    assert mclient.get("/api/datasets/served/items/1").headers["etag"] != etag


def test_item_head_gives_headers_without_a_body(served, mclient):
    response = mclient.head("/api/datasets/served/items/0")
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) == served["items"][0]["bytes"]


def test_unknown_item_is_404(served, mclient):
    for item_id in (len(MEMBERS), 10**9, -1):
        response = mclient.get(f"/api/datasets/served/items/{item_id}")
        assert response.status_code == 404, item_id
        assert "no item" in response.json()["detail"]
    response = mclient.get("/api/datasets/served/items/abc")
    assert response.status_code == 422


def test_bulk_round_trips_every_item_byte_exact(served, mclient):
    response = mclient.get("/api/datasets/served/bulk")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-browsertrain-pack"
    assert response.headers["x-dataset-hash"] == served["hash"]
    assert int(response.headers["content-length"]) == len(response.content)
    header, items = unpack(response.content)
    by_hand_header, by_hand = parse_pack_by_hand(response.content)
    assert header == by_hand_header and items == by_hand
    assert header["version"] == 1 and header["dataset"] == "served" and header["hash"] == served["hash"]
    sources = {item["id"]: item["source"] for item in served["items"]}
    assert {item_id: data for item_id, data in by_hand.items()} == {i: MEMBERS[s] for i, s in sources.items()}
    for entry, item in zip(header["items"], served["items"]):
        assert (entry["id"], entry["label"], entry["content_type"]) == (item["id"], item["label"], item["content_type"])


def test_bulk_pages_with_start_and_count_cover_every_item_once(served, mclient):
    whole = parse_pack_by_hand(mclient.get("/api/datasets/served/bulk").content)[1]
    seen: dict[int, bytes] = {}
    for start in range(0, len(MEMBERS), 3):
        response = mclient.get("/api/datasets/served/bulk", params={"start": start, "count": 3})
        assert response.status_code == 200
        header, items = parse_pack_by_hand(response.content)
        assert [e["id"] for e in header["items"]] == list(range(start, min(start + 3, len(MEMBERS))))
        assert header["items"][0]["offset"] == 0
        assert not seen.keys() & items.keys()
        seen.update(items)
    assert seen == whole


def test_bulk_start_past_the_end_gives_an_empty_pack(served, mclient):
    response = mclient.get("/api/datasets/served/bulk", params={"start": 1000, "count": 5})
    assert response.status_code == 200
    header, items = parse_pack_by_hand(response.content)
    assert header["items"] == [] and items == {}


def test_bulk_count_over_the_cap_or_negative_start_is_refused(served, mclient):
    from server.limits import MAX_BULK_ITEMS

    too_many = mclient.get("/api/datasets/served/bulk", params={"count": MAX_BULK_ITEMS + 1})
    assert too_many.status_code == 422 and "count" in json.dumps(too_many.json()["detail"])
    negative = mclient.get("/api/datasets/served/bulk", params={"start": -1})
    assert negative.status_code == 422 and "start" in json.dumps(negative.json()["detail"])
    unknown = mclient.get("/api/datasets/no-such-set/bulk")
    assert unknown.status_code == 404 and "no-such-set" in unknown.json()["detail"]
