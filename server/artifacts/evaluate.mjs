/**
 * The quality gate's Node side: the run's validation split (static/js/data/split.js, the browser's own code) and
 * the predictions of each exported tfjs model on it, loaded with tf.loadLayersModel as users load them.
 *
 *   node evaluate.mjs split     < {"labels": [...], "val_fraction": 0.2, "seed": 1}         → {"val": [positions]}
 *   node evaluate.mjs evaluate  < {"pixels": FILE, "count": n, "size": s, "labels": [class index per item],
 *                                  "normalization": "unit", "reference": "tfjs", "models": {"tfjs": DIR, ...},
 *                                  "inputs_out": FILE?, "outputs_out": FILE?}
 *        → {"backend", "count", "classes", "seconds", "results": {name: {"accuracy", "max_abs_diff", "agreement"}}}
 *   A detection or landmarks job adds "task": the run's task_metadata, and "items": each image's {width, height,
 *   boxes | points, box} as the manifest stores them; its results hold task_gate.mjs's scores instead of accuracy.
 *   node evaluate.mjs compare   < {"task", "items", "count", "reference": FILE, "outputs": {name: FILE}}
 *        → {"results": {name: {task scores, "max_abs_diff"}}}   (other formats' outputs, float32, scored alike)
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
/** The reference's name inside compare (not a format name, so it never collides with one). */
const REFERENCE_KEY = '(reference)';

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
  const seconds = () => (performance.now() - started) / 1000;
  if (job.task) return { backend, count: job.count, classes, results: await scoreTask(job, predictions), seconds: seconds() };
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
  return { backend, count: job.count, classes, seconds: seconds(), results };
}

const maxAbsDiff = (values, reference) => values.reduce((m, v, i) => Math.max(m, Math.abs(v - reference[i])), 0);

/** Detection or landmarks: task_gate.mjs's scores plus max |Δ output| against the reference, per model. */
async function scoreTask(job, predictions) {
  const { taskScores } = await import('./task_gate.mjs');
  const scores = await taskScores(job.task, job.items, predictions, job.reference);
  return Object.fromEntries(Object.entries(scores).map(([name, entry]) => [name,
    { ...entry, max_abs_diff: maxAbsDiff(predictions[name], predictions[job.reference]) }]));
}

/** The compare command: outputs other tools computed (the TensorFlow formats), scored against the reference's. */
async function compare(job) {
  await loadTf();
  const read = async (file) => {
    const bytes = await readFile(file);
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  };
  const predictions = { [REFERENCE_KEY]: await read(job.reference) };
  for (const [name, file] of Object.entries(job.outputs)) predictions[name] = await read(file);
  const results = await scoreTask({ ...job, reference: REFERENCE_KEY }, predictions);
  delete results[REFERENCE_KEY];
  return { results };
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
} else if (command === 'compare') {
  answer = await compare(job);
} else {
  throw new Error(`unknown command ${command} (expected split, evaluate or compare)`);
}
process.stdout.write(`${JSON.stringify(answer)}\n`);
