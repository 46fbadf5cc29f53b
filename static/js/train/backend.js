/** Picks the backend: the user's choice, or `auto` — a short timed training probe on each backend that can train here. */
import { tf } from '../tf.js';
import { configureWasm } from './wasm_kernels.js';
import { fuseAdamOnWasm } from './fused_adam.js';
import { ProbeCache, probeFingerprint } from './probe_cache.js';

export const BACKENDS = Object.freeze(['webgpu', 'webgl', 'wasm', 'cpu']);
export const WASM_PATH = '/vendor/tfjs-backend-wasm/';
const PROBE = { size: 32, batch: 8, warmSteps: 1, timedSteps: 3 };

/** The GPU as the browser names it (WebGL's unmasked renderer string), or null. */
export function gpuRenderer() {
  try {
    const canvas = typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(1, 1) : null;
    const gl = canvas?.getContext('webgl2') ?? canvas?.getContext('webgl');
    if (!gl) return null;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    return gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER);
  } catch {
    return null;
  }
}

/**
 * Starts backend `name`; wasm goes through configureWasm (file location, threads for the run's `batchSize`, training
 * kernels) first.
 */
async function start(name, batchSize) {
  if (name === 'wasm') return (await configureWasm(tf, { wasmPaths: WASM_PATH, batchSize })).ok;
  const ok = await tf.setBackend(name);
  if (ok) await tf.ready();
  return ok;
}

async function activate(name, batchSize) {
  if (!tf.findBackendFactory(name)) return { ok: false, error: `the ${name} backend is not loaded in this page` };
  try {
    // setBackend answers false (it does not throw) when, e.g., WebGPU has no adapter.
    if (!(await start(name, batchSize))) return { ok: false, error: `${name} is not available on this device` };
    return { ok: true };
  } catch (err) {
    return { ok: false, error: err.message };
  }
}

/**
 * Makes a CPU backend (wasm or cpu) the active one unless one already is. Decoding reads every image back through
 * tf.browser.fromPixels, which costs ~0.7 ms an image on a CPU backend and ~3.5 ms on WebGL (an upload to a texture
 * and a read back); the bytes are the same. A run decodes before it chooses its backend, so this also keeps the
 * decode off a WebGL context that was lost.
 */
export async function useCpuForDecoding() {
  if (['cpu', 'wasm'].includes(tf.engine().backendName)) return;  // not getBackend(): it would start the default one
  await tf.setBackend('cpu');
  await tf.ready();
}

/** Which backends initialise in this browser ({name: {ok, error?}}); no training probe, so it is quick. */
export async function availableBackends() {
  const found = {};
  for (const name of BACKENDS) found[name] = await activate(name);
  return found;
}

/** A few Adam steps of a tiny separable CNN on the active backend: can it train, and how fast. */
async function probeTraining() {
  const input = tf.input({ shape: [PROBE.size, PROBE.size, 3] });
  let x = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }).apply(input);
  x = tf.layers.separableConv2d({ filters: 16, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }).apply(x);
  x = tf.layers.globalAveragePooling2d({}).apply(x);
  const model = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2, activation: 'softmax' }).apply(x) });
  const optimizer = fuseAdamOnWasm(tf.train.adam(0.001));  // the update training will use
  const xs = tf.randomUniform([PROBE.batch, PROBE.size, PROBE.size, 3]);
  const ys = tf.oneHot(tf.tensor1d(Array.from({ length: PROBE.batch }, (_, i) => i % 2), 'int32'), 2);
  const step = () => optimizer.minimize(() => tf.losses.softmaxCrossEntropy(ys, model.apply(xs)), true);
  try {
    for (let i = 0; i < PROBE.warmSteps; i += 1) {
      const warm = step();
      await warm.data();  // the first step compiles shaders / kernels: not timed
      warm.dispose();
    }
    const start = performance.now();
    let loss = null;
    for (let i = 0; i < PROBE.timedSteps; i += 1) { tf.dispose(loss); loss = step(); }
    const value = (await loss.data())[0];
    tf.dispose(loss);
    if (!Number.isFinite(value)) throw new Error('the probe loss is not finite');
    const seconds = (performance.now() - start) / 1000;
    return { ok: true, images_per_second: (PROBE.batch * PROBE.timedSteps) / seconds };
  } catch (err) {
    return { ok: false, error: `cannot train here: ${err.message}` };
  } finally {
    tf.dispose([xs, ys]);
    model.dispose();
    optimizer.dispose();
  }
}

/** localStorage, or null where the page may not use it (it throws then, e.g. for sandboxed frames). */
function pageStorage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

/** This browser's probe cache: localStorage, under tfjs's version, the browser, its GPU renderer and its cores. */
export function browserProbeCache() {
  return new ProbeCache(pageStorage(), probeFingerprint({ tfjs: tf.version?.tfjs, renderer: gpuRenderer(),
    userAgent: globalThis.navigator?.userAgent, cores: globalThis.navigator?.hardwareConcurrency,
    isolated: globalThis.crossOriginIsolated }));
}

/**
 * Activate `choice` ('auto' or one of BACKENDS, never one in `exclude`). Returns {backend, reason, probes} where probes maps each tried
 * backend to {ok, images_per_second?, error?, cached?}; the decision and its reasons are recorded with the run.
 * The probe of each backend runs once per browser (`cache`, see probe_cache.js: its few training steps compile
 * shaders for a model the run never uses, seconds on WebGL); later runs reuse its answer, marked `cached: true`.
 * `batchSize`, the run's when known, sizes wasm's thread pool (configureWasm) the first time wasm starts in the page.
 */
export async function chooseBackend(choice = 'auto', { exclude = new Set(), cache = browserProbeCache(), batchSize } = {}) {
  const known = cache?.read() ?? {};
  const probes = {};
  const fresh = {};
  const candidates = choice === 'auto' ? BACKENDS.filter((name) => !exclude.has(name)) : [choice];
  for (const name of candidates) {
    if (known[name]) {
      probes[name] = { ...known[name], cached: true };
      continue;
    }
    const active = await activate(name, batchSize);
    probes[name] = fresh[name] = active.ok ? await probeTraining() : active;
  }
  if (Object.keys(fresh).length) cache?.write(fresh);
  const working = candidates.filter((n) => probes[n].ok);
  const chosen = choice === 'auto' ? working.reduce((a, b) => (probes[b].images_per_second > probes[a].images_per_second ? b : a), working[0])
    : working[0];
  // The last backend probed is the active one; any other is started now. A remembered answer is only good if the
  // backend still starts: if not, the cache is forgotten and every candidate probed afresh.
  const started = !chosen || fresh[chosen] && choice !== 'auto' || (await activate(chosen, batchSize)).ok;
  if (!started && probes[chosen].cached) {
    cache.clear();
    return chooseBackend(choice, { exclude, cache, batchSize });
  }
  if (choice !== 'auto') {
    if (chosen) return { backend: choice, reason: 'chosen by the user', probes };
    const fallback = await chooseBackend('auto', { exclude: new Set([...exclude, choice]), cache, batchSize });
    return { ...fallback, reason: `${choice} failed (${probes[choice].error}); ${fallback.reason}`,
      probes: { ...fallback.probes, [choice]: probes[choice] } };
  }
  if (!chosen) throw new Error('no TensorFlow.js backend can train in this browser');
  const rate = (n) => `${n} ${probes[n].ok ? `${probes[n].images_per_second.toFixed(0)} img/s` : `failed: ${probes[n].error}`}`;
  const when = candidates.some((n) => probes[n].cached) ? ', remembered from an earlier run in this browser' : '';
  return { backend: chosen, reason: `fastest in a training probe (${candidates.map(rate).join('; ')}${when})`, probes };
}
