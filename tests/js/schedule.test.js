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

/** A loss that falls 30% in 3 epochs (arming the rule), then the given tail. */
const ARMING = [1.0, 0.8, 0.6, 0.5];

test('a loss stuck at its start (ln 3 on a small set) never lowers the lr, however long', () => {
  // The old rule cut x0.1 at epochs 4, 7, 10 and 13 of such a run, down to 1e-6, before the model ever moved.
  const controller = new LrController({ lr: 0.001, plateau: {}, stepsPerEpoch: 3 });
  assert.deepEqual(changesFor(controller, Array(40).fill(Math.log(3))), []);
  assert.equal(controller.lr, 0.001);
  assert.equal(controller.plateau.armed, false);
});

test('the rule arms once the smoothed loss is armAfter below its start, and records that decision', () => {
  const controller = new LrController({ lr: 0.001, plateau: { armAfter: 0.1, smoothing: 0.5 } });
  const decisions = [1.0, 0.95, 0.8, 0.7].map((loss, epoch) => controller.endEpoch(epoch, loss));
  // smoothed: 1, 0.975, 0.8875 (> 0.9 · 1? no: 0.8875 < 0.9) → armed after epoch 2
  assert.deepEqual(decisions.map((d) => d.reason !== null), [false, false, true, false]);
  assert.match(decisions[2].reason, /^armed/);
  assert.equal(decisions[2].changed, false);
  assert.deepEqual(controller.history.map((h) => h.epoch), [0, 3], 'the arming is in the history, at the same lr');
});

test('once armed, a plateau lowers the lr x0.1 after `patience` epochs without improvement', () => {
  const controller = new LrController({ lr: 0.001, plateau: { patience: 3, patienceSteps: 0, oscillations: 10, smoothing: 0 } });
  const losses = [...ARMING, 0.5, 0.5, 0.5, 0.5];
  const changes = changesFor(controller, losses);
  assert.equal(changes.length, 1);
  close(controller.lr, 0.0001);
  assert.match(controller.history.at(-1).reason, /^plateau/);
  assert.equal(controller.history.at(-1).epoch, changes[0] + 1, 'the new rate applies from the next epoch');
});

test('a partial epoch\'s loss (resumed mid-way, no validation) is not judged: no false best, no plateau step', () => {
  const rule = { patience: 2, patienceSteps: 0, oscillations: 10, smoothing: 0 };
  const judged = new LrController({ lr: 0.001, plateau: rule });
  const skipped = new LrController({ lr: 0.001, plateau: rule });
  changesFor(judged, ARMING);
  changesFor(skipped, ARMING);
  // Epoch 4 resumed at a late step: its last steps averaged 0.3, lower than a whole epoch at this point would be.
  judged.endEpoch(4, 0.3);
  const decision = skipped.endEpoch(4, 0.3, { partial: true });
  assert.deepEqual([decision.changed, decision.lr], [false, 0.001]);
  assert.match(decision.reason, /^not judged/);
  assert.equal(skipped.epoch, 5);
  // Whole epochs at 0.45 are an improvement on 0.5: the judged rule, fooled by 0.3, cuts the rate; the other does not.
  assert.deepEqual([5, 6].filter((epoch) => judged.endEpoch(epoch, 0.45).changed), [6]);
  assert.deepEqual([5, 6].filter((epoch) => skipped.endEpoch(epoch, 0.45, {}).changed), []);
});

test('the patience grows when an epoch has few steps (small sets), and stays `patience` when it has many', () => {
  const few = new LrController({ lr: 0.001, plateau: { patience: 3, patienceSteps: 60 }, stepsPerEpoch: 3 });
  const many = new LrController({ lr: 0.001, plateau: { patience: 3, patienceSteps: 60 }, stepsPerEpoch: 100 });
  assert.equal(few.plateau.effectivePatience, 20);
  assert.equal(many.plateau.effectivePatience, 3);
  const flatTail = [...ARMING, ...Array(12).fill(0.5)];
  assert.deepEqual(changesFor(few, flatTail), [], '12 flat epochs of 3 steps are 36 steps: not yet a plateau');
  assert.equal(changesFor(many, flatTail).length, 2);
});

test('improvements smaller than minDelta (relative) do not count as progress', () => {
  const controller = new LrController({ lr: 0.01, plateau: { patience: 2, patienceSteps: 0, minDelta: 0.05, oscillations: 10, smoothing: 0 } });
  assert.deepEqual(changesFor(controller, [1.0, 0.5, 0.49, 0.48]), [3]);
});

test('a steadily falling loss never lowers the lr', () => {
  const controller = new LrController({ lr: 0.001, plateau: { patience: 2, patienceSteps: 0 } });
  assert.deepEqual(changesFor(controller, [1, 0.8, 0.6, 0.5, 0.45, 0.41, 0.38, 0.35, 0.32, 0.3]), []);
  assert.equal(controller.lr, 0.001);
});

test('one noisy epoch does not reset the wait: the rule watches the smoothed loss', () => {
  const controller = new LrController({ lr: 0.001, plateau: { patience: 3, patienceSteps: 0, oscillations: 10 } });
  // a single lucky epoch (0.3) pulls the smoothed loss down once; flat epochs after it are still a plateau
  const changes = changesFor(controller, [...ARMING, 0.5, 0.3, 0.5, 0.5, 0.5, 0.5, 0.5]);
  assert.equal(changes.length, 1);
});

test('a loss going up and down alternately lowers the lr once armed', () => {
  const controller = new LrController({ lr: 0.001, plateau: { patience: 100, oscillations: 4 } });
  // It cuts once the smoothed loss stops reaching new lows (two epochs here), not at the first alternations.
  const changes = changesFor(controller, [...ARMING, 0.6, 0.45, 0.6, 0.45, 0.6, 0.45, 0.6, 0.45]);
  assert.equal(changes.length, 1);
  assert.match(controller.history.at(-1).reason, /^oscillation/);
  const early = new LrController({ lr: 0.001, plateau: { patience: 100, oscillations: 4 } });
  assert.deepEqual(changesFor(early, [1.0, 1.05, 0.98, 1.04, 0.99, 1.05]), [], 'no cut while still at the start');
  const falling = new LrController({ lr: 0.001, plateau: { patience: 100, oscillations: 4 } });
  assert.deepEqual(changesFor(falling, [...ARMING, 0.6, 0.5, 0.55, 0.45, 0.5, 0.4, 0.45, 0.35, 0.4]), [],
    'a zig-zag that keeps reaching new lows is not an oscillation');
});

test('after a reduction the patience starts over, and the lr never goes below minLrFactor of the start', () => {
  const controller = new LrController({ lr: 0.001, plateau: { patience: 1, patienceSteps: 0, oscillations: 10, minLrFactor: 0.05, smoothing: 0 } });
  changesFor(controller, [...ARMING, ...Array(6).fill(0.5)]);
  close(controller.lr, 0.00005);
  assert.equal(controller.history.filter((h) => h.lr < 0.001).length, 2, 'x0.1, then the floor');
});

test('an absolute minLr recorded by an older run is still honoured', () => {
  const controller = new LrController({ lr: 0.001, plateau: { patience: 1, patienceSteps: 0, minLr: 0.0002, oscillations: 10, smoothing: 0 } });
  changesFor(controller, [...ARMING, ...Array(6).fill(0.5)]);
  close(controller.lr, 0.0002);
});

test('a user change is recorded with its reason and resets the rule', () => {
  const controller = new LrController({ lr: 0.001, plateau: { patience: 2, patienceSteps: 0, oscillations: 10 } });
  changesFor(controller, [...ARMING, 0.5]);
  const decision = controller.set(0.0003, 'user');
  assert.deepEqual(decision, { changed: true, lr: 0.0003, reason: 'user' });
  assert.deepEqual(controller.history.at(-1), { epoch: 5, lr: 0.0003, reason: 'user' });
  assert.equal(controller.endEpoch(5, 0.5).changed, false, 'the wait counter restarted');
  assert.throws(() => controller.set(-1), /positive/);
});

test('a fixed schedule (plateau null) never changes by itself', () => {
  const controller = new LrController({ lr: 0.01, plateau: null });
  assert.deepEqual(changesFor(controller, [1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]), []);
});

test('state() and restore() carry the rule across a resume', () => {
  const rule = { patience: 3, patienceSteps: 0, oscillations: 10, smoothing: 0 };
  const first = new LrController({ lr: 0.001, plateau: rule });
  changesFor(first, [...ARMING, 0.5, 0.5]);
  const resumed = new LrController({ lr: 0.001, plateau: rule });
  resumed.restore(JSON.parse(JSON.stringify(first.state())));
  assert.equal(resumed.plateau.armed, true);
  assert.equal(resumed.endEpoch(6, 0.5).changed, true);
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
  assert.throws(() => new ReduceOnPlateau({ armAfter: 1 }), /armAfter/);
  assert.throws(() => new ReduceOnPlateau({ minLrFactor: 0 }), /minLrFactor/);
});
