import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PLATEAU_DEFAULTS, LrController, describeLrSchedule, resolveLrSchedule } from '../../static/js/train/schedule.js';
import { resolveRunConfig } from '../../static/js/train/session.js';

test('a run config records the full rule it trains with, so the run page can show it', () => {
  const config = resolveRunConfig({});
  assert.deepEqual(config.lrSchedule, { factor: 0.1, patience: 3, minDelta: 1e-4, minLr: 1e-6, oscillations: 4, cooldown: 0 });
  assert.equal(resolveRunConfig({ lrSchedule: false }).lrSchedule, null);
  assert.deepEqual(resolveRunConfig({ lrSchedule: { patience: 5 } }).lrSchedule, { ...PLATEAU_DEFAULTS, patience: 5 });
  assert.throws(() => resolveRunConfig({ lrSchedule: { factor: 3 } }), /factor/);
  assert.deepEqual(resolveRunConfig({ lrSchedule: config.lrSchedule }).lrSchedule, config.lrSchedule, 'resolving twice changes nothing');
});

test('the recorded rule behaves as the default one: x0.1 after 3 flat epochs', () => {
  const controller = new LrController({ lr: 0.001, plateau: resolveLrSchedule(true) });
  const changed = [1.0, 0.9, 0.9, 0.9, 0.9].map((loss, epoch) => controller.endEpoch(epoch, loss).changed);
  assert.deepEqual(changed, [false, false, false, false, true]);
  assert.ok(Math.abs(controller.lr - 0.0001) < 1e-12);
});

test('the rule reads as a sentence with its numbers', () => {
  const text = describeLrSchedule(resolveLrSchedule(true));
  assert.match(text, /by 0\.1 .* more than 0\.0001 for 3 epochs.* 4 times; never below 0\.000001/);
  assert.match(describeLrSchedule(null), /fixed/);
});
