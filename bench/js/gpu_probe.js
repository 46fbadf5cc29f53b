// Evaluated in the app's /train page: what WebGL and WebGPU run on in this browser, so that bench/gpu.py can tell a
// hardware GPU from a software rasterizer (SwiftShader, llvmpipe). Asks for the same WebGPU adapter tfjs's webgpu
// backend asks for (high-performance); `renderer` is UNMASKED_RENDERER_WEBGL, null without a WebGL context.
async () => {
  const { gpuRenderer } = await import('/static/js/train/backend.js');
  const adapter = await navigator.gpu?.requestAdapter({ powerPreference: 'high-performance' });
  const info = adapter?.info ?? {};
  const adapterInfo = adapter ? { vendor: info.vendor, architecture: info.architecture, device: info.device,
    description: info.description, isFallbackAdapter: Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter) }
    : null;
  return { renderer: gpuRenderer(), adapterInfo };
}
