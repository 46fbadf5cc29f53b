import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../static/js/tf.js';
import { LrController, ReduceOnPlateau } from '../../static/js/train/schedule.js';

const close = (a, b) => assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

/** Feeds epoch losses; returns the epochs (0-based) after which the lr changed. */
function changesFor(controller, losses) {
  return losses.flatMap((loss, epoch) => (controller.endEpoch(epoch, loss).changed ? [epoch] : []));
}

test('a plateau lowers the lr x0.1 after exactly `patience` epochs without improvement', () => {
  const controller = new LrController({ lr: 0.001, plateau: { patience: 3, oscillations: 10 } });
  assert.deepEqual(changesFor(controller, [1.0, 0.9, 0.9, 0.95, 0.9]), [4]);
  close(controller.lr, 0.0001);
  assert.equal(controller.history.length, 2);
  assert.equal(controller.history[1].epoch, 5, 'the new rate applies from the next epoch');
  assert.match(controller.history[1].reason, /^plateau/);
});

test('improvements smaller than minDelta do not count as progress', () => {
  const controller = new LrController({ lr: 0.01, plateau: { patience: 2, minDelta: 0.01, oscillations: 10 } });
  assert.deepEqual(changesFor(controller, [1.0, 0.995, 0.991]), [2]);
});

test('a steadily falling loss never lowers the lr', () => {
  const controller = new LrController({ lr: 0.001, plateau: { patience: 2 } });
  assert.deepEqual(changesFor(controller, [1, 0.8, 0.6, 0.5, 0.45, 0.41, 0.38]), []);
  assert.equal(controller.lr, 0.001);
});

test('a loss going up and down alternately lowers the lr once the run is long enough', () => {
  const controller = new LrController({ lr: 0.001, plateau: { patience: 100, oscillations: 4 } });
  // moves: down, up, down, up → the 4th alternating move is after epoch 4
  assert.deepEqual(changesFor(controller, [1.0, 0.8, 0.9, 0.7, 0.8]), [4]);
  assert.match(controller.history[1].reason, /^oscillation/);
  const noisyButMonotone = new LrController({ lr: 0.001, plateau: { patience: 100, oscillations: 4 } });
  assert.deepEqual(changesFor(noisyButMonotone, [1.0, 0.8, 0.9, 0.7, 0.6, 0.5]), []);
});

test('after a reduction the patience starts over, and the lr never goes below minLr', () => {
  const controller = new LrController({ lr: 0.001, plateau: { patience: 1, minLr: 0.00005, oscillations: 10 } });
  assert.deepEqual(changesFor(controller, [1, 1, 1, 1, 1]), [1, 2]);
  close(controller.lr, 0.00005);
  assert.deepEqual(controller.history.map((h) => h.epoch), [0, 2, 3]);
});

test('a user change is recorded with its reason and resets the rule', () => {
  const controller = new LrController({ lr: 0.001, plateau: { patience: 2, oscillations: 10 } });
  controller.endEpoch(0, 1.0);
  controller.endEpoch(1, 1.0);
  const decision = controller.set(0.0003, 'user');
  assert.deepEqual(decision, { changed: true, lr: 0.0003, reason: 'user' });
  assert.deepEqual(controller.history.at(-1), { epoch: 2, lr: 0.0003, reason: 'user' });
  assert.equal(controller.endEpoch(2, 1.0).changed, false, 'the wait counter restarted');
  assert.throws(() => controller.set(-1), /positive/);
});

test('a fixed schedule (plateau null) never changes by itself', () => {
  const controller = new LrController({ lr: 0.01, plateau: null });
  assert.deepEqual(changesFor(controller, [1, 1, 1, 1, 1, 1]), []);
});

test('state() and restore() carry the rule across a resume', () => {
  const first = new LrController({ lr: 0.001, plateau: { patience: 3, oscillations: 10 } });
  changesFor(first, [1.0, 1.0, 1.0]);
  const resumed = new LrController({ lr: 0.001, plateau: { patience: 3, oscillations: 10 } });
  resumed.restore(JSON.parse(JSON.stringify(first.state())));
  assert.equal(resumed.endEpoch(3, 1.0).changed, true);
});

/** The size of the second Adam step on x^2 from x = 1, with the rate changed in between or not. */
async function secondStep(optimizer, controller, newLr) {
  const x = tf.variable(tf.scalar(1));
  controller.applyTo(optimizer);
  optimizer.minimize(() => x.square());
  const afterFirst = (await x.data())[0];
  if (newLr) controller.set(newLr);
  controller.applyTo(optimizer);
  optimizer.minimize(() => x.square());
  const afterSecond = (await x.data())[0];
  x.dispose();
  return afterFirst - afterSecond;
}

test('a changed lr takes effect on the next Adam step (and SGD)', async () => {
  const same = await secondStep(tf.train.adam(0.1), new LrController({ lr: 0.1 }), null);
  const lowered = await secondStep(tf.train.adam(0.1), new LrController({ lr: 0.1 }), 0.01);
  assert.ok(Math.abs(same - 0.1) < 0.01, `unchanged step ${same}`);
  assert.ok(Math.abs(lowered - 0.01) < 0.001, `lowered step ${lowered}`);
  const sgdSame = await secondStep(tf.train.sgd(0.1), new LrController({ lr: 0.1 }), null);
  const sgdLowered = await secondStep(tf.train.sgd(0.1), new LrController({ lr: 0.1 }), 0.01);
  assert.ok(Math.abs(sgdLowered / sgdSame - 0.1) < 1e-4, `sgd ratio ${sgdLowered / sgdSame}`);
});

test('ReduceOnPlateau refuses nonsense options', () => {
  assert.throws(() => new ReduceOnPlateau({ factor: 2 }), /factor/);
  assert.throws(() => new ReduceOnPlateau({ patience: 0 }), /patience/);
});
