// The data-dependent initial scale: without it, the reference CNN's features reach the head ~1000x smaller than the
// input on dark, mostly-constant images and the loss sits at ln(classes); with it, every conv starts at unit scale.
import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../static/js/tf.js';
import { buildModel, resolveModelConfig } from '../../static/js/model/builder.js';
import { scaleToUnitOutput } from '../../static/js/model/init_scale.js';
import { getTask } from '../../static/js/model/tasks.js';

const SIZE = 32;

/** Dark 32x32 images of three stroke shapes (a bar, a column, a diagonal), like small digit sets: [n,32,32,3]. */
function strokes(count) {
  const values = new Float32Array(count * SIZE * SIZE * 3);
  const labels = [];
  for (let n = 0; n < count; n++) {
    const kind = n % 3;
    const offset = 8 + (n * 5) % 16;
    for (let i = 4; i < 28; i++) {
      const [y, x] = kind === 0 ? [offset, i] : kind === 1 ? [i, offset] : [i, i];
      for (let c = 0; c < 3; c++) values[((n * SIZE + y) * SIZE + x) * 3 + c] = 1;
    }
    labels.push(kind);
  }
  return { xs: tf.tensor4d(values, [count, SIZE, SIZE, 3]), ys: tf.oneHot(tf.tensor1d(labels, 'int32'), 3).toFloat() };
}

const rms = (t) => tf.tidy(() => tf.sqrt(tf.mean(tf.square(t))).dataSync()[0]);

function featureRms(model, xs) {
  const probe = tf.model({ inputs: model.inputs, outputs: model.getLayer('pool').output });
  return tf.tidy(() => rms(probe.predict(xs)));
}

test('glorot-normal alone shrinks the signal ~1000x by the head; the scale step brings every conv to unit rms', () => {
  const { xs, ys } = strokes(24);
  const model = buildModel(resolveModelConfig({ seed: 2, inputSize: SIZE, numClasses: 3 }));
  const before = featureRms(model, xs);
  assert.ok(before < 5e-3, `features before scaling: rms ${before}`);
  const report = scaleToUnitOutput(model, xs);
  assert.deepEqual(report.map((r) => r.layer), ['stem', 'stage1_down', 'stage1_block1', 'stage2_down', 'stage2_block1', 'stage3_down', 'stage3_block1']);
  for (const { layer } of report) {
    const probe = tf.model({ inputs: model.inputs, outputs: model.getLayer(layer).output });
    const value = tf.tidy(() => rms(probe.predict(xs)));
    assert.ok(Math.abs(value - 1) < 1e-3, `${layer} rms ${value}`);
  }
  assert.ok(featureRms(model, xs) > 0.1, 'the head now sees features of a usable size');
  const biases = model.weights.filter((w) => w.name.includes('bias'));
  assert.ok(biases.every((b) => tf.tidy(() => tf.max(tf.abs(b.read())).dataSync()[0]) === 0), 'biases stay zero');
  tf.dispose([xs, ys]);
  model.dispose();
});

test('the same seed and batch give the same scaled weights', () => {
  const { xs, ys } = strokes(12);
  const weightsOf = () => {
    const model = buildModel(resolveModelConfig({ seed: 5, inputSize: SIZE, numClasses: 3 }));
    scaleToUnitOutput(model, xs);
    const values = model.getWeights().map((w) => Array.from(w.dataSync()));
    model.dispose();
    return values;
  };
  assert.deepEqual(weightsOf(), weightsOf());
  tf.dispose([xs, ys]);
});

/** The loss after `steps` Adam steps (eps 1e-7) on the stroke set, with or without the scale step. */
async function lossAfter(steps, seed, scaled) {
  const { xs, ys } = strokes(24);
  const model = buildModel(resolveModelConfig({ seed, inputSize: SIZE, numClasses: 3 }));
  if (scaled) scaleToUnitOutput(model, xs);
  const optimizer = tf.train.adam(0.001, 0.9, 0.999, 1e-7);
  const task = getTask('classification');
  let loss = null;
  for (let step = 0; step < steps; step++) {
    tf.dispose(loss);
    loss = optimizer.minimize(() => task.loss(ys, model.apply(xs, { training: true })), true);
  }
  const value = (await loss.data())[0];
  tf.dispose([loss, xs, ys]);
  optimizer.dispose();
  model.dispose();
  return value;
}

test('seed 2, 12 steps: stuck at ln 3 without the scale step, well below it with it', async () => {
  const stuck = await lossAfter(12, 2, false);
  const moving = await lossAfter(12, 2, true);
  assert.ok(Math.abs(stuck - Math.log(3)) < 0.01, `without: ${stuck}`);
  assert.ok(moving < 0.8 * Math.log(3), `with: ${moving}`);
});
