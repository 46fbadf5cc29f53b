"""Each check of the guard on its own, on a bare ASGI request: which requests it lets through and what it answers
the others (tests/security/test_guard.py holds the same rules against a live server)."""

from __future__ import annotations

from support.event_loop import run_async

from server.limits import MAX_JSON_BODY_BYTES
from server.security import (
    CappedBody,
    TokenCheck,
    TokenVerdict,
    check_declared_length,
    check_host,
    check_origin,
)

HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
TOKEN = "a-token-long-enough-for-the-guard"


def request(method: str = "GET", query: bytes = b"", **headers: str) -> dict:
    """An ASGI scope as uvicorn hands it over (header names lower case, values latin-1 bytes)."""
    pairs = [(name.replace("_", "-").lower().encode(), value.encode("latin-1")) for name, value in headers.items()]
    return {"type": "http", "method": method, "path": "/api/runs", "query_string": query, "headers": pairs}


def test_the_host_check_lets_loopback_names_in_any_case_and_port_through_and_refuses_others():
    for host in ("127.0.0.1:8000", "LOCALHOST", "[::1]:8000"):
        assert check_host(request(host=host), HOSTS) is None, host
    for host in ("evil.example", "127.0.0.1.evil.example:8000", "[::2]:8000"):
        assert check_host(request(host=host), HOSTS).status == 421, host
    assert check_host(request(), HOSTS).detail == "unknown Host header"  # no Host at all


def test_the_origin_check_refuses_only_writes_from_another_origin_or_site():
    here = {"host": "127.0.0.1:8000"}
    assert check_origin(request("POST", origin="http://127.0.0.1:8000", **here)) is None
    assert check_origin(request("POST", **here)) is None  # no Origin: no browser, no forgery
    assert check_origin(request("GET", origin="http://evil.example", **here)) is None  # reads change nothing
    refused = check_origin(request("DELETE", origin="http://localhost:8000", **here))
    assert (refused.status, refused.detail) == (403, "cross-origin request refused")
    assert check_origin(request("PATCH", sec_fetch_site="cross-site", **here)).status == 403


def test_a_declared_length_over_the_cap_is_refused_before_the_body_is_read():
    assert check_declared_length(request(content_length=str(MAX_JSON_BODY_BYTES)), MAX_JSON_BODY_BYTES) is None
    refused = check_declared_length(request(content_length=str(MAX_JSON_BODY_BYTES + 1)), MAX_JSON_BODY_BYTES)
    assert refused.status == 413 and f"{MAX_JSON_BODY_BYTES:,}-byte limit" in refused.detail


def test_the_token_passes_as_a_header_logs_in_from_the_query_and_nothing_else_does():
    check = TokenCheck(TOKEN, None, "browsertrain_session_8000")

    def verdict(scope):
        return run_async(check.verdict(scope))

    assert verdict(request(x_browsertrain_token=TOKEN)) is TokenVerdict.PASS
    assert verdict(request(authorization=f"Token {TOKEN}")) is TokenVerdict.PASS
    assert verdict(request(query=f"token={TOKEN}".encode())) is TokenVerdict.LOGIN
    assert verdict(request()) is TokenVerdict.REFUSE
    assert verdict(request(x_browsertrain_token=TOKEN[:-1])) is TokenVerdict.REFUSE
    # A wrong ?token= decides alone: the right header beside it does not make it a login.
    assert verdict(request(query=b"token=wrong", x_browsertrain_token=TOKEN)) is TokenVerdict.REFUSE


def test_a_body_past_its_cap_gets_one_413_and_the_app_hears_that_the_client_left():
    sent, chunks = [], [{"type": "http.request", "body": b"x" * 6, "more_body": True}] * 2

    async def receive():
        return chunks.pop(0)

    async def send(message):
        sent.append(message)

    async def app_reads_twice_then_answers():
        first, second = await body.receive(), await body.receive()
        await body.send({"type": "http.response.start", "status": 201, "headers": []})
        return first, second

    body = CappedBody(receive, send, cap=10)
    first, second = run_async(app_reads_twice_then_answers())
    assert first["type"] == "http.request" and second == {"type": "http.disconnect"}
    assert [m.get("status") for m in sent if m["type"] == "http.response.start"] == [413]  # the app's 201 is dropped
    assert body.moot
