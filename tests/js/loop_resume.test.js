// The Trainer resumed mid-epoch (startStep): it trains exactly the batches of that epoch's order not yet trained.
import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../static/js/tf.js';
import { epochOrder } from '../../static/js/data/split.js';
import { planBatches } from '../../static/js/data/batches.js';
import { batchReader, makeTrainer, tinyModel, trainItems } from './stripes.js';

const SEED = 7;  // makeTrainer's
const BATCH = 8;  // makeTrainer's: 44 items make 6 steps, the last padded

/** Trains epoch 0 up to `stopAfter` steps, then a new Trainer on the same model and optimizer resumes there. */
async function stopAndResume({ stopAfter, epochs = 1 }) {
  const model = tinyModel();
  const optimizer = tf.train.adam(0.02);
  const before = [];
  const first = makeTrainer({
    model, optimizer, epochs, getBatch: batchReader(trainItems, before),
    onStep: (info) => {
      if (info.step === stopAfter - 1) first.stop();
    },
  });
  const stopped = await first.run();
  const after = [];
  const steps = [];
  const resumed = makeTrainer({
    model, optimizer, epochs, startEpoch: stopped.nextEpoch, startStep: stopped.nextStep,
    getBatch: batchReader(trainItems, after), onStep: (info) => steps.push(info),
  });
  const result = await resumed.run();
  return { model, optimizer, stopped, before, after, steps, result };
}

test('resumed at step k, the epoch trains exactly its remaining planned batches, in the same order', async () => {
  const { stopped, before, after, steps } = await stopAndResume({ stopAfter: 2, epochs: 2 });
  assert.equal(stopped.reason, 'stopped');
  assert.deepEqual([stopped.nextEpoch, stopped.nextStep], [0, 2]);
  const plan = planBatches(trainItems.length, BATCH, { order: epochOrder(trainItems.length, SEED, 0) });
  assert.deepEqual([...before, ...after.slice(0, plan.length - 2)], plan.map((batch) => batch.indices),
    'the batches before and after the resume are the epoch\'s plan, each once');
  assert.deepEqual(steps.filter((s) => s.epoch === 0).map((s) => s.step), [2, 3, 4, 5]);
  assert.deepEqual(steps.filter((s) => s.epoch === 1).map((s) => s.step), [0, 1, 2, 3, 4, 5], 'the next epoch is whole');
  assert.deepEqual(steps.map((s) => s.iteration), [3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 'the optimizer step count goes on');
  assert.deepEqual(steps.map((s) => s.indices), after, 'StepInfo names the batch it trained');
});

test('the resumed epoch\'s record says where it resumed; its means and speed cover the steps trained after', async () => {
  const { steps, result } = await stopAndResume({ stopAfter: 4, epochs: 2 });
  const [resumedEpoch, nextEpoch] = result.epochs;
  assert.equal(resumedEpoch.epoch, 0);
  assert.equal(resumedEpoch.resumed_at_step, 4);
  assert.ok(Number.isFinite(resumedEpoch.train_loss) && resumedEpoch.images_per_second > 0);
  assert.equal(steps.find((s) => s.epoch === 0 && s.step === 5).images, 8 + 4, 'images count from the resume (the last batch has 4 real rows)');
  assert.equal(resumedEpoch.iterations, 6);
  assert.ok(!('resumed_at_step' in nextEpoch));
  assert.equal(nextEpoch.iterations, 12);
});

test('a stop and a resume mid-epoch train the same weights as an uninterrupted run', async () => {
  const whole = makeTrainer({ model: tinyModel(), optimizer: tf.train.adam(0.02), epochs: 2 });
  await whole.run();
  const { model } = await stopAndResume({ stopAfter: 3, epochs: 2 });
  const values = (m) => m.getWeights().map((w) => Array.from(w.dataSync()));
  assert.deepEqual(values(model), values(whole.model));
});

test('run() again after a stop mid-epoch goes on from the next untrained step', async () => {
  const steps = [];
  const trainer = makeTrainer({
    epochs: 1,
    onStep: (info) => {
      steps.push(info.step);
      if (info.step === 1 && steps.length === 2) trainer.stop();
    },
  });
  assert.equal((await trainer.run()).reason, 'stopped');
  assert.deepEqual(trainer.position(), { epoch: 0, step: 2 });
  assert.equal((await trainer.run()).reason, 'done');
  assert.deepEqual(steps, [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(trainer.position(), { epoch: 1, step: 0 });
  assert.equal(trainer.history[0].resumed_at_step, 2);
});

test('a startStep that is no step of the start epoch is refused', () => {
  for (const [startStep, extra] of [[6, {}], [-1, {}], [1.5, {}], [1, { startEpoch: 3, epochs: 3 }]]) {
    assert.throws(() => makeTrainer({ startStep, ...extra }), /startStep must be a step of epoch/, String(startStep));
  }
  assert.throws(() => makeTrainer({ startStep: 5, padMode: 'drop' }), /startStep/, 'drop mode has 5 steps here');
  assert.doesNotThrow(() => makeTrainer({ startStep: 5 }));
});
