import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PLATEAU_DEFAULTS, LrController, describeLrSchedule, resolveLrSchedule } from '../../static/js/train/schedule.js';
import { resolveRunConfig } from '../../static/js/train/session.js';

test('a run config records the full rule it trains with, so the run page can show it', () => {
  const config = resolveRunConfig({});
  assert.deepEqual(config.lrSchedule, { factor: 0.1, armAfter: 0.1, smoothing: 0.5, minDelta: 0.01, patience: 3,
    patienceSteps: 60, oscillations: 4, minLrFactor: 0.01, cooldown: 0 });
  assert.equal(resolveRunConfig({ lrSchedule: false }).lrSchedule, null);
  assert.deepEqual(resolveRunConfig({ lrSchedule: { patience: 5 } }).lrSchedule, { ...PLATEAU_DEFAULTS, patience: 5 });
  assert.throws(() => resolveRunConfig({ lrSchedule: { factor: 3 } }), /factor/);
  assert.deepEqual(resolveRunConfig({ lrSchedule: config.lrSchedule }).lrSchedule, config.lrSchedule, 'resolving twice changes nothing');
});

test('the recorded rule behaves as the default one: with 20 steps an epoch, x0.1 once the smoothed loss is flat 3 epochs', () => {
  const controller = new LrController({ lr: 0.001, plateau: resolveLrSchedule(true), stepsPerEpoch: 20 });
  const losses = [1.0, 0.7, ...Array(10).fill(0.5)];
  const changed = losses.flatMap((loss, epoch) => (controller.endEpoch(epoch, loss).changed ? [epoch] : []));
  // smoothed (EMA 0.5): 1, .85 (armed), .675, .59, .54, .52, .51, .506 (last gain over 1%), then 3 flat epochs
  assert.deepEqual(changed, [10]);
  assert.ok(Math.abs(controller.lr - 0.0001) < 1e-12);
});

test('the rule reads as a sentence with its numbers', () => {
  const text = describeLrSchedule(resolveLrSchedule(true));
  assert.match(text, /10% below its start, multiply the lr by 0\.1 .* more than 1% for 3 epochs \(and at least 60 steps\).* 4 times; never below 1% of the starting lr/);
  assert.match(describeLrSchedule(null), /fixed/);
});
