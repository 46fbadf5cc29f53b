/**
 * Registers the training kernels tfjs 4.22's wasm backend lacks (conv/depthwise backprops, in wasm_conv.js and
 * wasm_depthwise.js, built on its heap and fast kernels), and starts the backend with its thread count.
 */

/*
 * Why the wasm backend's thread count sticks at 1, and what fixes it (read from @tensorflow/tfjs-backend-wasm 4.22:
 * dist/backend_wasm.js and dist/flags_wasm.js; the thread cap from src/cc/backend.cc in the tfjs repository):
 *
 * - init() picks the binary once, when the backend first initialises: tfjs-backend-wasm-threaded-simd.wasm only if the
 *   env flags WASM_HAS_SIMD_SUPPORT and WASM_HAS_MULTITHREAD_SUPPORT are both true and the deprecated single-file
 *   setWasmPath() was not used; otherwise tfjs-backend-wasm-simd.wasm (or the plain one). Those two are built without
 *   pthreads, where the C++ thread pool is fixed at one thread and setThreadsCount() is silently ignored.
 * - WASM_HAS_MULTITHREAD_SUPPORT is false whenever IS_NODE (so Node always runs one thread), and in a page it is true
 *   only if `new MessageChannel().port1.postMessage(new SharedArrayBuffer(1))` succeeds. SharedArrayBuffer exists only
 *   in a cross-origin isolated document (self.crossOriginIsolated === true): the page must be served with
 *   `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp` (or `credentialless`),
 *   and every script and .wasm it loads must be same-origin (or send CORP/CORS headers).
 * - The count is read once, in the BackendWasm constructor (initWithThreadsCount(threadsCount)): setThreadsCount() and
 *   setWasmPaths() must run before tf.setBackend('wasm') / tf.ready(); later calls change nothing.
 * - Even then the C++ caps it: min(requested, 8, navigator.hardwareConcurrency / 2), the default being
 *   hardwareConcurrency / 2. On a 2-core machine that is 1 thread even when isolated. The value is read while the
 *   backend starts, so configureWasm reports twice the wanted count for that moment when a run's batch is large
 *   enough to gain from every core (ALL_CORES_MIN_BATCH). getThreadsCount() (after init) reports what was granted.
 * - The kernels (wasm_conv.js, wasm_depthwise.js) run part of their work in JS on the calling thread; only their
 *   XNNPACK calls can use the pool.
 */

import { conv2DBackpropFilter, conv2DBackpropInput } from './wasm_conv.js';
import { depthwiseBackpropFilter, depthwiseBackpropInput } from './wasm_depthwise.js';
import { BACKEND } from './wasm_heap.js';
import { internalsMatch } from './tfjs_internals.js';

const OURS = Symbol.for('browsertrain.wasmTrainingKernel');

const MISSING = {
  Conv2DBackpropFilter: conv2DBackpropFilter,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput,
};

/**
 * Registers, for the 'wasm' backend, the gradient kernels training needs and tfjs 4.22 lacks, and replaces its slow
 * Conv2DBackpropInput (a scalar loop, ~10x slower than its Conv2D) for NHWC. Takes the tf namespace (the pages' UMD
 * global or the npm import). Safe to call again; returns the kernel names it (re)registered this call.
 * The kernels work on the backend's private heap, so on a tfjs release other than the one they were written for
 * (tfjs_internals.js) nothing is registered: the stock kernels stay, and convnets cannot train on wasm there.
 */
export function registerWasmTrainingKernels(tf) {
  if (tf.getKernel('Conv2D', BACKEND) == null) {
    throw new Error('The tfjs wasm backend is not loaded: load tf-backend-wasm before registering training kernels');
  }
  if (!internalsMatch(tf, 'the wasm training kernels', "tfjs's stock wasm kernels (convnets cannot train on wasm)")) {
    return [];
  }
  const registered = [];
  const register = (kernelName, kernelFunc, setupFunc) => {
    kernelFunc[OURS] = true;
    tf.registerKernel({ kernelName, backendName: BACKEND, kernelFunc, setupFunc });
    registered.push(kernelName);
  };
  for (const [kernelName, impl] of Object.entries(MISSING)) {
    if (tf.getKernel(kernelName, BACKEND) != null) continue;
    register(kernelName, (args) => impl(tf, args));
  }
  const stock = tf.getKernel('Conv2DBackpropInput', BACKEND);
  if (stock != null && !stock.kernelFunc[OURS]) {
    tf.unregisterKernel('Conv2DBackpropInput', BACKEND);
    // The stock setupFunc still binds the stock kernel, which NCHW inputs fall back to.
    register('Conv2DBackpropInput', (args) => conv2DBackpropInput(tf, stock.kernelFunc, args), stock.setupFunc);
  }
  return registered;
}

/** The most threads the backend's C++ thread pool grants (see above): asking for more changes nothing. */
const MAX_WASM_THREADS = 8;

/**
 * From this batch size up, a wasm training step gains from a thread per logical core rather than the C++ default of
 * half of them; below it, the pool's hand-offs cost more than they save. Measured on 2 cores (bench/results/
 * throughput.md, "wasm 2 threads" against "wasm"): batch 1 -20%, 8 +4%, 16 +11%, 32 +13%.
 */
export const ALL_CORES_MIN_BATCH = 16;

/** Threads to ask for: only a cross-origin isolated page can get the threaded binary. */
function defaultThreads() {
  if (globalThis.crossOriginIsolated !== true) return undefined;
  return Math.max(1, Math.min(globalThis.navigator?.hardwareConcurrency ?? 1, MAX_WASM_THREADS));
}

/**
 * Runs `start` (the backend's first initialisation) with navigator.hardwareConcurrency reporting twice `threads`, so
 * that the C++ cap of half the reported cores grants them; the real value is back as soon as the backend has started.
 */
async function withThreadCapLifted(threads, start) {
  const nav = globalThis.navigator;
  if (threads == null || nav == null || threads <= Math.floor((nav.hardwareConcurrency ?? 1) / 2)) return start();
  Object.defineProperty(nav, 'hardwareConcurrency', { value: threads * 2, configurable: true });
  try {
    return await start();
  } finally {
    delete nav.hardwareConcurrency;   // the own property shadowed Navigator.prototype's getter
  }
}

/**
 * Configures and starts the wasm backend for training — the one path the pages (train/backend.js) and the tests
 * take: wasm file location and thread count (both only take effect before the backend's first initialisation), our
 * training kernels, then tf.setBackend('wasm').
 * `wasm` is the backend's namespace: the pages' `tf.wasm` (UMD bundle) by default, or the npm module's exports in Node
 * (where no wasmPaths are needed: the node build finds its .wasm files beside itself). `threads` defaults to the
 * page's cores when it is cross-origin isolated, else the backend's own choice. `batchSize`, the run's, when known:
 * from ALL_CORES_MIN_BATCH up the backend gets every logical core, not the C++ default of half of them.
 * Resolves to { ok, threads, simd, multithread, crossOriginIsolated, alreadyInitialised }; `ok` false (setBackend's
 * answer) when the backend cannot start here.
 */
export async function configureWasm(tf, { wasmPaths, threads = defaultThreads(), wasm = tf.wasm, batchSize } = {}) {
  if (wasm == null) throw new Error('The tfjs wasm backend is not loaded: load tf-backend-wasm first');
  // Reading the registry directly: tf.findBackend() would start initialising the backend.
  const alreadyInitialised = tf.engine().registry.wasm != null;
  if (!alreadyInitialised) {
    if (wasmPaths != null) wasm.setWasmPaths(wasmPaths);
    if (threads != null) wasm.setThreadsCount(threads);
  }
  registerWasmTrainingKernels(tf);
  const allCores = !alreadyInitialised && threads != null && batchSize != null && batchSize >= ALL_CORES_MIN_BATCH;
  const ok = await withThreadCapLifted(allCores ? threads : null, () => tf.setBackend('wasm'));
  // After a failed start, tf.ready() would go and initialise some other backend: leave that to the caller.
  if (ok) await tf.ready();
  return {
    ok,
    threads: ok ? wasm.getThreadsCount() : 0,
    simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
    multithread: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    alreadyInitialised,
  };
}
