import { test } from 'node:test';
import assert from 'node:assert/strict';
import { iou, nonMaxSuppression, shapeIou } from '../../static/js/model/tasks/boxes.js';
import { kmeansAnchors } from '../../static/js/model/tasks/anchors.js';
import { averagePrecision, meanAveragePrecision } from '../../static/js/model/tasks/average_precision.js';

const close = (a, b, tolerance = 1e-9) => assert.ok(Math.abs(a - b) <= tolerance, `${a} vs ${b}`);
const box = (x, y, w, h) => ({ x, y, w, h });

test('IoU and shape IoU on known boxes', () => {
  close(iou(box(0, 0, 2, 2), box(1, 1, 2, 2)), 1 / 7);  // overlap 1, union 4 + 4 − 1
  close(iou(box(0, 0, 1, 1), box(1, 0, 1, 1)), 0);      // touching edges do not overlap
  close(iou(box(0, 0, 1, 1), box(0, 0, 1, 1)), 1);
  close(shapeIou([0.2, 0.4], [0.4, 0.2]), 0.04 / 0.12); // intersection 0.2·0.2, union 0.08 + 0.08 − 0.04
});

test('NMS keeps the best of overlapping boxes and every separate one', () => {
  const kept = nonMaxSuppression([
    { score: 0.6, box: box(0.05, 0, 1, 1) },  // IoU 0.95/1.05 ≈ 0.905 with the best: suppressed
    { score: 0.9, box: box(0, 0, 1, 1) },
    { score: 0.5, box: box(3, 3, 1, 1) },     // elsewhere: kept
  ], 0.5);
  assert.deepEqual(kept.map((d) => d.score), [0.9, 0.5]);
});

test('k-means finds two clear shape clusters, the same for the same seed', () => {
  const sizes = [[0.1, 0.1], [0.11, 0.09], [0.09, 0.11], [0.5, 0.3], [0.52, 0.28], [0.48, 0.32]];
  const { anchors, meanIou } = kmeansAnchors(sizes, 2, 42);
  anchors[0].forEach((v) => close(v, 0.1, 1e-9));
  close(anchors[1][0], 0.5, 1e-9);
  close(anchors[1][1], 0.3, 1e-9);
  assert.ok(meanIou > 0.85);
  assert.deepEqual(kmeansAnchors(sizes, 2, 42), { anchors, meanIou });
  // Fewer distinct sizes than anchors: each becomes one, the largest repeats.
  assert.deepEqual(kmeansAnchors([[0.2, 0.2], [0.1, 0.1]], 3, 1).anchors, [[0.1, 0.1], [0.2, 0.2], [0.2, 0.2]]);
  assert.throws(() => kmeansAnchors([], 5, 1), /no boxes/);
});

test('AP with 101-point interpolation on a hand-worked ranking', () => {
  const truths = [[{ box: box(0, 0, 1, 1) }, { box: box(2, 2, 1, 1) }]];
  const predictions = [[
    { score: 0.9, box: box(0, 0, 1, 1) },   // TP: precision 1, recall 0.5
    { score: 0.8, box: box(5, 5, 1, 1) },   // FP: 1/2, recall 0.5
    { score: 0.7, box: box(2, 2, 1, 1) },   // TP: 2/3, recall 1
  ]];
  // Interpolated precision: 1 for recall 0..0.5 (51 points), 2/3 for 0.51..1 (50 points).
  close(averagePrecision(predictions, truths, 0.5), (51 + 50 * (2 / 3)) / 101);
  // A duplicate of a matched box is a false positive; a class with no truths has no AP.
  close(averagePrecision([[{ score: 1, box: box(0, 0, 1, 1) }, { score: 0.9, box: box(0, 0, 1, 1) }]], [[{ box: box(0, 0, 1, 1) }]], 0.5), 1);
  assert.equal(averagePrecision([[{ score: 1, box: box(0, 0, 1, 1) }]], [[]], 0.5), null);
});

test('mAP@0.5 and mAP@0.5:0.95 with per-class AP', () => {
  // Class 0: a unit box shifted by 0.25 in x → IoU 0.75 / 1.25 = 0.6.
  // It matches at thresholds 0.50, 0.55, 0.60 (3 of 10): AP50 = 1, AP50:95 = 0.3. Class 1 is exact: 1 and 1.
  const predictions = [[{ classIndex: 0, score: 0.9, box: box(0.25, 0, 1, 1) }, { classIndex: 1, score: 0.8, box: box(3, 3, 1, 1) }]];
  const truths = [[{ classIndex: 0, box: box(0, 0, 1, 1) }, { classIndex: 1, box: box(3, 3, 1, 1) }]];
  const result = meanAveragePrecision(predictions, truths, ['face', 'cat', 'dog']);
  close(result.per_class[0].ap50, 1);
  close(result.per_class[0].ap50_95, 0.3);
  close(result.per_class[1].ap50_95, 1);
  assert.equal(result.per_class[2].ap50, null);  // no dog in the truths: left out of the means
  close(result.map50, 1);
  close(result.map50_95, 0.65);
  assert.throws(() => meanAveragePrecision([], [[]], ['face']), /0 predicted images but 1/);
});
