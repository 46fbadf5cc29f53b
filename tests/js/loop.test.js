import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../static/js/tf.js';
import { classification } from '../../static/js/model/tasks.js';
import { CLASSES, SIZE, batchReader, makeTrainer, tinyModel, trainItems, valItems } from './stripes.js';

test('training learns the stripes: loss falls, accuracy rises, no tensors leak', async () => {
  const seenTrain = [];
  const seenVal = [];
  const trainer = makeTrainer({
    epochs: 8,
    getBatch: batchReader(trainItems, seenTrain),
    valCount: valItems.length,
    getValBatch: batchReader(valItems, seenVal),
  });
  const result = await trainer.run();
  const epochs = result.epochs;
  assert.equal(result.reason, 'done');
  assert.equal(epochs.length, 8);
  const first = epochs[0];
  const last = epochs.at(-1);
  assert.ok(last.train_loss < 0.5 * first.train_loss, `train loss ${first.train_loss} → ${last.train_loss}`);
  assert.ok(last.val_loss < first.val_loss, `val loss ${first.val_loss} → ${last.val_loss}`);
  assert.ok(last.train_accuracy >= 0.9, `train accuracy ${last.train_accuracy}`);
  assert.ok(last.val_accuracy >= 0.9, `val accuracy ${last.val_accuracy}`);
  assert.ok(last.train_accuracy > first.train_accuracy);
  assert.equal(epochs[1].num_tensors, epochs[0].num_tensors, 'tensor count grew between epochs');
  assert.equal(last.num_tensors, epochs[0].num_tensors);
  assert.ok(last.images_per_second > 0 && last.seconds > 0);
  assert.equal(last.iterations, 8 * 6);
  for (const key of ['epoch', 'train_loss', 'train_accuracy', 'val_loss', 'val_accuracy', 'lr', 'images_per_second',
    'num_tensors', 'num_bytes', 'seconds']) {
    assert.ok(key in last, key);
  }
  // Fixed shapes: every batch, train or val, has 8 rows.
  assert.ok([...seenTrain, ...seenVal].every((indices) => indices.length === 8));
  assert.equal(seenVal.length, 8 * 3);
});

test('each epoch visits every item once, in a new order', async () => {
  const seen = [];
  await makeTrainer({ epochs: 2, getBatch: batchReader(trainItems, seen) }).run();
  const epochRows = [seen.slice(0, 6).flat(), seen.slice(6).flat()];
  for (const rows of epochRows) {
    assert.deepEqual([...new Set(rows)].sort((a, b) => a - b), trainItems.map((_, i) => i));
  }
  assert.notDeepEqual(epochRows[0].slice(0, 44), epochRows[1].slice(0, 44));
});

test('losses are read every readEvery steps, not every step', async () => {
  const infos = [];
  await makeTrainer({ epochs: 1, readEvery: 2, onStep: (info) => infos.push(info) }).run();
  assert.deepEqual(infos.map((info) => info.loss !== null), [false, true, false, true, false, true]);
  assert.ok(infos.filter((info) => info.loss !== null).every((info) => Number.isFinite(info.loss)));
  assert.deepEqual(infos.map((info) => info.images), [8, 16, 24, 32, 40, 44]);
});

test('stop() ends the run after the current step and leaves no tensors behind', async () => {
  const infos = [];
  const trainer = makeTrainer({
    epochs: 50,
    onStep: (info) => {
      infos.push(info);
      if (info.epoch === 1 && info.step === 2) trainer.stop();
    },
  });
  const result = await trainer.run();
  assert.equal(result.reason, 'stopped');
  assert.equal(result.nextEpoch, 1, 'the unfinished epoch is the one to go on with');
  assert.equal(result.nextStep, 3, 'from its first untrained step');
  assert.equal(result.epochs.length, 1);
  assert.equal(infos.length, 6 + 3);
  assert.equal(tf.memory().numTensors, result.epochs[0].num_tensors);
  assert.equal(trainer.state, 'idle');
});

test('pause() holds the loop between steps until resume()', async () => {
  const steps = [];
  const trainer = makeTrainer({ epochs: 1, onStep: (info) => steps.push(info.step) });
  const running = trainer.run();
  await trainer.pause();
  assert.equal(trainer.state, 'paused');
  const seen = steps.length;
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(steps.length, seen, 'a step ran while paused');
  trainer.resume();
  assert.equal((await running).reason, 'done');
  assert.equal(steps.length, 6);
});

test('resuming with the same optimizer continues its step count', async () => {
  const model = tinyModel();
  const optimizer = tf.train.adam(0.02);
  await makeTrainer({ model, optimizer, epochs: 2 }).run();
  assert.equal(optimizer.iterations, 12);
  const iterations = [];
  const resumed = makeTrainer({
    model, optimizer, startEpoch: 2, epochs: 3, onStep: (info) => iterations.push(info.iteration),
  });
  const result = await resumed.run();
  assert.deepEqual(result.epochs.map((stats) => stats.epoch), [2]);
  assert.deepEqual(iterations, [13, 14, 15, 16, 17, 18]);
});

test('a learning-rate change mid-run reaches the optimizer and the epoch log', async () => {
  const trainer = makeTrainer({
    epochs: 1,
    onStep: (info) => {
      if (info.step === 0) trainer.lr.set(0.005, 'user');
    },
  });
  const { epochs } = await trainer.run();
  assert.equal(trainer.optimizer.learningRate, 0.005);
  assert.equal(epochs[0].lr, 0.005);
  assert.deepEqual(trainer.lr.history.at(-1), { epoch: 0, lr: 0.005, reason: 'user' });
});

test('a loss that turns NaN ends the run with reason nan', async () => {
  const broken = (indices) => ({
    xs: tf.fill([indices.length, SIZE, SIZE, 1], NaN),
    ys: classification.encodeLabels(indices.map(() => 0), CLASSES),
  });
  const result = await makeTrainer({ epochs: 5, getBatch: broken }).run();
  assert.equal(result.reason, 'nan');
  assert.equal(result.epochs.length, 1);
});
