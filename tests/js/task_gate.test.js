import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boxAgreement, landmarkScores, taskScores } from '../../server/artifacts/task_gate.mjs';

const close = (a, b, tolerance = 1e-6) => assert.ok(Math.abs(a - b) <= tolerance, `${a} vs ${b}`);
const box = (x, y, w, h, classIndex = 0, score = 0.9) => ({ classIndex, score, box: { x, y, w, h } });

test('box agreement: the same boxes score 1, a missed box and a moved one lower it, none on either side is 1', () => {
  const a = [[box(0, 0, 0.5, 0.5), box(0.5, 0.5, 0.5, 0.5)]];
  close(boxAgreement(a, a), 1);
  close(boxAgreement(a, [[box(0, 0, 0.5, 0.5)]]), 0.5);  // one of two found
  close(boxAgreement(a, [[...a[0], box(0, 0.5, 0.2, 0.2)]]), 2 / 3);  // an extra box
  close(boxAgreement([[box(0, 0, 0.4, 0.4)]], [[box(0, 0, 0.4, 0.2)]]), 0.5);  // half the area
  close(boxAgreement([[box(0, 0, 0.4, 0.4, 0)]], [[box(0, 0, 0.4, 0.4, 1)]]), 0);  // right place, wrong class
  close(boxAgreement([[], []], [[], []]), 1);
});

const DETECTION = {
  task: 'detection', classes: ['cat', 'face'], anchors: [[0.25, 0.25]], grid_size: 2, input_size: 64,
  score_threshold: 0.3, iou_threshold: 0.45, resize: { mode: 'stretch' },
};

/** Raw head output for one image on a 2×2 grid, one anchor: a confident `face` box centred in cell (row, col). */
function oneBoxOutput(row, col, shift = 0) {
  const values = new Float32Array(2 * 2 * 7).fill(-10);
  const base = (row * 2 + col) * 7;
  values.set([shift, 0, 0, 0, 10, -10, 10], base);  // x, y offsets σ(0) = centre, anchor size, objectness, classes
  return values;
}

test('detection scores: an export that finds the same box agrees fully and both score mAP 1 on a true box there', async () => {
  // The true face: centred in cell (0, 1) of the 64-px input with the anchor's size (16 px).
  const items = [{ width: 64, height: 64, boxes: [{ label: 'face', x: 40, y: 8, w: 16, h: 16 }] }];
  const results = await taskScores(DETECTION, items, { tfjs: oneBoxOutput(0, 1), uint8: oneBoxOutput(0, 1, 0.4) }, 'tfjs');
  assert.equal(results.tfjs.box_agreement, 1);
  assert.equal(results.tfjs.map50, 1);
  assert.equal(results.tfjs.boxes, 1);
  // σ(0.4) = 0.599: the box moves 0.099 of a cell = 3.2 px of 16 → IoU 12.8/19.2 = 0.667, still a hit at 0.5.
  close(results.uint8.box_agreement, (16 - 3.17) / (16 + 3.17), 1e-2);
  assert.equal(results.uint8.map50, 1);
});

const LANDMARKS = { task: 'landmarks', point_names: ['left', 'right'], input_size: 32, resize: { mode: 'stretch' } };

test('landmark scores: NME against the true points and against the float32 points, over the box diagonal', async () => {
  // A 100x100 image, box 0..60 (diagonal 60·√2 px), points at 10% and 50%.
  const items = [{ width: 100, height: 100, points: [[10, 10, 2], [50, 50, 2]], box: { x: 0, y: 0, w: 60, h: 60 } }];
  const exact = Float32Array.from([0.1, 0.1, 0.5, 0.5]);
  const moved = Float32Array.from([0.1, 0.1, 0.5, 0.5 + 0.06 * Math.SQRT2]);
  const scores = await landmarkScores(LANDMARKS, items, { tfjs: exact, uint8: moved }, 'tfjs');
  close(scores.tfjs.nme, 0, 1e-6);
  close(scores.tfjs.nme_vs_reference, 0, 1e-6);
  close(scores.uint8.nme_vs_reference, 0.05, 1e-6);  // one of two points off by a tenth of the diagonal
  close(scores.uint8.nme, 0.05, 1e-6);
});

test('landmark scores map the outputs back through a letterbox before comparing with the true points', async () => {
  // 200x100 onto 32: scale 0.16, 8-px bars above and below; the input's centre is the image's centre.
  const items = [{ width: 200, height: 100, points: [[100, 50, 2], [0, 0, 0]], box: { x: 50, y: 25, w: 100, h: 50 } }];
  const meta = { ...LANDMARKS, resize: { mode: 'letterbox' } };
  const scores = await landmarkScores(meta, items, { tfjs: Float32Array.from([0.5, 0.5, 0.9, 0.9]) }, 'tfjs');
  close(scores.tfjs.nme, 0, 1e-6);
});

test('a point that is not labelled counts in the float32 comparison but not against the truth', async () => {
  const items = [{ width: 10, height: 10, points: [[5, 5, 2], [0, 0, 0]], box: { x: 0, y: 0, w: 10, h: 10 } }];
  const scores = await landmarkScores(LANDMARKS, items, {
    tfjs: Float32Array.from([0.5, 0.5, 0.9, 0.9]), uint8: Float32Array.from([0.5, 0.5, 0.9, 0.9 + Math.SQRT2 / 10]),
  }, 'tfjs');
  close(scores.uint8.nme, 0, 1e-6);
  close(scores.uint8.nme_vs_reference, 0.05, 1e-6);
});
