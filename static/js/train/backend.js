/** Picks the backend: the user's choice, or `auto` — a short timed training probe on each backend that can train here. */
import { tf } from '../tf.js';
import { configureWasm } from './wasm_kernels.js';
import { fuseAdamOnWasm } from './fused_adam.js';

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

/**
 * Activate `choice` ('auto' or one of BACKENDS, never one in `exclude`). Returns {backend, reason, probes} where probes maps each tried
 * backend to {ok, images_per_second?, error?}; the decision and its reasons are recorded with the run. `batchSize`, the
 * run's when known, sizes wasm's thread pool (configureWasm) the first time wasm starts in the page.
 */
export async function chooseBackend(choice = 'auto', { exclude = new Set(), batchSize } = {}) {
  const probes = {};
  const candidates = choice === 'auto' ? BACKENDS.filter((name) => !exclude.has(name)) : [choice];
  for (const name of candidates) {
    const active = await activate(name, batchSize);
    probes[name] = active.ok ? await probeTraining() : active;
  }
  const working = candidates.filter((n) => probes[n].ok);
  if (choice !== 'auto') {
    if (working.length) return { backend: choice, reason: 'chosen by the user', probes };
    const fallback = await chooseBackend('auto', { exclude: new Set([...exclude, choice]), batchSize });
    return { ...fallback, reason: `${choice} failed (${probes[choice].error}); ${fallback.reason}`,
      probes: { ...fallback.probes, [choice]: probes[choice] } };
  }
  if (!working.length) throw new Error('no TensorFlow.js backend can train in this browser');
  const best = working.reduce((a, b) => (probes[b].images_per_second > probes[a].images_per_second ? b : a));
  await activate(best, batchSize);
  const rate = (n) => `${n} ${probes[n].ok ? `${probes[n].images_per_second.toFixed(0)} img/s` : `failed: ${probes[n].error}`}`;
  return { backend: best, reason: `fastest in a training probe (${candidates.map(rate).join('; ')})`, probes };
}
