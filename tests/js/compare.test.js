import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { curves, diffConfigs, flattenConfig } from '../../static/js/train/compare.js';

test('configs flatten into dotted keys; lists stay one value', () => {
  assert.deepEqual(flattenConfig({ lr: 0.001, model: { width: 16, stages: [32, 64] }, lrSchedule: null }),
    { lr: 0.001, 'model.width': 16, 'model.stages': '[32,64]', lrSchedule: null });
});

test('the diff lists differing settings first, and a key one run lacks as a difference', () => {
  const rows = diffConfigs([
    { lr: 0.001, epochs: 30, model: { width: 16 } },
    { lr: 0.01, epochs: 30, model: { width: 16 }, augment: { flip: true } },
    { lr: 0.001, epochs: 30, model: { width: 16 } },
  ]);
  assert.deepEqual(rows.map((r) => [r.key, r.differs]), [
    ['augment.flip', true], ['lr', true], ['epochs', false], ['model.width', false],
  ]);
  assert.deepEqual(rows.find((r) => r.key === 'lr').values, [0.001, 0.01, 0.001]);
  assert.deepEqual(rows[0].values, [undefined, true, undefined]);
});

test('curves overlay one series per run, by 1-based epoch, a resumed epoch counted once', () => {
  const runs = [
    { id: 'a', epochs: [{ epoch: 0, train_loss: 1 }, { epoch: 1, train_loss: 0.8 }, { epoch: 1, train_loss: 0.7 }] },
    { id: 'b', epochs: [{ epoch: 0, train_loss: 1.1 }, { epoch: 1 }] },
  ];
  assert.deepEqual(curves(runs, 'train_loss'), { a: [[1, 1], [2, 0.7]], b: [[1, 1.1], [2, null]] });
  assert.deepEqual(Object.keys(curves([runs[0], runs[0]], 'train_loss')), ['a', "a'"]);
});
