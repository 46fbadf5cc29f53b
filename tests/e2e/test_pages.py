"""The pages in real Chromium: the home page sees the sample, and tfjs comes from this server with its backends."""

import pytest

pytestmark = pytest.mark.browser


def test_home_page_lists_the_sample_dataset_and_says_which_backends_start_not_which_trains(shared_server, page):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(shared_server.url + "/")
    page.wait_for_selector("body[data-ready=true]")
    assert "shapes" in page.inner_text("#datasets")
    backends = page.get_attribute("#tf-status", "data-backends").split(",")
    assert "webgl" in backends and "wasm" in backends and "cpu" in backends
    status = page.inner_text("#tf-status")
    assert "ready on the" not in status and "picks the fastest" in status, status
    assert page.evaluate("tf.version.tfjs") == "4.22.0"
    assert f"{shared_server.url}/vendor/tfjs/tf.min.js" in requested
    # blob: URLs of this origin are the wasm backend's thread workers, made in the page.
    outside = [
        url for url in requested if not url.startswith((shared_server.url, "data:", f"blob:{shared_server.url}"))
    ]
    assert outside == [], f"the page reached outside its server: {outside}"


def test_dataset_page_shows_every_class_with_its_images(shared_server, page):
    page.goto(shared_server.url + "/datasets/shapes")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_function("() => document.querySelectorAll('#item-grid img').length === 240")
    captions = page.eval_on_selector_all("#item-grid figcaption", "nodes => nodes.map(n => n.textContent)")
    assert set(captions) == {"circle", "square", "triangle"}
    page.wait_for_function(
        "() => [...document.querySelectorAll('#item-grid img')].slice(0, 20)"
        ".every(i => i.complete && i.naturalWidth === 64)"
    )


def test_pages_are_cross_origin_isolated_so_wasm_may_use_threads(shared_server, page):
    page.goto(shared_server.url + "/train")
    assert page.evaluate("crossOriginIsolated") is True


def test_api_docs_render_from_local_files(shared_server, page):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(shared_server.url + "/docs")
    page.get_by_text("/api/datasets/{name}/bulk").first.wait_for()
    assert all(url.startswith(shared_server.url) or url.startswith("data:") for url in requested), requested


def test_a_fresh_server_says_there_are_no_runs_yet(server, page):
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-ready=true]")
    assert page.is_visible("#runs-empty") and "No runs yet" in page.inner_text("#runs-empty")
    assert page.is_hidden("#runs")


def test_dataset_page_counts_images_per_class_and_marks_the_selected_filter(shared_server, page):
    page.goto(shared_server.url + "/datasets/shapes")
    page.wait_for_selector("body[data-ready=true]")
    chips = page.eval_on_selector_all(
        "#class-filter button", "bs => bs.map(b => [b.textContent, b.getAttribute('aria-pressed')])"
    )
    assert chips == [
        ["all (240)", "true"],
        ["circle (80)", "false"],
        ["square (80)", "false"],
        ["triangle (80)", "false"],
    ]
    page.click("#class-filter button[data-class=square]")
    pressed = page.eval_on_selector_all("#class-filter button[aria-pressed=true]", "bs => bs.map(b => b.dataset.class)")
    assert pressed == ["square"]
    colours = page.eval_on_selector_all(
        "#class-filter button", "bs => bs.map(b => getComputedStyle(b).backgroundColor)"
    )
    assert colours[2] != colours[1], "the selected filter looks like the others"
    page.wait_for_function("document.querySelectorAll('#item-grid img').length === 80")
