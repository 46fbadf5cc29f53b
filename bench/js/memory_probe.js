// Evaluated every poll of the memory benchmark on the app's /train page while it trains: the page's phase (the state
// `browsertrain train` reads), its epochs, and what the page itself can see of its memory. performance.memory is
// Chromium's (exact with --enable-precise-memory-info); the wasm backend's heap is a WebAssembly.Memory, outside it.
() => {
  const state = globalThis.browsertrain ?? null;
  let tfBytes = null;
  let wasmHeap = null;
  try {
    tfBytes = globalThis.tf?.memory().numBytes ?? null;
    wasmHeap = globalThis.tf?.backend()?.wasm?.HEAPU8?.byteLength ?? null;
  } catch {
    // no backend yet
  }
  return {
    phase: state?.phase ?? null,
    error: state?.error ?? null,
    epochs: (state?.epochs ?? []).map((e) => ({ seconds: e.seconds, images_per_second: e.images_per_second })),
    sync: state?.sync ? { items: state.sync.items, source: state.sync.source } : null,
    backend: state?.backend?.backend ?? null,
    jsHeapUsed: performance.memory?.usedJSHeapSize ?? null,
    jsHeapTotal: performance.memory?.totalJSHeapSize ?? null,
    tfBytes,
    wasmHeap,
  };
}
