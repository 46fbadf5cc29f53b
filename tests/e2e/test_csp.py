"""Every page works under the Content-Security-Policy in real Chromium, with no violation reported: a real upload,
a real short training on the wasm backend, then its run, export and compare pages, and the API docs."""

from __future__ import annotations

import functools
import http.server
import threading

import pytest
from support import imagefolder, zip_bytes
from support.train_page import train_url, wait_for_phase

from server.headers import CONTENT_SECURITY_POLICY

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Each violation as the page's securitypolicyviolation event sees it (main document and same-origin frames).
RECORD_VIOLATIONS = """
globalThis.__cspViolations = [];
addEventListener('securitypolicyviolation', (e) => globalThis.__cspViolations.push(
  `${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`));
"""


class Watch:
    """Console messages and violation events of one page, across navigations."""

    def __init__(self, page):
        self.page = page
        self.console: list[str] = []
        self.errors: list[str] = []
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        # A worker's violation (the wasm backend's threads) shows only as an error the worker passes up.
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def assert_clean(self, where: str) -> None:
        events = self.page.evaluate("globalThis.__cspViolations ?? []")
        reported = [line for line in self.console if "Content Security Policy" in line or "Refused to" in line]
        assert events == [] and reported == [] and self.errors == [], (where, events, reported, self.errors)


def test_every_page_works_under_the_csp_with_no_violation(server, page, tmp_path):
    watch = Watch(page)

    response = page.goto(server.url + "/")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    page.wait_for_selector("body[data-ready=true]")
    assert "shapes" in page.inner_text("#datasets")
    watch.assert_clean("home")

    page.goto(server.url + "/datasets/shapes")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#item-grid img')].length === 240 && "
        "[...document.querySelectorAll('#item-grid img')].slice(0, 20)"
        ".every(i => i.complete && i.naturalWidth === 64)"
    )
    watch.assert_clean("dataset")

    archive = tmp_path / "csp-upload.zip"
    archive.write_bytes(zip_bytes(imagefolder({"cat": 2, "dog": 2}, seed=70)))
    page.goto(server.url + "/upload")
    page.set_input_files("#upload-file", str(archive))
    page.click("#upload-submit")
    page.wait_for_function(
        "() => document.querySelector('#upload-message').className !== ''"
        " && document.querySelector('#upload-message').textContent.startsWith('Imported')"
    )
    watch.assert_clean("upload")

    page.goto(train_url(server, epochs=2, backend="wasm", snapshotEvery=1))
    state = wait_for_phase(page)
    assert state["phase"] == "done" and state["backend"]["backend"] == "wasm", state
    assert page.evaluate("crossOriginIsolated") is True
    run_id = state["runId"]
    watch.assert_clean("train (wasm)")

    page.goto(f"{server.url}/runs/{run_id}")
    page.wait_for_selector("body[data-ready=true]")
    watch.assert_clean("run")

    page.goto(f"{server.url}/runs/{run_id}/export")
    page.wait_for_selector("body[data-ready=true]", timeout=300_000)
    assert page.locator("#formats tbody tr").count() >= 4
    assert page.input_value("#max-drop") == "1"  # the gate's default, from static/shared_rules.json
    watch.assert_clean("export")

    page.goto(f"{server.url}/compare?runs={run_id}")
    page.wait_for_selector("body[data-ready=true]")
    watch.assert_clean("compare")

    page.goto(server.url + "/docs")
    page.get_by_text("/api/datasets/{name}/bulk").first.wait_for()
    watch.assert_clean("docs")


@pytest.fixture
def other_site(tmp_path):
    """Another origin on this machine (localhost on its own port) serving whatever page a test writes into it."""
    served = tmp_path / "other-site"
    served.mkdir()
    handler = functools.partial(QuietHandler, directory=str(served))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://localhost:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(10)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_no_other_site_may_frame_a_page(server, page, other_site):
    folder, origin = other_site
    (folder / "frame.html").write_text(f'<iframe id="victim" src="{server.url}/datasets/shapes"></iframe>')
    page.goto(f"{origin}/frame.html")
    page.wait_for_timeout(2000)
    (victim,) = [frame for frame in page.frames if frame != page.main_frame]
    assert not victim.url.startswith(server.url) and "browsertrain" not in victim.content(), victim.url
