import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  annotationsToInput, annotationsToSource, boxToInput, boxToSource, drawRect, pointToInput, pointToSource, resizeTransform,
} from '../../static/js/data/geometry.js';

const close = (a, b, eps = 1e-9) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

test('stretch scales each axis on its own and letterbox keeps the aspect ratio, centred', () => {
  const stretch = resizeTransform(200, 100, 64, 'stretch');
  assert.deepEqual(stretch, { mode: 'stretch', scale_x: 0.32, scale_y: 0.64, pad_x: 0, pad_y: 0, source: [200, 100], input: 64 });
  const letterbox = resizeTransform(200, 100, 64, 'letterbox');
  assert.equal(letterbox.scale_x, 0.32);
  assert.equal(letterbox.scale_y, 0.32);
  assert.equal(letterbox.pad_x, 0);
  assert.equal(letterbox.pad_y, 16);
  assert.deepEqual(drawRect(letterbox), { x: 0, y: 16, w: 64, h: 32 });
  // A tall source pads left and right instead.
  assert.deepEqual(drawRect(resizeTransform(50, 100, 64, 'letterbox')), { x: 16, y: 0, w: 32, h: 64 });
});

test('an unknown mode or an empty source is refused', () => {
  assert.throws(() => resizeTransform(10, 10, 64, 'crop'), /resize mode/);
  assert.throws(() => resizeTransform(0, 10, 64), /positive/);
});

for (const mode of ['stretch', 'letterbox']) {
  for (const [w, h] of [[640, 480], [300, 917], [64, 64]]) {
    test(`toSource after toInput is the identity (${mode}, ${w}x${h})`, () => {
      const t = resizeTransform(w, h, 96, mode);
      const point = [w * 0.37, h * 0.81, 2];
      const back = pointToSource(t, pointToInput(t, point));
      close(back[0], point[0]);
      close(back[1], point[1]);
      assert.equal(back[2], 2);
      const box = { label: 'cat', x: w * 0.1, y: h * 0.2, w: w * 0.5, h: h * 0.3 };
      const boxBack = boxToSource(t, boxToInput(t, box));
      for (const key of ['x', 'y', 'w', 'h']) close(boxBack[key], box[key]);
      assert.equal(boxBack.label, 'cat');
      // Through the normalised form the batches carry, and back.
      const norm = annotationsToInput(t, { boxes: [box], points: [point] });
      assert.ok(norm.boxes[0].x >= 0 && norm.boxes[0].x + norm.boxes[0].w <= 1);
      const src = annotationsToSource(t, norm);
      for (const key of ['x', 'y', 'w', 'h']) close(src.boxes[0][key], box[key]);
      close(src.points[0][0], point[0]);
      close(src.points[0][1], point[1]);
    });
  }
}

test('a letterboxed source corner lands on the pad edge in shares of the input', () => {
  const t = resizeTransform(200, 100, 64, 'letterbox');
  const { points } = annotationsToInput(t, { points: [[0, 0, 1], [200, 100, 1]] });
  assert.deepEqual(points, [[0, 0.25, 1], [1, 0.75, 1]]);
});
