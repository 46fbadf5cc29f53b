import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_OVERFIT_IMAGES, OVERFIT_GOALS, OVERFIT_MAX_EPOCHS, OVERFIT_STALL_EPOCHS, OverfitSession, overfitMessage, overfitSubset,
} from '../../static/js/train/overfit.js';

const items = ['cat', 'dog', 'fox'].flatMap((label, c) => Array.from({ length: 80 }, (_, i) => ({ index: c * 80 + i, label })));

test('the subset has the asked size, every class nearly equally, reproducibly, in input order', () => {
  const subset = overfitSubset(items, 16, 1);
  assert.equal(subset.length, 16);
  const counts = ['cat', 'dog', 'fox'].map((label) => subset.filter((item) => item.label === label).length);
  assert.deepEqual(counts.sort(), [5, 5, 6]);
  assert.deepEqual(overfitSubset(items, 16, 1), subset);
  assert.notDeepEqual(overfitSubset(items, 16, 2), subset);
  assert.deepEqual(subset.map((item) => item.index), [...subset.map((item) => item.index)].sort((a, b) => a - b));
  assert.equal(overfitSubset(items.slice(0, 5), 16, 1).length, 5, 'fewer items than asked: all of them');
});

test('a sanity session trains the subset in one batch, at a fixed rate, unaugmented, and is marked sanity', () => {
  const session = new OverfitSession({ dataset: 'shapes', images: 16, config: { epochs: 3, batchSize: 32, augment: { flip: true } } });
  assert.equal(session.kind, 'sanity');
  assert.equal(session.config.batchSize, 16);
  assert.equal(session.config.epochs, OVERFIT_MAX_EPOCHS);
  assert.equal(session.config.lrSchedule, null);
  assert.equal(session.config.augment.flip, false);
  assert.equal(session.config.overfit.images, 16);
  const split = session.subset({ train: items.slice(0, 200), val: items.slice(200) });
  assert.equal(split.train.length, 16);
  assert.equal(split.val.length, 0);
  assert.ok(split.train.some((item) => item.label === 'fox'), 'the validation items are candidates too');
  assert.equal(session.endAfter({ train_loss: 0.2 }), null);
  assert.equal(session.endAfter({ train_loss: 0.001 }), 'converged');
  assert.throws(() => new OverfitSession({ dataset: 'shapes', images: MAX_OVERFIT_IMAGES + 1 }), /1 to 64 images/);
});

test('the verdict says plainly when the model could not overfit, and points at data or loss', () => {
  const failed = overfitMessage({ converged: false, images: 16, epochs: 300, finalLoss: 1.09, correct: 6, targetLoss: 0.05 });
  assert.match(failed, /could NOT overfit 16 images/);
  assert.match(failed, /6\/16/);
  assert.match(failed, /bug in the data .* or in the loss/);
  const passed = overfitMessage({ converged: true, images: 16, epochs: 80, finalLoss: 0.01, correct: 16, targetLoss: 0.05 });
  assert.match(passed, /memorised 16 images: loss 0\.0100 after 80 epochs, 16\/16/);
});

test('a loss that stops falling ends the sanity run early as not converged; a slow start does not', () => {
  const session = new OverfitSession({ dataset: 'shapes' });
  const flat = Array.from({ length: 200 }, (_, epoch) => session.endAfter({ epoch, train_loss: 1.0986 - epoch * 1e-5 }));
  assert.equal(flat.indexOf('not_converged'), OVERFIT_STALL_EPOCHS);
  const healthy = new OverfitSession({ dataset: 'shapes' });
  // 20 epochs on the ln(3) plateau, then the fall the reference CNN shows on the sample.
  const losses = Array.from({ length: 100 }, (_, e) => (e < 20 ? 1.0986 - e * 1e-4 : 1.0986 * Math.exp(-(e - 20) / 12)));
  const verdicts = losses.map((loss, epoch) => healthy.endAfter({ epoch, train_loss: loss }));
  assert.equal(verdicts.filter(Boolean)[0], 'converged');
});

test('a detector is judged by its boxes and landmarks by their NME, not by a loss on their own scale', () => {
  const detector = new OverfitSession({ dataset: 'faces' });
  detector.config = { ...detector.config, task: 'detection' };
  assert.equal(detector.endAfter({ train_loss: 0.001, train_iou: 0.5 }), null, 'a small loss is not memorised boxes');
  assert.equal(detector.endAfter({ train_loss: 5.3, train_iou: 0.85 }), 'converged', 'a rising loss with boxes in place is');
  const points = new OverfitSession({ dataset: 'points' });
  points.config = { ...points.config, task: 'landmarks' };
  assert.equal(points.endAfter({ train_loss: 0.0099, train_nme: 0.11 }), null);
  assert.equal(points.endAfter({ train_loss: 0.0001, train_nme: 0.008 }), 'converged');
  const stuck = Array.from({ length: 100 }, (_, epoch) => detector.endAfter({ epoch, train_iou: 0.3 }));
  assert.equal(stuck.indexOf('not_converged'), OVERFIT_STALL_EPOCHS - 1, 'boxes that stop improving end it early');
  const message = overfitMessage({ converged: false, images: 16, epochs: 85, finalLoss: 0.42, correct: null, targetLoss: 0.8,
    stalled: true, goal: OVERFIT_GOALS.detection });
  assert.match(message, /mean IoU 0\.4200 after 85 epochs, no longer rising \(target 0\.8\), judged by the mean IoU/);
});
