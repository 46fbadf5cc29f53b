"""Errors as each audience expects them: a browser gets an HTML page with the status and a way back, an API client
keeps JSON; a missing run's or dataset's page is a 404, not a live page."""

from __future__ import annotations

import pytest
from support import new_run

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}  # what Chromium sends


@pytest.mark.parametrize(
    "path", ["/runs/nope", "/runs/0123456789ab", "/runs/0123456789ab/export", "/no/such/page", "/datasets/nope"]
)
def test_a_browser_gets_an_html_404_page_with_a_way_back(mclient, path):
    response = mclient.get(path, headers=HTML)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert '<span id="error-status">404</span>' in response.text
    assert 'href="/"' in response.text and "Back to datasets" in response.text
    assert 'id="resume-link"' not in response.text and 'id="export-link"' not in response.text


@pytest.mark.parametrize("path", ["/api/runs/0123456789ab", "/api/nope", "/api/datasets/nope"])
def test_api_clients_keep_json_even_when_they_accept_html(mclient, path):
    response = mclient.get(path, headers=HTML)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json()["detail"]


@pytest.mark.parametrize("path", ["/runs/nope", "/no/such/page"])
def test_a_client_asking_for_json_gets_json_on_page_urls(mclient, path):
    for headers in ({"Accept": "application/json"}, {}):
        response = mclient.get(path, headers=headers)
        assert response.status_code == 404
        assert response.json()["detail"]


def test_an_unsafe_name_on_a_page_is_still_refused_with_400(mclient):
    response = mclient.get("/runs/a%5cb", headers=HTML)
    assert response.status_code == 400
    assert "run id" in response.text


def test_an_existing_run_and_dataset_still_have_their_pages(mclient):
    run_id = new_run(mclient)
    for path in (f"/runs/{run_id}", f"/runs/{run_id}/export", "/datasets/shapes"):
        response = mclient.get(path, headers=HTML)
        assert response.status_code == 200, path
        assert 'id="error-status"' not in response.text
