import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../static/js/tf.js';
import { buildModel, featureMapSize } from '../../static/js/model/builder.js';
import { detection } from '../../static/js/model/tasks.js';
import { lossTerms } from '../../static/js/model/tasks/yolo_loss.js';

const close = (a, b, tolerance = 1e-5) => assert.ok(Math.abs(a - b) <= tolerance, `${a} vs ${b}`);
const scalar = async (t) => (await t.data())[0];
const CLASSES = ['face', 'cat'];

/** A 2×2 grid (input 64, so S = 64/32), given anchors, the two classes, IoU or 1 as the objectness target. */
const prepared = (anchors = [[0.5, 0.5]], objectTarget = 'iou') =>
  detection.prepare({ classes: CLASSES }, { inputSize: 64, gridSize: 2, anchors, objectTarget });
const image = (...boxes) => ({ width: 100, height: 100, boxes });
const zerosPrediction = (n, task) => tf.zeros([n, 2, 2, task.anchors.length * 7]);

test('an empty image costs only the no-object term: 4 cells × σ(0)² = 1', async () => {
  const task = prepared();
  const before = tf.memory().numTensors;
  const ys = task.encodeLabels([image()]);
  const loss = task.loss(ys, zerosPrediction(1, task));
  // All-zero logits: σ(conf) = 0.5 in each of the 4 cells → noObject = 4 · 0.25 = 1; no object, coord or class term.
  close(await scalar(loss), 1);
  tf.dispose([ys, loss]);
  assert.equal(tf.memory().numTensors, before + 1, 'only the zeros prediction is left');  // created inline, not disposed
});

test('one box centred in a cell, shaped like the anchor: each term by hand', async () => {
  const task = prepared();
  // Pixels [0, 50) of a 100-px image: normalised box centre (0.25, 0.25), size 0.5 → cell (0, 0), offsets 0.5,
  // tw = th = log(0.5 / 0.5) = 0.
  const ys = task.encodeLabels([image({ label: 'face', x: 0, y: 0, w: 50, h: 50 })]);
  const target = (await ys.array())[0];
  assert.deepEqual(target[0][0], [0.5, 0.5, 0, 0, 1, 1, 0]);
  assert.deepEqual(target[1][1], [0, 0, 0, 0, 0, 0, 0]);
  // Zero logits predict exactly that box (IoU 1), confidence 0.5, class probabilities 0.5/0.5:
  //   noObject = 3 cells · 0.25 = 0.75; object = 5 · (0.5 − 1)² = 1.25; coord = 0; class = 0.25 + 0.25 = 0.5.
  const terms = lossTerms(ys, zerosPrediction(1, task), task.anchors);
  close(await scalar(terms.noObject), 0.75);
  close(await scalar(terms.object), 0.25);
  close(await scalar(terms.coord), 0);
  close(await scalar(terms.class), 0.5);
  close(await scalar(task.loss(ys, zerosPrediction(1, task))), 0.75 + 1.25 + 0 + 0.5);
  close(await scalar(task.metrics(ys, zerosPrediction(1, task)).iou), 1);
});

test('two boxes wanting one cell and anchor: the larger keeps it, the other takes the next-best anchor', async () => {
  const task = prepared([[0.2, 0.2], [0.5, 0.5]]);
  // Both centred at (0.25, 0.25). The 40-px box fits the 0.5 anchor best (shape IoU 0.16/0.25 = 0.64 against
  // 0.04/0.16 = 0.25), like the 50-px one; the larger wins anchor 1, the smaller gets anchor 0: tw = log(0.4/0.2).
  const ys = task.encodeLabels([image({ label: 'cat', x: 5, y: 5, w: 40, h: 40 }, { label: 'face', x: 0, y: 0, w: 50, h: 50 })]);
  const cell = (await ys.array())[0][0][0];
  assert.deepEqual(cell.slice(7), [0.5, 0.5, 0, 0, 1, 1, 0]);
  cell.slice(0, 7).forEach((v, i) => close(v, [0.5, 0.5, Math.log(2), Math.log(2), 1, 0, 1][i]));
  // With a single anchor there is no free one: the smaller box is dropped, the larger stays.
  const single = (await prepared().encodeLabels([image({ label: 'cat', x: 5, y: 5, w: 40, h: 40 },
    { label: 'face', x: 0, y: 0, w: 50, h: 50 })]).array())[0][0][0];
  assert.deepEqual(single, [0.5, 0.5, 0, 0, 1, 1, 0]);
});

test('a box at the edge is clipped to the image; a box under the minimum size is dropped', async () => {
  const task = prepared();
  // x 60..101 px (1 px past the edge) → clipped to 0.6..1.0: centre 0.8 → column 1, offset 0.6; w 0.4.
  const edge = (await task.encodeLabels([image({ label: 'face', x: 60, y: 0, w: 41, h: 50 })]).array())[0][0][1];
  [0.6, 0.5, Math.log(0.4 / 0.5), 0, 1, 1, 0].forEach((v, i) => close(edge[i], v));
  // 1 px of a 64-px source is under MIN_BOX_PIXELS (2 px of the input): nothing is encoded.
  const tiny = await task.encodeLabels([{ width: 64, height: 64, boxes: [{ label: 'face', x: 10, y: 10, w: 1, h: 1 }] }]).sum().data();
  assert.equal(tiny[0], 0);
  assert.throws(() => task.encodeLabels([image({ label: 'dog', x: 0, y: 0, w: 5, h: 5 })]), /image 1: box 1: unknown class "dog"/);
  assert.throws(() => task.encodeLabels([image({ label: 'face', x: 0, y: 0, w: -5, h: 5 })]), /positive w, h/);
});

test('the loss covers every image of the batch; padding rows add nothing', async () => {
  const task = prepared();
  const ys = task.encodeLabels([image({ label: 'face', x: 0, y: 0, w: 50, h: 50 }), image()]);
  const pred = zerosPrediction(2, task);
  close(await scalar(task.loss(ys, pred)), (2.5 + 1) / 2);  // image 1: 2.5 (above), image 2 (empty): 1
  close(await scalar(task.loss(ys, pred, tf.tensor1d([1, 0]))), 2.5);
  close(await scalar(task.loss(ys, pred, tf.tensor1d([0, 1]))), 1);
});

/** Central differences of `f` at every entry of `x` against tf.grad. */
async function checkGradient(f, x, entries = null, epsilon = 1e-2) {
  const analytic = await tf.grad(f)(x).data();
  const values = await x.data();
  for (const i of entries ?? values.keys()) {
    const at = (delta) => {
      const shifted = values.slice();
      shifted[i] += delta;
      return tf.tidy(() => f(tf.tensor(shifted, x.shape)).dataSync()[0]);
    };
    const numeric = (at(epsilon) - at(-epsilon)) / (2 * epsilon);
    assert.ok(Math.abs(numeric - analytic[i]) <= 2e-3 * Math.max(1, Math.abs(numeric)), `entry ${i}: ${numeric} vs ${analytic[i]}`);
  }
}

test('gradients match central differences on a small case (objectness target 1, then IoU)', async () => {
  const labels = [image({ label: 'cat', x: 10, y: 55, w: 30, h: 40 }), image({ label: 'face', x: 40, y: 40, w: 20, h: 20 })];
  const one = prepared([[0.3, 0.3], [0.5, 0.4]], 'one');
  const ys = one.encodeLabels(labels);
  const x = tf.randomNormal([2, 2, 2, 14], 0, 0.5, 'float32', 7);
  await checkGradient((p) => one.loss(ys, p, tf.tensor1d([1, 1])), x);
  // The IoU target carries no gradient: only the objectness entries (field 4 of each anchor) are checked there,
  // since moving a box would move its target too.
  const iou = prepared([[0.3, 0.3], [0.5, 0.4]], 'iou');
  const objectness = [...Array(2 * 2 * 2 * 2).keys()].map((slot) => slot * 7 + 4);
  await checkGradient((p) => iou.loss(ys, p), x, objectness);
});

test('decode: score threshold, minimum size, per-class NMS, normalised boxes', async () => {
  const task = prepared([[0.5, 0.5], [0.45, 0.45]]);
  const logits = new Float32Array(2 * 2 * 2 * 7).fill(-10);  // every confidence ≈ 0
  // Cell (0, 0): both anchors confident on class 0 with near-identical boxes → NMS keeps the surer one.
  logits.set([0, 0, 0, 0, 4, 5, -5], 0);
  logits.set([0, 0, 0, 0, 3, 5, -5], 7);
  // Cell (1, 1), anchor 0: class 1, box exp(-6)·0.5 ≈ 0.001 wide: under the minimum size, dropped.
  logits.set([0, 0, -6, 0, 4, -5, 5], (3 * 2) * 7);
  const [detections] = await task.decode(tf.tensor4d(logits, [1, 2, 2, 14]));
  assert.equal(detections.length, 1);
  const [best] = detections;
  assert.equal(best.label, 'face');
  close(best.score, (1 / (1 + Math.exp(-4))) * (1 / (1 + Math.exp(-10))), 1e-5);
  close(best.box.x, 0);
  close(best.box.w, 0.5);
  assert.equal(task.metadata().grid_size, 2);
  assert.deepEqual(JSON.parse(JSON.stringify(task.metadata())).anchors, [[0.5, 0.5], [0.45, 0.45]]);
});

test('anchors come from k-means over the dataset when none are given', () => {
  const labels = [image({ label: 'face', x: 0, y: 0, w: 10, h: 10 }), image({ label: 'face', x: 0, y: 0, w: 60, h: 30 })];
  const task = detection.prepare({ classes: CLASSES, labels }, { inputSize: 64, gridSize: 2, numAnchors: 2, seed: 1 });
  assert.deepEqual(task.anchors, [[0.1, 0.1], [0.6, 0.3]]);
  close(task.anchorFit, 1);
  assert.throws(() => detection.prepare({ classes: CLASSES, labels: [image()] }, { inputSize: 64, gridSize: 2 }), /no boxes/);
});

test('the builder gives the detection head the feature map: [S, S, A·(5+C)] with S = inputSize / 32', () => {
  const config = { inputSize: 64, width: 4, stages: [8, 8, 8, 8], numClasses: 2, numAnchors: 3 };
  assert.equal(featureMapSize(config), 2);
  const model = buildModel(config, 'detection');
  assert.deepEqual(model.outputs[0].shape, [null, 2, 2, 3 * 7]);
  assert.equal(model.layers.some((l) => l.name === 'pool'), false);
  assert.equal(featureMapSize({ inputSize: 64, stages: [32, 64, 128] }), 4);
});
