"""Off loopback the login cookie holds a random session id, named for the server's port; the database maps it to the
token that opened it, so it never reveals the token, dies with a new token, and is honoured by every server process
that shares the database and the token."""

from __future__ import annotations

import secrets
import sqlite3

import pytest
from support import assert_unchanged, disk_state, raw_request, start_isolated, start_server

TOKEN = "session-" + secrets.token_urlsafe(24)


def login(server, token: str = TOKEN) -> str:
    """Open the login URL; return the cookie pair ('name=value') the server set."""
    response = raw_request(server.port, "GET", f"/?token={token}")
    assert response.status == 303, response.body
    return response.headers["set-cookie"].split(";")[0]


def status_with_cookie(server, cookie: str) -> int:
    return raw_request(server.port, "GET", "/api/datasets", headers={"Cookie": cookie}).status


@pytest.fixture
def two_servers(tmp_path):
    """Two server processes with one token on one data folder (and so one database)."""
    first = start_isolated(tmp_path, env={"BROWSERTRAIN_TOKEN": TOKEN})
    second = start_server(first.data_dir, env={"BROWSERTRAIN_TOKEN": TOKEN})
    yield first, second
    second.stop()
    first.stop()


@pytest.mark.slow
def test_the_login_cookie_holds_a_session_id_not_the_token(two_servers):
    server, _ = two_servers
    cookie = login(server)
    name, _, session_id = cookie.partition("=")
    assert name == f"browsertrain_session_{server.port}"
    assert TOKEN not in cookie and len(session_id) >= 40
    assert status_with_cookie(server, cookie) == 200
    # The token itself in a cookie, under the old name or the new one, opens nothing.
    for forged in (f"browsertrain_token={TOKEN}", f"{name}={TOKEN}", f"{name}={session_id}x", f"{name}="):
        assert status_with_cookie(server, forged) == 401, forged
    # Neither the session id nor the token is written to the data folder.
    for path in server.data_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert session_id.encode() not in data and TOKEN.encode() not in data, path
    assert login(server) != cookie  # every login opens its own session


@pytest.mark.slow
def test_a_session_cookie_is_named_for_its_port_and_valid_on_every_process_with_the_token(two_servers, tmp_path):
    first, second = two_servers
    cookie = login(first)
    session_id = cookie.partition("=")[2]
    # The browser sends this cookie to the second port too, but under the first port's name: it is not the second's.
    assert status_with_cookie(second, cookie) == 401
    # The session lives in the shared database: the second process honours it under its own name.
    assert status_with_cookie(second, f"browsertrain_session_{second.port}={session_id}") == 200
    # A server on the same data folder with another token honours none of them.
    other = start_server(first.data_dir, env={"BROWSERTRAIN_TOKEN": "another-" + secrets.token_urlsafe(24)})
    try:
        assert status_with_cookie(other, f"browsertrain_session_{other.port}={session_id}") == 401
    finally:
        other.stop()


def test_an_expired_session_is_refused(two_servers):
    server, _ = two_servers
    cookie = login(server)
    with sqlite3.connect(server.data_dir / "browsertrain.db") as conn:
        conn.execute("UPDATE sessions SET expires_at = 0")
    # The second process has not seen this session yet, so it reads the database.
    second = two_servers[1]
    assert status_with_cookie(second, f"browsertrain_session_{second.port}={cookie.partition('=')[2]}") == 401


def test_a_wrong_login_token_opens_no_session(two_servers):
    server, _ = two_servers
    before = disk_state(server.data_dir)
    response = raw_request(server.port, "GET", f"/?token={TOKEN}x")
    assert response.status == 401 and "set-cookie" not in response.headers
    assert_unchanged(server.data_dir, before)


def test_a_browser_without_the_token_gets_a_page_that_says_what_to_do_and_programs_keep_json(tmp_path):
    server = start_isolated(tmp_path, env={"BROWSERTRAIN_TOKEN": TOKEN})
    try:
        page = raw_request(server.port, "GET", "/runs", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        assert page.status == 401 and page.headers["content-type"].startswith("text/html")
        text = page.body.decode()
        assert "401" in text and "Unauthorized" in text and "?token=" in text and 'href="/"' in text
        assert TOKEN not in text
        api = raw_request(server.port, "GET", "/api/datasets", headers={"Accept": "text/html"})
        assert api.status == 401 and api.headers["content-type"] == "application/json"
        foreign = raw_request(server.port, "GET", "/", host="evil.example", headers={"Accept": "text/html"})
        assert (
            foreign.status == 421 and "421" in foreign.body.decode() and "unknown Host header" in foreign.body.decode()
        )
    finally:
        server.stop()
