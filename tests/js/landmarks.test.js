import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../static/js/tf.js';
import { buildModel } from '../../static/js/model/builder.js';
import { landmarks } from '../../static/js/model/tasks.js';

const close = (a, b, tolerance = 1e-5) => assert.ok(Math.abs(a - b) <= tolerance, `${a} vs ${b}`);
const scalar = async (t) => (await t.data())[0];
const NAMES = ['top_left', 'bottom_right', 'top_right', 'bottom_left'];
const corners = { width: 10, height: 10, points: [[0, 0, 1], [10, 10, 1], [10, 0, 1], [0, 10, 1]] };
const half = () => tf.fill([1, 8], 0.5);

test('points at the image corners: targets, MSE, wing and NME by hand', async () => {
  const mse = landmarks.prepare({ point_names: NAMES });
  const before = tf.memory().numTensors;
  const ys = mse.encodeLabels([corners]);
  // Corners normalise to 0 and 1; the points' box is the whole image, diagonal √2.
  assert.deepEqual((await ys.array())[0].map((r) => r.slice(0, 3)), [[0, 0, 1], [1, 1, 1], [1, 0, 1], [0, 1, 1]]);
  close((await ys.array())[0][0][3], Math.SQRT2);
  const pred = half();
  // Every coordinate is off by 0.5: MSE = 0.25. Each distance √0.5 over the diagonal √2 = 0.5.
  const loss = mse.loss(ys, pred);
  const { nme } = mse.metrics(ys, pred);
  close(await scalar(loss), 0.25);
  close(await scalar(nme), 0.5);
  assert.deepEqual((await mse.pointErrors(ys, pred)).map((e) => Math.round(e * 1e6) / 1e6), [0.5, 0.5, 0.5, 0.5]);
  tf.dispose([ys, pred, loss, nme]);
  assert.equal(tf.memory().numTensors, before);
  // Wing at a 64-px input: w = 10/64, ε = 2/64; |d| = 0.5 > w, so 0.5 − C with C = w − w·ln(1 + w/ε) = w(1 − ln 6).
  const wingTask = landmarks.prepare({ point_names: NAMES }, { loss: 'wing', inputSize: 64 });
  const w = 10 / 64;
  close(await scalar(wingTask.loss(wingTask.encodeLabels([corners]), half())), 0.5 - w * (1 - Math.log(6)));
  // Inside the width: |d| = 0.1 → w·ln(1 + 0.1/ε) = w·ln(1 + 3.2).
  const near = wingTask.encodeLabels([{ width: 10, height: 10, points: [[4, 4], [6, 6], [6, 4], [4, 6]] }]);
  close(await scalar(wingTask.loss(near, half())), w * Math.log(4.2), 1e-5);
});

test('invisible points and padding rows add nothing; a given box sets the NME diagonal', async () => {
  const task = landmarks.prepare({ point_names: NAMES });
  const hidden = { ...corners, points: [[0, 0, 1], [10, 10, 1], [3, 3, 0], [0, 10, 1]] };
  const ys = task.encodeLabels([hidden, corners]);
  const pred = tf.tensor2d([[0.5, 0.5, 0.5, 0.5, 99, 99, 0.5, 0.5], [0, 0, 1, 1, 1, 0, 0, 1]]);
  // Image 1: 3 visible points × 2 coords of 0.25 (the hidden point's 99 adds nothing); image 2 is exact.
  close(await scalar(task.loss(ys, pred, tf.tensor1d([1, 0]))), 0.25);
  close(await scalar(task.loss(ys, pred)), (6 * 0.25) / 14);
  close(await scalar(task.metrics(ys, pred, tf.tensor1d([0, 1])).nme), 0);
  const boxed = task.encodeLabels([{ ...corners, box: { x: 0, y: 0, w: 5, h: 5 } }]);
  close(await scalar(task.metrics(boxed, half()).nme), Math.sqrt(0.5) / Math.hypot(0.5, 0.5));
  assert.throws(() => task.encodeLabels([{ width: 10, height: 10, points: [[0, 0, 1]] }]), /image 1: expected 4 points, got 1/);
  assert.throws(() => task.encodeLabels([{ ...corners, points: [[11, 0, 1], ...corners.points.slice(1)] }]), /point 1 \(11, 0\) is outside/);
});

test('gradients of both losses match central differences', async () => {
  for (const options of [{}, { loss: 'wing', inputSize: 16 }]) {
    const task = landmarks.prepare({ point_names: NAMES }, options);
    const ys = task.encodeLabels([corners, { width: 8, height: 8, points: [[2, 2], [6, 6], [6, 2, 0], [2, 6]] }]);
    const x = tf.randomUniform([2, 8], 0.1, 0.9, 'float32', 3);
    const analytic = await tf.grad((p) => task.loss(ys, p))(x).data();
    const values = await x.data();
    for (let i = 0; i < values.length; i++) {
      const at = (delta) => {
        const shifted = values.slice();
        shifted[i] += delta;
        return tf.tidy(() => task.loss(ys, tf.tensor(shifted, x.shape)).dataSync()[0]);
      };
      const numeric = (at(1e-3) - at(-1e-3)) / 2e-3;
      assert.ok(Math.abs(numeric - analytic[i]) <= 2e-3 * Math.max(1, Math.abs(numeric)), `${options.loss} ${i}: ${numeric} vs ${analytic[i]}`);
    }
  }
});

test('decode names the points; the builder head outputs 2K values in [0, 1]', async () => {
  const task = landmarks.prepare({ point_names: ['a', 'b'] });
  const [points] = await task.decode(tf.tensor2d([[0.1, 0.2, 0.3, 0.4]]));
  assert.deepEqual(points.map((p) => p.name), ['a', 'b']);
  close(points[1].y, 0.4);
  const model = buildModel({ inputSize: 16, width: 4, stages: [8], numPoints: 5 }, 'landmarks');
  assert.deepEqual(model.outputs[0].shape, [null, 10]);
  const out = await model.predict(tf.randomNormal([2, 16, 16, 3])).data();
  assert.ok(out.every((v) => v > 0 && v < 1));
  assert.throws(() => landmarks.prepare({ point_names: [] }), /point_names/);
  assert.throws(() => landmarks.prepare({ point_names: ['a'] }, { loss: 'l1' }), /mse, wing/);
});
