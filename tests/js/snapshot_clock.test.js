// When a run snapshots mid-epoch: every MID_EPOCH_SNAPSHOT_SECONDS in a long epoch, never in a short one, on request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MID_EPOCH_SNAPSHOT_SECONDS, MIN_ASKED_SNAPSHOT_GAP_SECONDS, SnapshotClock } from '../../static/js/train/snapshot_clock.js';

/** A clock on fake time, fed steps that each take `stepSeconds`; returns the steps at which a snapshot was due. */
function run({ steps, epochs = 1, stepSeconds, ask = () => false }) {
  let ms = 0;
  const clock = new SnapshotClock({ now: () => ms });
  const due = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let step = 0; step < steps; step++) {
      ms += stepSeconds * 1000;
      if (ask(epoch, step)) clock.ask();
      if (clock.due({ epoch, step, steps })) {
        due.push(`${epoch}.${step + 1}`);  // the position a snapshot there resumes at
        clock.taken();
      }
    }
    clock.taken();  // as if every epoch's end took a snapshot too
  }
  return due;
}

test('a long epoch snapshots every interval of training', () => {
  // 100 steps of 2 s: an epoch of 200 s gets a snapshot after every 60 s, none at its last step.
  const due = run({ steps: 100, stepSeconds: 2 });
  assert.equal(MID_EPOCH_SNAPSHOT_SECONDS, 60);
  assert.deepEqual(due, ['0.30', '0.60', '0.90']);
});

test('an epoch shorter than the interval never snapshots mid-way, and the last step never does', () => {
  assert.deepEqual(run({ steps: 50, epochs: 5, stepSeconds: 1 }), []);
  assert.deepEqual(run({ steps: 2, stepSeconds: 100 }), ['0.1'], 'a 200 s epoch of 2 steps: after the first only');
});

test('an asked-for snapshot comes at the next step, unless one was taken very recently', () => {
  const due = run({ steps: 50, stepSeconds: 1, ask: (epoch, step) => step === 5 || step === 20 || step === 22 });
  // At step 5 the epoch's start (a snapshot) was only 6 s ago: it waits until 10 s have passed; the one asked at
  // step 22, 2 s after the last, waits 8 s more.
  assert.equal(MIN_ASKED_SNAPSHOT_GAP_SECONDS, 10);
  assert.deepEqual(due, ['0.10', '0.21', '0.31']);
});

test('a snapshot asked for now comes at the next step even right after another, but never at an epoch\'s last', () => {
  let ms = 0;
  const clock = new SnapshotClock({ now: () => ms });
  clock.ask(true);
  ms += 1000;
  assert.equal(clock.due({ epoch: 0, step: 9, steps: 10 }), false, 'the last step: the epoch ends next');
  ms += 1000;
  assert.equal(clock.due({ epoch: 1, step: 0, steps: 10 }), true);
  clock.taken();
  clock.ask();
  ms += 1000;
  assert.equal(clock.due({ epoch: 1, step: 1, steps: 10 }), false, 'a plain ask waits for the minimum gap');
  clock.ask(true);
  assert.equal(clock.due({ epoch: 1, step: 2, steps: 10 }), true);
});

test('a snapshot asked for before training starts is kept for its first steps', () => {
  let ms = 0;
  const clock = new SnapshotClock({ now: () => ms });
  clock.ask(true);
  ms += 30_000;  // the data loads, the backend starts
  clock.start();
  ms += 1000;
  assert.equal(clock.due({ epoch: 0, step: 0, steps: 10 }), true);
});
