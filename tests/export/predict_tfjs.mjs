/**
 * Loads exported tfjs models the way a page does, tf.loadLayersModel(url) over HTTP, and writes their predictions.
 *   node predict_tfjs.mjs < {"models": {name: URL of model.json}, "pixels": FILE, "count": n, "size": s, "out": DIR}
 * `pixels` holds n*s*s*3 RGB bytes; the inputs are pixels / 255 (the run's 'unit' normalisation), written to
 * DIR/inputs.f32 so that TensorFlow can be fed the very same floats; each model's outputs go to DIR/<name>.f32.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const job = JSON.parse(Buffer.concat(chunks).toString('utf8'));
await tf.setBackend('cpu');

const pixels = await readFile(job.pixels);
const inputs = Float32Array.from(pixels, (value) => value / 255);
await writeFile(join(job.out, 'inputs.f32'), Buffer.from(inputs.buffer));
const x = tf.tensor4d(inputs, [job.count, job.size, job.size, 3]);
const shapes = {};
for (const [name, url] of Object.entries(job.models)) {
  const model = await tf.loadLayersModel(url);
  const y = model.predict(x);
  shapes[name] = y.shape;
  await writeFile(join(job.out, `${name}.f32`), Buffer.from((await y.data()).buffer));
  y.dispose();
  model.dispose();
}
process.stdout.write(`${JSON.stringify({ backend: tf.getBackend(), shapes })}\n`);
