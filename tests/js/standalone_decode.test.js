import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../static/js/tf.js';
import { annotationsToSource, resizeTransform } from '../../static/js/data/geometry.js';
import { createRandom } from '../../static/js/data/random.js';
import { taskFromMetadata } from '../../static/js/model/task_metadata.js';
import { decodeBoxes, decodePoints, toImagePixels } from '../../static/js/model/standalone_decode.js';

const close = (a, b, tolerance = 1e-9) => assert.ok(Math.abs(a - b) <= tolerance, `${a} vs ${b}`);
const DETECTION = {
  task: 'detection', classes: ['cat', 'dog', 'face'], anchors: [[0.1, 0.15], [0.3, 0.25], [0.6, 0.5]], grid_size: 4,
  input_size: 128, score_threshold: 0.3, iou_threshold: 0.45, min_box_pixels: 2,
};
const LANDMARKS = { task: 'landmarks', point_names: ['left_eye', 'right_eye', 'nose'], loss: 'mse', input_size: 64 };

/** The pasted snippet's functions, rebuilt from their source text alone: what a user's page would run. */
function fromSnippet() {
  const source = [toImagePixels, decodeBoxes, decodePoints].map(String).join('\n');
  return new Function(`${source}\nreturn { decodeBoxes, decodePoints };`)();
}

for (const mode of ['stretch', 'letterbox']) {
  test(`the detection snippet finds the boxes the task's decode finds, in the image's pixels (${mode})`, async () => {
    const meta = { ...DETECTION, resize: { mode } };
    const random = createRandom(7);
    const values = Float32Array.from({ length: 4 * 4 * 3 * 8 }, () => (random() - 0.5) * 6);
    const [width, height] = [300, 180];
    const y = tf.tensor4d(values, [1, 4, 4, 24]);
    const [expected] = await taskFromMetadata(meta).decode(y);
    y.dispose();
    const { boxes } = annotationsToSource(resizeTransform(width, height, 128, mode), { boxes: expected.map((d) => d.box) });
    const got = fromSnippet().decodeBoxes(values, meta, width, height);
    assert.ok(expected.length >= 3, `a useful case decodes several boxes, got ${expected.length}`);
    assert.equal(got.length, expected.length);
    got.forEach((box, i) => {
      assert.equal(box.label, expected[i].label);
      close(box.score, expected[i].score);
      for (const key of ['x', 'y', 'w', 'h']) close(box[key], boxes[i][key], 1e-6);
    });
  });

  test(`the landmarks snippet puts the points where the task's decode and the resize put them (${mode})`, async () => {
    const meta = { ...LANDMARKS, resize: { mode } };
    const values = Float32Array.from([0.2, 0.3, 0.7, 0.3, 0.5, 0.6]);
    const y = tf.tensor2d(values, [1, 6]);
    const [expected] = await taskFromMetadata(meta).decode(y);
    y.dispose();
    const { points } = annotationsToSource(resizeTransform(90, 120, 64, mode), { points: expected.map((p) => [p.x, p.y]) });
    const got = fromSnippet().decodePoints(values, meta, 90, 120);
    assert.deepEqual(got.map((p) => p.name), LANDMARKS.point_names);
    got.forEach((p, k) => {
      close(p.x, points[k][0], 1e-6);
      close(p.y, points[k][1], 1e-6);
    });
  });
}
