import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../static/js/tf.js';
import { classification } from '../../static/js/model/tasks.js';
import {
  MAX_CELL_ITEMS, TOP_MISTAKES, confusionMatrix, perClassAccuracy, predictItems, summarizePredictions, topMistakes,
} from '../../static/js/model/evaluate.js';

const CLASSES = ['cat', 'dog', 'fox'];

test('the confusion matrix counts actual (rows) against predicted (columns)', () => {
  const confusion = confusionMatrix([0, 0, 1, 1, 1, 2], [0, 1, 1, 1, 2, 0], 3);
  assert.deepEqual(confusion, [[1, 1, 0], [0, 2, 1], [1, 0, 0]]);
  assert.equal(confusion.flat().reduce((a, b) => a + b), 6);
  assert.throws(() => confusionMatrix([0, 3], [0, 0], 3), /out of range/);
  assert.throws(() => confusionMatrix([0], [0, 1], 3), /1 labels but 2/);
});

test('per-class accuracy is the diagonal over each row; a class without items is null, not 0', () => {
  assert.deepEqual(perClassAccuracy([[1, 1, 0], [0, 2, 2], [0, 0, 0]]), [0.5, 0.5, null]);
});

test('top mistakes are the wrong predictions the model was surest of, surest first, capped', () => {
  const rows = [
    { item_id: 1, label: 'cat', predicted: 'cat', probability: 0.99 },
    { item_id: 2, label: 'cat', predicted: 'dog', probability: 0.6 },
    { item_id: 3, label: 'dog', predicted: 'fox', probability: 0.95 },
    { item_id: 4, label: 'fox', predicted: 'cat', probability: 0.4 },
  ];
  assert.deepEqual(topMistakes(rows).map((r) => r.item_id), [3, 2, 4]);
  const many = Array.from({ length: 40 }, (_, i) => ({ item_id: i, label: 'cat', predicted: 'dog', probability: i / 40 }));
  assert.equal(topMistakes(many).length, TOP_MISTAKES);
  assert.equal(topMistakes(many)[0].item_id, 39);
});

test('the summary gives every off-diagonal cell the items it opens, capped, and the overall accuracy', () => {
  const rows = [
    ...Array.from({ length: 30 }, (_, i) => ({ item_id: 100 + i, label: 'cat', predicted: 'dog', probability: 0.5 })),
    { item_id: 7, label: 'dog', predicted: 'dog', probability: 0.9 },
    { item_id: 8, label: 'fox', predicted: 'cat', probability: 0.8 },
    { item_id: 9, label: 'fox', predicted: 'fox', probability: 0.7 },
  ];
  const summary = summarizePredictions(rows, CLASSES);
  assert.equal(summary.count, 33);
  assert.equal(summary.accuracy, 2 / 33);
  assert.deepEqual(summary.confusion, [[0, 30, 0], [0, 1, 0], [1, 0, 1]]);
  assert.deepEqual(summary.per_class_accuracy, [0, 1, 0.5]);
  assert.deepEqual(Object.keys(summary.cells).sort(), ['cat|dog', 'fox|cat']);
  assert.equal(summary.cells['cat|dog'].length, MAX_CELL_ITEMS);
  assert.deepEqual(summary.cells['fox|cat'], [8]);
  assert.equal(summary.top_mistakes[0].item_id, 8);
  assert.ok(JSON.stringify(summary).length < 64 * 1024);
});

test('predictions run in fixed-shape batches, drop the padding rows and leave no tensors behind', async () => {
  // A "model" that predicts the class stored in the first pixel, with probability 0.8.
  const model = { predict: (xs) => tf.tidy(() => tf.add(tf.mul(tf.oneHot(tf.cast(xs.reshape([-1, 1]).squeeze([1]), 'int32'), 3), 0.7), 0.1)) };
  const stored = [0, 1, 2, 2, 1];  // what each item "looks like"
  const labels = ['cat', 'dog', 'fox', 'cat', 'dog'];
  const shapes = [];
  const before = tf.memory().numTensors;
  const rows = await predictItems({
    model, task: classification, count: 5, batchSize: 4, classes: CLASSES,
    getBatch: (indices) => {
      shapes.push(indices.length);
      return { xs: tf.tensor4d(indices.map((i) => stored[i]), [indices.length, 1, 1, 1]), ys: tf.zeros([indices.length, 3]) };
    },
    itemAt: (i) => ({ item_id: 10 + i, label: labels[i] }),
  });
  assert.deepEqual(shapes, [4, 4]);
  assert.equal(rows.length, 5);
  assert.deepEqual(rows.map((r) => r.predicted), ['cat', 'dog', 'fox', 'fox', 'dog']);
  assert.ok(rows.every((r) => Math.abs(r.probability - 0.8) < 1e-6));
  assert.deepEqual(summarizePredictions(rows, CLASSES).top_mistakes, [{ item_id: 13, label: 'cat', predicted: 'fox', probability: rows[3].probability }]);
  assert.equal(tf.memory().numTensors, before);
});
