import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { augmentAnnotations, MIN_BOX_SIDE, mirrorPairs } from '../../static/js/data/augment_geometry.js';
import { augmentParams, resolveAugment } from '../../static/js/data/augment.js';

const close = (a, b, eps = 1e-9) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

test('mirrorPairs pairs left/right names in the usual spellings and leaves the rest', () => {
  const names = ['nose', 'left_eye', 'right_eye', 'l_hand', 'r_hand', 'knee_L', 'knee_R', 'LeftEar', 'RightEar', 'left_only'];
  assert.deepEqual(mirrorPairs(names), [0, 2, 1, 4, 3, 6, 5, 8, 7, 9]);
  assert.deepEqual(mirrorPairs([]), []);
});

test('a flip mirrors x exactly and swaps left and right points', () => {
  const names = ['nose', 'left_eye', 'right_eye'];
  const points = [[0.5, 0.5, 2], [0.3, 0.4, 2], [0.7, 0.45, 1]];
  const out = augmentAnnotations({ points, boxes: [{ label: 'face', x: 0.1, y: 0.2, w: 0.3, h: 0.4 }] },
    { crop: null, flip: true, brightness: 1 }, mirrorPairs(names));
  // The new left eye is the old right eye, mirrored: still on the image's left half, as a left eye should be.
  assert.deepEqual(out.points, [[0.5, 0.5, 2], [1 - 0.7, 0.45, 1], [1 - 0.3, 0.4, 2]]);
  close(out.boxes[0].x, 0.6);
  close(out.boxes[0].w, 0.3);
  assert.equal(out.boxes[0].label, 'face');
  assert.equal(points[1][0], 0.3, 'the input annotations are not changed');
});

test('a crop moves boxes, clips those partly outside and drops those left too small', () => {
  const crop = { x: 0.2, y: 0.2, side: 0.8 };
  const boxes = [
    { label: 'in', x: 0.4, y: 0.4, w: 0.2, h: 0.2 },
    { label: 'clipped', x: 0.0, y: 0.5, w: 0.4, h: 0.2 },
    { label: 'gone', x: 0.0, y: 0.0, w: 0.1, h: 0.1 },
    { label: 'sliver', x: 0.2 - 0.8 * MIN_BOX_SIDE, y: 0.5, w: 0.8 * MIN_BOX_SIDE * 1.5, h: 0.2 },
  ];
  const out = augmentAnnotations({ boxes }, { crop, flip: false, brightness: 1 });
  assert.deepEqual(out.boxes.map((b) => b.label), ['in', 'clipped']);
  close(out.boxes[0].x, 0.25);
  close(out.boxes[0].w, 0.25);
  close(out.boxes[1].x, 0);
  close(out.boxes[1].w, 0.25);
});

test('points pushed outside by a crop become not visible; the others keep their visibility', () => {
  const crop = { x: 0.2, y: 0.2, side: 0.8 };
  const out = augmentAnnotations({ points: [[0.1, 0.5, 2], [0.6, 0.6, 1], [0.6, 0.6, 0]] }, { crop, flip: false, brightness: 1 });
  assert.equal(out.points[0][2], 0);
  close(out.points[1][0], 0.5);
  close(out.points[1][1], 0.5);
  assert.equal(out.points[1][2], 1);
  assert.equal(out.points[2][2], 0);
});

test('brightness alone moves nothing, and the same seed gives the same augmented boxes', () => {
  const annotations = { boxes: [{ label: 'a', x: 0.3, y: 0.3, w: 0.4, h: 0.3 }], points: [[0.2, 0.8, 2]] };
  const bright = augmentParams(resolveAugment({ brightness: 0.4 }), 7, 3, 11);
  const same = augmentAnnotations(annotations, bright);
  for (const key of ['x', 'y', 'w', 'h']) close(same.boxes[0][key], annotations.boxes[0][key]);
  assert.deepEqual(same.points, annotations.points);
  const options = resolveAugment({ crop: true, flip: true });
  const run = (seed) => [0, 1, 2].map((epoch) => augmentAnnotations(annotations, augmentParams(options, seed, epoch, 5)));
  assert.deepEqual(run(42), run(42));
  assert.notDeepEqual(run(42), run(43));
});
