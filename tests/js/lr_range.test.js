import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../static/js/tf.js';
import { createRandom } from '../../static/js/data/random.js';
import { classification } from '../../static/js/model/tasks.js';
import { Trainer } from '../../static/js/train/loop.js';
import { LrController } from '../../static/js/train/schedule.js';
import {
  divergenceIndex, runLrRangeTest, smoothLosses, suggestLr, sweepRates,
} from '../../static/js/train/lr_range.js';

const close = (a, b, tolerance = 1e-12) => assert.ok(Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

/** A textbook range-test curve over x = log10(lr): flat, a fall centred on lr 1e-2, a floor, then an explosion. */
function textbookLoss(lr) {
  const x = Math.log10(lr);
  const fall = 2 - 1.5 / (1 + Math.exp(-4 * (x + 2)));
  return x < -0.5 ? fall : fall * Math.exp(6 * (x + 0.5));
}

test('the sweep is geometric from minLr to maxLr', () => {
  const rates = sweepRates({ minLr: 1e-5, maxLr: 1, steps: 11 });
  assert.equal(rates.length, 11);
  close(rates[0], 1e-5);
  close(rates[10], 1);
  for (let i = 1; i < rates.length; i++) close(rates[i] / rates[i - 1], 10 ** 0.5, 1e-9);
  assert.throws(() => sweepRates({ minLr: 1, maxLr: 0.1, steps: 10 }), /minLr < maxLr/);
});

test('smoothing is an EMA with bias correction: a constant loss stays that constant from the first point', () => {
  smoothLosses([2, 2, 2, 2], 0.9).forEach((value) => close(value, 2, 1e-12));
  const [first, second] = smoothLosses([1, 3], 0.5);
  close(first, 1);
  close(second, (0.5 * 0.5 * 1 + 0.5 * 3) / (1 - 0.25));
});

test('divergence is the first point above factor x the best so far (or not finite)', () => {
  const rule = { divergeFactor: 4, riseFactor: Infinity };
  assert.equal(divergenceIndex([3, 2, 1, 2, 3.9, 4.1], rule), 5);
  assert.equal(divergenceIndex([3, 2, NaN], rule), 2);
  assert.equal(divergenceIndex([3, 2, 1], rule), -1);
});

test('a bounded loss that climbs well above where it started has diverged too, though it never reaches 4x its best', () => {
  // The shape of a saturated softmax: from 1.75 down to 1.08, then up to a ceiling near 3.6 (< 4 x 1.08).
  const bounded = [1.75, 1.6, 1.4, 1.2, 1.1, 1.08, 1.3, 2.0, 2.7, 3.3, 3.6, 3.6];
  assert.equal(divergenceIndex(bounded, { riseFactor: Infinity }), -1);
  assert.equal(divergenceIndex(bounded), 8);                       // the first point above 1.5 x 1.75
  // Before skipStart a noisy first batch may sit above the start without ending the sweep.
  assert.equal(divergenceIndex([1, 1.6, 1.2, 1.1], { skipStart: 2 }), -1);
});

test('the suggestion is the steepest fall: lr 1e-2 on the textbook curve, the sweep stopping where it explodes', () => {
  const points = sweepRates({ minLr: 1e-5, maxLr: 10, steps: 121 }).map((lr) => ({ lr, loss: textbookLoss(lr) }));
  const exact = suggestLr(points, { smoothing: 0 });
  assert.ok(Math.abs(Math.log10(exact.suggested_lr) + 2) <= 0.05, `suggested ${exact.suggested_lr}`);
  assert.ok(exact.diverged_at_lr > 10 ** -0.5 && exact.diverged_at_lr < 10, `diverged at ${exact.diverged_at_lr}`);
  assert.ok(exact.min_loss_lr > 0.01 && exact.min_loss_lr < exact.diverged_at_lr);
  // With the default smoothing the EMA lags a few steps: still on the falling stretch, before the minimum.
  const smoothed = suggestLr(points);
  assert.ok(smoothed.suggested_lr >= 1e-2 && smoothed.suggested_lr < 10 ** -1.5, `suggested ${smoothed.suggested_lr}`);
  assert.ok(smoothed.suggested_lr < smoothed.min_loss_lr);
  assert.equal(smoothed.points.length, 121);
  assert.ok(smoothed.points.every((p) => 'lr' in p && 'loss' in p && 'smoothed' in p));
});

test('a loss that never falls gives no suggestion and says so; so does one that explodes at once', () => {
  const flat = sweepRates({ minLr: 1e-5, maxLr: 1, steps: 50 }).map((lr, i) => ({ lr, loss: 1 + i * 1e-3 }));
  const none = suggestLr(flat);
  assert.equal(none.suggested_lr, null);
  assert.match(none.reason, /never fell/);
  const exploding = [{ lr: 1e-5, loss: 1 }, { lr: 1e-4, loss: 100 }, { lr: 1e-3, loss: 1e4 }];
  assert.match(suggestLr(exploding).reason, /diverged at once/);
});

test('the range test trains each step at the next rate and stops once the loss diverges', async () => {
  const random = createRandom(3);
  const count = 64;
  const xs = Array.from({ length: count }, (_, i) => [i % 2 ? 1 : -1, 0].map((v) => v + 4 * (random() - 0.5)));  // overlapping classes: big steps must hurt
  const kernelInitializer = tf.initializers.glorotNormal({ seed: 5 });   // seeded: tfjs draws from Math.random otherwise
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 2, activation: 'softmax', kernelInitializer })] });
  const optimizer = tf.train.adam(1e-3);
  const appliedRates = [];
  const before = tf.memory().numTensors;
  const result = await runLrRangeTest((onStep) => new Trainer({
    model, task: classification, optimizer, lr: new LrController({ plateau: null }), batchSize: 16, trainCount: count,
    epochs: 1000, readEvery: 1, seed: 1,
    getBatch: (indices) => {
      appliedRates.push(optimizer.learningRate);
      return { xs: tf.tensor2d(indices.map((i) => xs[i])), ys: classification.encodeLabels(indices.map((i) => i % 2), [0, 1]) };
    },
    onStep,
  }), { minLr: 1e-4, maxLr: 1e4, steps: 60 });
  const rates = sweepRates({ minLr: 1e-4, maxLr: 1e4, steps: 60 });
  assert.ok(result.steps_run >= 10 && result.steps_run <= 60, `ran ${result.steps_run} steps`);
  appliedRates.slice(0, result.steps_run).forEach((lr, i) => close(lr, rates[i], 1e-9));
  assert.deepEqual(result.points.map((p) => p.lr), rates.slice(0, result.steps_run));
  assert.ok(result.diverged_at_lr > 1 && result.steps_run < 60, `diverged at ${result.diverged_at_lr}`);
  assert.equal(result.points.at(-1).lr, result.diverged_at_lr, 'the sweep went on after diverging');
  assert.ok(result.suggested_lr > 1e-4 && result.suggested_lr < result.diverged_at_lr, `suggested ${result.suggested_lr}`);
  model.dispose();
  optimizer.dispose();
  assert.ok(tf.memory().numTensors <= before, 'the range test left tensors behind');
});
