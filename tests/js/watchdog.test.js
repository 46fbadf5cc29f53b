import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../static/js/tf.js';
import { GrowthDetector, LeakWatchdog } from '../../static/js/train/watchdog.js';

const READ_EVERY = 5;

/** A healthy loop: a flat base plus the loss/metric tensors that wait for the batched read every 5 steps. */
function healthy(step, base = 120) {
  return { numTensors: base + 2 * (step % READ_EVERY), numBytes: 4 * (base + 2 * (step % READ_EVERY)) };
}

function firstReport(detector, samples) {
  for (let step = 0; step < samples.length; step++) {
    const report = detector.add(samples[step]);
    if (report) return { step, report };
  }
  return null;
}

test('the sawtooth of a healthy loop with batched loss reads is never reported', () => {
  const samples = Array.from({ length: 2000 }, (_, step) => healthy(step));
  assert.equal(firstReport(new GrowthDetector(), samples), null);
});

test('one leaked tensor per step is caught within warmup + 4 windows and named as 1 tensor per step', () => {
  const samples = Array.from({ length: 200 }, (_, step) => {
    const { numTensors, numBytes } = healthy(step);
    return { numTensors: numTensors + step, numBytes: numBytes + 400 * step };
  });
  const found = firstReport(new GrowthDetector({ warmupSteps: 5, windowSteps: 10, risingWindows: 3 }), samples);
  assert.ok(found, 'the leak was not reported');
  assert.equal(found.step, 5 + 4 * 10 - 1);
  assert.equal(found.report.tensors_per_step, 1);
  assert.equal(found.report.bytes_per_step, 400);
  assert.equal(found.report.steps, 30);
});

test('a slow leak (one tensor every 4 steps) is caught too; a one-off jump is not', () => {
  const slow = Array.from({ length: 400 }, (_, step) => healthy(step, 100 + Math.floor(step / 4)));
  assert.ok(Math.abs(firstReport(new GrowthDetector(), slow).report.tensors_per_step - 0.25) < 0.05);
  const jump = Array.from({ length: 400 }, (_, step) => healthy(step, step < 60 ? 100 : 140));
  assert.equal(firstReport(new GrowthDetector(), jump), null, 'a cache filled once is not a leak');
});

test('growing bytes with a constant tensor count is a leak as well (a kept tensor replaced by a bigger one)', () => {
  const samples = Array.from({ length: 200 }, (_, step) => ({ numTensors: 50, numBytes: 1000 + 64 * step }));
  const found = firstReport(new GrowthDetector(), samples);
  assert.equal(found.report.tensors_per_step, 0);
  assert.equal(found.report.bytes_per_step, 64);
});

test('after a report the detector starts over, so a resumed run is not stopped again at once', () => {
  const detector = new GrowthDetector({ warmupSteps: 0, windowSteps: 2, risingWindows: 2 });
  let count = 0;
  const reports = [];
  for (let step = 0; step < 40; step++) {
    count += 1;
    if (detector.add({ numTensors: count, numBytes: count })) reports.push(step);
  }
  assert.deepEqual(reports, [5, 11, 17, 23, 29, 35]);
});

test('the watchdog reads tf.memory() and catches a real leak of one tensor per step', () => {
  const watchdog = new LeakWatchdog({ warmupSteps: 2, windowSteps: 5, risingWindows: 3 });
  const leaked = [];
  let report = null;
  for (let step = 0; step < 100 && !report; step++) {
    tf.tidy(() => { tf.ones([4, 4]).mul(2); });  // disposed: must not count
    leaked.push(tf.ones([8]));               // kept: one tensor, 32 bytes, per step
    report = watchdog.sample({ epoch: 0, step });
  }
  tf.dispose(leaked);
  assert.ok(report, 'no leak reported');
  assert.equal(report.tensors_per_step, 1);
  assert.equal(report.bytes_per_step, 32);
  assert.match(report.message, /1\.00 tensors \(32 bytes\) per step/);
});
