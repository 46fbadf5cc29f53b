"""The pages in real Chromium: the home page sees the sample, and tfjs comes from this server, ready on WebGL."""

import pytest

pytestmark = pytest.mark.browser


def test_home_page_lists_the_sample_dataset_and_tfjs_is_ready_on_webgl(shared_server, page):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(shared_server.url + "/")
    page.wait_for_selector("body[data-ready=true]")
    assert "shapes" in page.inner_text("#datasets")
    assert page.get_attribute("#tf-status", "data-backend") == "webgl"
    assert page.evaluate("tf.version.tfjs") == "4.22.0"
    assert f"{shared_server.url}/vendor/tfjs/tf.min.js" in requested
    outside = [url for url in requested if not url.startswith(shared_server.url) and not url.startswith("data:")]
    assert outside == [], f"the page reached outside its server: {outside}"


def test_dataset_page_shows_every_class_with_its_images(shared_server, page):
    page.goto(shared_server.url + "/datasets/shapes")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_function("() => document.querySelectorAll('#item-grid img').length === 240")
    captions = page.eval_on_selector_all("#item-grid figcaption", "nodes => nodes.map(n => n.textContent)")
    assert set(captions) == {"circle", "square", "triangle"}
    page.wait_for_function("() => [...document.querySelectorAll('#item-grid img')].slice(0, 20).every(i => i.complete && i.naturalWidth === 64)")


def test_pages_are_cross_origin_isolated_so_wasm_may_use_threads(shared_server, page):
    page.goto(shared_server.url + "/train")
    assert page.evaluate("crossOriginIsolated") is True


def test_api_docs_render_from_local_files(shared_server, page):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(shared_server.url + "/docs")
    page.get_by_text("/api/datasets/{name}/bulk").first.wait_for()
    assert all(url.startswith(shared_server.url) or url.startswith("data:") for url in requested), requested
