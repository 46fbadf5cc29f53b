/**
 * The quality gate's Node side: the run's validation split (static/js/data/split.js, the browser's own code) and
 * the predictions of each exported tfjs model on it, loaded with tf.loadLayersModel as users load them.
 *
 *   node evaluate.mjs split     < {"labels": [...], "val_fraction": 0.2, "seed": 1}         → {"val": [positions]}
 *   node evaluate.mjs evaluate  < {"pixels": FILE, "count": n, "size": s, "labels": [class index per item],
 *                                  "normalization": "unit", "reference": "tfjs", "models": {"tfjs": DIR, ...},
 *                                  "inputs_out": FILE?, "outputs_out": FILE?}
 *        → {"backend", "count", "classes", "seconds", "results": {name: {"accuracy", "max_abs_diff", "agreement"}}}
 *
 * `pixels` holds n*s*s*3 RGB bytes (decoded and resized by the server); normalisation is the browser's
 * (static/js/data/normalize.js), so the numbers describe the inputs the model was trained on. inputs_out/outputs_out
 * receive the normalised inputs and the reference model's outputs as little-endian float32, for the TensorFlow
 * formats to be compared against the same numbers.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { splitItems } from '../../static/js/data/split.js';

const BATCH_SIZE = 64;
const CHANNELS = 3;

async function readStdinJson() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/** An IOHandler over a folder: model.json, then its weight files in manifest order, as tf.io.http reads them. */
function folderHandler(tf, folder) {
  return {
    async load() {
      const modelJSON = JSON.parse(await readFile(join(folder, 'model.json'), 'utf8'));
      return tf.io.getModelArtifactsForJSON(modelJSON, async (weightsManifest) => {
        const specs = [];
        const buffers = [];
        for (const group of weightsManifest) {
          specs.push(...group.weights);
          for (const path of group.paths) {
            const bytes = await readFile(join(folder, path));
            buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
          }
        }
        return [specs, tf.io.concatenateArrayBuffers(buffers)];
      });
    },
  };
}

async function loadTf() {
  const tf = await import('@tensorflow/tfjs');
  globalThis.tf = tf;
  let backend = 'cpu';
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    // The wasm backend predicts ~50x faster than plain JS here; the comparison is between models, on one backend.
    if (await tf.setBackend('wasm')) backend = 'wasm';
  } catch { /* fall back to cpu */ }
  if (backend === 'cpu') await tf.setBackend('cpu');
  await tf.ready();
  return { tf, backend: tf.getBackend() };
}

async function predictAll(tf, normalize, model, pixels, job) {
  const { count, size } = job;
  const stride = size * size * CHANNELS;
  let outputs = null;
  const inputs = job.inputs_out ? new Float32Array(count * stride) : null;
  for (let start = 0; start < count; start += BATCH_SIZE) {
    const n = Math.min(BATCH_SIZE, count - start);
    const batch = pixels.subarray(start * stride, (start + n) * stride);
    const x = tf.tidy(() => normalize(tf.tensor4d(Int32Array.from(batch), [n, size, size, CHANNELS], 'int32'), job.normalization));
    const y = model.predict(x);
    const values = await y.data();
    if (inputs) inputs.set(await x.data(), start * stride);
    x.dispose();
    y.dispose();
    if (!outputs) outputs = new Float32Array(count * (values.length / n));
    outputs.set(values, start * (values.length / n));
  }
  return { outputs: outputs ?? new Float32Array(0), inputs };
}

function argmaxRows(values, classes) {
  const best = new Int32Array(values.length / classes);
  for (let row = 0; row < best.length; row += 1) {
    let top = 0;
    for (let c = 1; c < classes; c += 1) if (values[row * classes + c] > values[row * classes + top]) top = c;
    best[row] = top;
  }
  return best;
}

async function evaluate(job) {
  const started = performance.now();
  const { tf, backend } = await loadTf();
  const { normalize } = await import('../../static/js/data/normalize.js');
  const raw = await readFile(job.pixels);
  const pixels = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  if (pixels.length !== job.count * job.size * job.size * CHANNELS) {
    throw new Error(`${job.pixels} holds ${pixels.length} bytes, not ${job.count} images of ${job.size}x${job.size}x3`);
  }
  const names = [job.reference, ...Object.keys(job.models).filter((name) => name !== job.reference)];
  const predictions = {};
  for (const name of names) {
    const model = await tf.loadLayersModel(folderHandler(tf, job.models[name]));
    const wantInputs = name === job.reference && job.inputs_out;
    const { outputs, inputs } = await predictAll(tf, normalize, model, pixels, { ...job, inputs_out: wantInputs });
    model.dispose();
    predictions[name] = outputs;
    if (inputs) await writeFile(job.inputs_out, Buffer.from(inputs.buffer));
  }
  const reference = predictions[job.reference];
  const classes = job.count ? reference.length / job.count : 0;
  if (job.outputs_out) await writeFile(job.outputs_out, Buffer.from(reference.buffer));
  const referenceTop = argmaxRows(reference, classes);
  const results = {};
  for (const name of names) {
    const values = predictions[name];
    const top = argmaxRows(values, classes);
    let correct = 0;
    let agree = 0;
    let maxAbsDiff = 0;
    for (let row = 0; row < job.count; row += 1) {
      if (top[row] === job.labels[row]) correct += 1;
      if (top[row] === referenceTop[row]) agree += 1;
    }
    for (let i = 0; i < values.length; i += 1) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(values[i] - reference[i]));
    results[name] = { accuracy: job.count ? correct / job.count : null, max_abs_diff: maxAbsDiff,
      agreement: job.count ? agree / job.count : null };
  }
  return { backend, count: job.count, classes, seconds: (performance.now() - started) / 1000, results };
}

const command = process.argv[2];
const job = await readStdinJson();
let answer;
if (command === 'split') {
  const { val } = splitItems(job.labels.map((label, position) => ({ label, position })),
    { valFraction: job.val_fraction, seed: job.seed });
  answer = { val: val.map((item) => item.position) };
} else if (command === 'evaluate') {
  answer = await evaluate(job);
} else {
  throw new Error(`unknown command ${command} (expected split or evaluate)`);
}
process.stdout.write(`${JSON.stringify(answer)}\n`);
