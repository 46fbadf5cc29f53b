import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchCount, planBatches } from '../../static/js/data/batches.js';
import { epochOrder } from '../../static/js/data/split.js';

test('padding: every batch has exactly batchSize rows and each item is real exactly once', () => {
  const order = epochOrder(23, 1, 0);
  const batches = planBatches(23, 8, { mode: 'pad', order });
  assert.equal(batches.length, 3);
  assert.ok(batches.every((b) => b.indices.length === 8 && b.weights.length === 8));
  const real = batches.flatMap((b) => b.indices.filter((_, row) => b.weights[row] === 1));
  assert.deepEqual([...real].sort((a, b) => a - b), Array.from({ length: 23 }, (_, i) => i));
  assert.deepEqual(batches.map((b) => b.realCount), [8, 8, 7]);
});

test('padding repeats the start of the epoch order with weight 0', () => {
  const order = epochOrder(10, 2, 4);
  const last = planBatches(10, 4, { order }).at(-1);
  assert.deepEqual(last.indices, [order[8], order[9], order[0], order[1]]);
  assert.deepEqual(Array.from(last.weights), [1, 1, 0, 0]);
  assert.equal(last.realCount, 2);
});

test('fewer items than a batch: the items repeat to fill it', () => {
  const [only] = planBatches(3, 8);
  assert.deepEqual(only.indices, [0, 1, 2, 0, 1, 2, 0, 1]);
  assert.equal(only.realCount, 3);
  assert.equal(Array.from(only.weights).reduce((a, b) => a + b), 3);
});

test('drop mode leaves out the short last batch; nothing else changes shape', () => {
  const batches = planBatches(23, 8, { mode: 'drop' });
  assert.equal(batches.length, 2);
  assert.ok(batches.every((b) => b.indices.length === 8 && b.realCount === 8));
  assert.equal(batchCount(23, 8, 'drop'), 2);
  assert.equal(batchCount(23, 8, 'pad'), 3);
  assert.deepEqual(planBatches(0, 8), []);
});

test('bad arguments are refused', () => {
  assert.throws(() => planBatches(10, 0), /batchSize/);
  assert.throws(() => planBatches(10, 4, { mode: 'wrap' }), /mode/);
  assert.throws(() => planBatches(10, 4, { order: [1, 2] }), /order/);
});
