import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../static/js/tf.js';
import {
  PIXEL_BUDGET_BYTES, PIXEL_CHUNK_ITEMS, chunkOf, chunksPerWindow, fitsBudget, streamOrder,
} from '../../static/js/data/stream_order.js';
import { splitItems } from '../../static/js/data/split.js';
import { buildModel } from '../../static/js/model/builder.js';
import { classification } from '../../static/js/model/tasks.js';
import { Trainer } from '../../static/js/train/loop.js';

const STRIDE_64 = 64 * 64 * 3;

/** The training split of `count` items in 3 classes, as a run makes it: positions {index, label} in item order. */
function trainSplit(count, seed = 0) {
  const items = Array.from({ length: count }, (_, index) => ({ index, label: `c${index % 3}` }));
  return splitItems(items, { valFraction: 0.2, seed }).train;
}

test('a run\'s pixels stream only past the budget: 5,000 images at 64 px fit it, 40,000 do not', () => {
  assert.ok(fitsBudget(5000, STRIDE_64));
  assert.ok(!fitsBudget(40000, STRIDE_64));
  // Two windows (the one training and the prefetched next) stay within the budget.
  const perWindow = chunksPerWindow(PIXEL_CHUNK_ITEMS, STRIDE_64);
  assert.ok(perWindow >= 1 && 2 * perWindow * PIXEL_CHUNK_ITEMS * STRIDE_64 <= PIXEL_BUDGET_BYTES);
  assert.equal(chunksPerWindow(PIXEL_CHUNK_ITEMS, STRIDE_64, 1000), 1, 'a budget under two chunks streams one at a time');
});

test('every training position is visited exactly once per epoch, in windows of at most perWindow chunks', () => {
  const list = trainSplit(2000, 3);
  for (const [chunkItems, perWindow] of [[256, 1], [256, 3], [50, 2], [7, 5], [4096, 1]]) {
    for (const epoch of [0, 1, 9]) {
      const { order, windowOf, windows } = streamOrder(list, { seed: 5, epoch, chunkItems, perWindow });
      assert.deepEqual([...order].sort((a, b) => a - b), list.map((_, position) => position), `${chunkItems}/${perWindow}`);
      const chunks = windows.flat();
      assert.equal(new Set(chunks).size, chunks.length, 'a chunk belongs to one window');
      assert.ok(windows.every((w) => w.length >= 1 && w.length <= perWindow));
      // The order walks the windows one after another, each position inside its window's chunks.
      order.forEach((position, step) => {
        const window = windowOf[position];
        assert.ok(windows[window].includes(chunkOf(list[position].index, chunkItems)));
        if (step) assert.ok(window >= windowOf[order[step - 1]], 'a window was left and entered again');
      });
    }
  }
});

test('the same seed gives the same order; another epoch or seed gives another, shuffled across chunks', () => {
  const list = trainSplit(3000);
  const options = { chunkItems: 100, perWindow: 2 };
  const order = (seed, epoch) => streamOrder(list, { seed, epoch, ...options }).order;
  assert.deepEqual(order(1, 4), order(1, 4));
  assert.notDeepEqual(order(1, 4), order(1, 5));
  assert.notDeepEqual(order(1, 4), order(2, 4));
  // The windows' chunks are not just 0, 1, 2...: the chunk order is shuffled too.
  const first = streamOrder(list, { seed: 1, epoch: 4, ...options }).windows.flat();
  assert.notDeepEqual(first, [...first].sort((a, b) => a - b));
});

test('without an epoch (validation) the order is the list\'s own, chunk by chunk', () => {
  const list = trainSplit(900);
  const { order, windows } = streamOrder(list, { chunkItems: 64, perWindow: 3 });
  assert.deepEqual(order, list.map((_, position) => position));
  assert.deepEqual(windows.flat(), [...windows.flat()].sort((a, b) => a - b));
});

test('the Trainer visits the order a streamed reader gives, and the plain shuffle without one', async () => {
  const size = 4;
  const count = 20;
  const seen = [];
  const reader = (indices) => {
    seen.push(...indices);
    return { xs: tf.zeros([indices.length, size, size, 1]), ys: classification.encodeLabels(indices.map((i) => (i % 2 ? 'a' : 'b')), ['a', 'b']) };
  };
  const streamed = Array.from({ length: count }, (_, i) => (i * 7) % count);
  const model = buildModel({ inputSize: size, channels: 1, width: 4, stages: [4], numClasses: 2, seed: 1 });
  const run = async (getBatch) => {
    seen.length = 0;
    const trainer = new Trainer({ model, task: classification, getBatch, trainCount: count, batchSize: 5, epochs: 1,
      seed: 3, yieldFn: () => {} });
    await trainer.run();
    trainer.optimizer.dispose();
    return [...seen];
  };
  assert.deepEqual(await run(Object.assign((indices) => reader(indices), { orderOf: () => streamed })), streamed);
  const plain = await run(reader);
  assert.notDeepEqual(plain, streamed);
  assert.deepEqual([...plain].sort((a, b) => a - b), [...streamed].sort((a, b) => a - b));
  model.dispose();
});
