"""The wasm backend's thread pool follows the run's batch size: every logical core from batch 16, half below."""

import pytest

pytestmark = pytest.mark.browser

START_WASM = """async (batchSize) => {
  const reported = navigator.hardwareConcurrency;
  const { configureWasm } = await import('/static/js/train/wasm_kernels.js');
  const status = await configureWasm(tf, { wasmPaths: '/vendor/tfjs-backend-wasm/', batchSize });
  return { threads: status.threads, reported, after: navigator.hardwareConcurrency };
}"""


def start_wasm(page, url, batch_size):
    page.goto(url + "/train")
    page.wait_for_function("() => globalThis.browsertrain?.phase === 'ready'")
    return page.evaluate(START_WASM, batch_size)


@pytest.mark.parametrize("batch_size", [1, 8, 16, 32])
def test_wasm_gets_every_core_from_batch_16_and_half_of_them_below(shared_server, browser, batch_size):
    context = browser.new_context()  # a page per start: the thread count is fixed at the backend's first start
    try:
        started = start_wasm(context.new_page(), shared_server.url, batch_size)
    finally:
        context.close()
    cores = started["reported"]
    expected = min(cores, 8) if batch_size >= 16 else max(1, min(cores // 2, 8))
    assert started["threads"] == expected, started
    assert started["after"] == cores, "navigator.hardwareConcurrency reads the real value again once wasm has started"
