import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { annotationToInput, inputAnnotations, movedAnnotation } from '../../static/js/data/annotations.js';
import { mirrorPairs } from '../../static/js/data/augment_geometry.js';
import { detection, landmarks } from '../../static/js/model/tasks.js';
import { detectionEvaluation, landmarksEvaluation } from '../../static/js/model/evaluate_tasks.js';

const close = (a, b, eps = 1e-6) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

test('annotations reach the input as shares: stretched, and letterboxed with the bars counted', () => {
  const annotation = { width: 200, height: 100, boxes: [{ label: 'face', x: 50, y: 25, w: 100, h: 50 }] };
  const stretched = annotationToInput(annotation, 64);
  assert.deepEqual(stretched, { width: 1, height: 1, boxes: [{ label: 'face', x: 0.25, y: 0.25, w: 0.5, h: 0.5 }] });
  // Letterbox: scale 64/200, the 32-px-high image sits between 16-px bars.
  const [box] = annotationToInput(annotation, 64, 'letterbox').boxes;
  close(box.x, 0.25);
  close(box.w, 0.5);
  close(box.y, (16 + 25 * 0.32) / 64);
  close(box.h, (50 * 0.32) / 64);
  assert.equal(inputAnnotations([{ id: 1, label: 'cat' }], 64), null, 'class labels need no mapping');
  assert.throws(() => inputAnnotations([{ id: 1, annotation }, { id: 2, label: 'x' }], 64), /item 2 has no annotation/);
});

test('a flip moves the points, swaps left and right names, and moves the landmarks box with them', () => {
  const names = ['left_eye', 'right_eye', 'nose'];
  const annotation = annotationToInput({ width: 100, height: 100, points: [[30, 40, 2], [70, 40, 2], [50, 60, 2]],
    box: { x: 20, y: 20, w: 60, h: 60 } }, 50);
  const moved = movedAnnotation(annotation, { crop: null, flip: true, brightness: 1 }, mirrorPairs(names));
  // The left eye (index 0) is now the one the flip brought to the left: the old right eye mirrored.
  assert.deepEqual(moved.points.map(([x, y]) => [Math.round(x * 100) / 100, y]), [[0.3, 0.4], [0.7, 0.4], [0.5, 0.6]]);
  close(moved.box.x, 0.2);
  close(moved.box.w, 0.6);
  const cropped = movedAnnotation(annotation, { crop: { x: 0.55, y: 0.5, side: 0.45 }, flip: false, brightness: 1 }, null);
  assert.deepEqual(cropped.points.map((p) => p[2]), [0, 0, 0], 'points cropped away are no longer visible');
});

/** A prepared detection task for one class on a 2×2 grid, anchors given (no k-means). */
const faces = () => detection.prepare({ classes: ['face'] }, { inputSize: 64, gridSize: 2, anchors: [[0.25, 0.25]] });
const config = { inputSize: 64, resize: 'stretch' };

test('detection evaluation: a perfect image, a missed box and a false positive, mAP and the worst images', () => {
  const task = faces();
  const truthBox = { label: 'face', x: 32, y: 32, w: 64, h: 64 };  // source 128×128: shares 0.25..0.75
  const item = (id, boxes) => ({ item_id: id, annotation: { width: 128, height: 128, boxes } });
  const found = { classIndex: 0, label: 'face', score: 0.9, box: { x: 0.25, y: 0.25, w: 0.5, h: 0.5 } };
  const stray = { classIndex: 0, label: 'face', score: 0.8, box: { x: 0, y: 0, w: 0.1, h: 0.1 } };
  const rows = [
    { item: item(1, [truthBox]), prediction: [found] },
    { item: item(2, [truthBox]), prediction: [] },
    { item: item(3, []), prediction: [stray] },
  ];
  const evaluation = detectionEvaluation(rows, task, config);
  assert.equal(evaluation.task, 'detection');
  assert.equal(evaluation.count, 3);
  // Ranked: 0.9 hit (P 1, R 0.5), 0.8 miss (P 0.5): AP@0.5 = the first 51 recall points at precision 1.
  close(evaluation.map50, 51 / 101);
  assert.deepEqual(evaluation.per_class.map((c) => [c.name, c.truths]), [['face', 2]]);
  assert.equal(evaluation.pr_curves.length, 1);
  assert.equal(evaluation.pr_curves[0].precision.length, 101);
  assert.deepEqual(evaluation.worst.map((w) => [w.item_id, w.misses, w.false_positives]), [[2, 1, 0], [3, 0, 1]]);
  assert.deepEqual(evaluation.worst[0].truth, [{ label: 'face', x: 0.25, y: 0.25, w: 0.5, h: 0.5 }], 'shares of the source');
  assert.deepEqual(evaluation.worst[1].predicted, [{ label: 'face', score: 0.8, x: 0, y: 0, w: 0.1, h: 0.1 }]);
});

test('landmarks evaluation: NME over the box diagonal, per point, worst image first', () => {
  const task = landmarks.prepare({ pointNames: ['left_eye', 'right_eye'] });
  const annotation = { width: 100, height: 100, points: [[20, 20, 2], [80, 20, 2]], box: { x: 0, y: 0, w: 60, h: 80 } };
  const exact = [{ name: 'left_eye', x: 0.2, y: 0.2 }, { name: 'right_eye', x: 0.8, y: 0.2 }];
  const off = [{ name: 'left_eye', x: 0.2, y: 0.3 }, { name: 'right_eye', x: 0.8, y: 0.2 }];  // 10 px off, diagonal 100
  const evaluation = landmarksEvaluation([
    { item: { item_id: 7, annotation }, prediction: exact },
    { item: { item_id: 8, annotation }, prediction: off },
  ], task, config);
  close(evaluation.nme, (0 + 0.05) / 2);
  close(evaluation.per_point[0].nme, 0.05);
  close(evaluation.per_point[1].nme, 0);
  assert.deepEqual(evaluation.worst.map((w) => w.item_id), [8, 7]);
  assert.deepEqual(evaluation.worst[0].predicted, [[0.2, 0.3], [0.8, 0.2]]);
  assert.deepEqual(evaluation.worst[0].truth, [[0.2, 0.2, 2], [0.8, 0.2, 2]]);
});
