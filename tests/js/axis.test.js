import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatRate, formatTick, formatValue, linearTicks, logTicks } from '../../static/js/ui/axis.js';

test('an epoch axis gets whole, round ticks, not "1.00 … 60.0"', () => {
  const { ticks, step } = linearTicks(1, 60, { integer: true, widen: false, count: 6 });
  assert.deepEqual(ticks, [10, 20, 30, 40, 50, 60]);
  assert.deepEqual(ticks.map((t) => formatTick(t, step)), ['10', '20', '30', '40', '50', '60']);
});

test('a flat loss gets distinct ticks around it, not "1.10 / 1.10"', () => {
  const { ticks, step } = linearTicks(1.1, 1.1);
  const labels = ticks.map((t) => formatTick(t, step));
  assert.ok(ticks.length >= 3 && new Set(labels).size === labels.length, labels.join(' '));
  assert.ok(ticks[0] < 1.1 && ticks.at(-1) > 1.1);
});

test('a y axis widens to nice round ends, labels carry the decimals the step needs', () => {
  const { ticks, step } = linearTicks(0.0123, 1.0987);
  assert.deepEqual(ticks.map((t) => formatTick(t, step)), ['0', '0.25', '0.50', '0.75', '1.00', '1.25']);
  const big = linearTicks(1e5, 3.4e7);
  assert.deepEqual(big.ticks.map((t) => formatTick(t, big.step)), ['0', '10M', '20M', '30M', '40M']);
});

test('log ticks are decades, with 2 and 5 in between on a short range', () => {
  assert.deepEqual(logTicks(1e-5, 1).ticks, [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1]);
  assert.deepEqual(logTicks(1e-4, 1e-3).ticks, [1e-4, 2e-4, 5e-4, 1e-3]);
  assert.deepEqual(logTicks(1e-3, 1e-3).ticks, [1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2]);
});

test('a learning rate never reads "0.00000"', () => {
  assert.equal(formatRate(0.00001), '1e-5');
  assert.equal(formatRate(0.001 * 0.1 * 0.1), '1e-5');
  assert.equal(formatRate(1.0000000000000002e-7), '1e-7');
  assert.equal(formatRate(3e-4), '3e-4');
  assert.equal(formatRate(0.001), '0.001');
  assert.equal(formatValue(0.00001), '1e-5');
  assert.equal(formatValue(0.532149), '0.5321');
  assert.equal(formatValue(37466), '37466');
});
