/**
 * What tfjs itself reads from the exports' labels: tf.loadLayersModel(url) over HTTP, then getUserDefinedMetadata().
 * Also applies each normalisation's exported scale/offset to every pixel value 0..255 and compares the result with
 * static/js/data/normalize.js (the training code), so the numbers a user copies give the inputs the model learnt on.
 *   node labels_tfjs.mjs < {"models": {name: URL of model.json}, "normalizations": {mode: {scale, offset}}}
 *   → {"metadata": {name: userDefinedMetadata}, "max_abs_diff": {mode: number}}
 */
import * as tf from '@tensorflow/tfjs';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const job = JSON.parse(Buffer.concat(chunks).toString('utf8'));
globalThis.tf = tf;
await tf.setBackend('cpu');
const { normalize } = await import('../../static/js/data/normalize.js');

const metadata = {};
for (const [name, url] of Object.entries(job.models)) {
  const model = await tf.loadLayersModel(url);
  metadata[name] = model.getUserDefinedMetadata() ?? null;
  model.dispose();
}

const values = Int32Array.from({ length: 256 * 3 }, (_, i) => Math.floor(i / 3));
const pixels = tf.tensor4d(values, [1, 16, 16, 3], 'int32');
const maxAbsDiff = {};
for (const [mode, { scale, offset }] of Object.entries(job.normalizations)) {
  const trained = normalize(pixels, mode);
  const exported = tf.tidy(() => pixels.toFloat().mul(scale).add(offset));
  maxAbsDiff[mode] = tf.tidy(() => tf.max(tf.abs(tf.sub(trained, exported)))).dataSync()[0];
  tf.dispose([trained, exported]);
}
process.stdout.write(`${JSON.stringify({ metadata, max_abs_diff: maxAbsDiff })}\n`);
