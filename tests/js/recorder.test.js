// The recorder's decisions after each epoch: what is posted, when a snapshot is taken, when training ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EpochRecorder } from '../../static/js/train/recorder.js';

const STEPS_PER_EPOCH = 10;

/**
 * Stands in for the Reporter and the server behind it: keeps, in order, every epoch posted and every snapshot taken
 * (`failSnapshots` of them fail first, as when the server is away). A user-visible log of the run, in short.
 */
class RunLog {
  constructor({ failSnapshots = 0 } = {}) {
    this.events = [];
    this.snapshotOwed = null;
    this.failSnapshots = failSnapshots;
  }

  async epoch(record) {
    this.events.push(`epoch ${record.epoch}`);
  }

  /** A snapshot at {epoch, step}: "snapshot 3" after 3 whole epochs, "snapshot 2.4" at step 4 of epoch 2. */
  async snapshot({ epoch, step }) {
    const name = step > 0 ? `${epoch}.${step}` : String(epoch);
    if (this.failSnapshots > 0) {
      this.failSnapshots -= 1;
      this.snapshotOwed = epoch;
      this.events.push(`snapshot ${name} failed`);
      return;
    }
    this.snapshotOwed = null;
    this.events.push(`snapshot ${name}`);
  }
}

const record = (epoch, train_loss = 1) => ({ epoch, train_loss, iterations: (epoch + 1) * STEPS_PER_EPOCH });

/** Feeds epochs startEpoch.. to a recorder the way the Trainer does, until one says stop or `epochs` are done. */
async function train({ epochs, snapshotEvery, startEpoch = 0, endAfter, log = new RunLog(), losses = [] }) {
  const recorder = new EpochRecorder({ reporter: log, epochs, snapshotEvery, startEpoch,
    snapshot: (position) => log.snapshot(position), endAfter });
  let nextEpoch = startEpoch;
  let reason = 'done';
  while (nextEpoch < epochs) {
    const stop = await recorder.epoch(record(nextEpoch, losses[nextEpoch]));
    nextEpoch += 1;
    if (stop) {
      reason = 'stopped';
      break;
    }
  }
  const ended = await recorder.finish({ reason, nextEpoch, nextStep: 0, epochs: [] }, nextEpoch * STEPS_PER_EPOCH);
  return { log, recorder, ended };
}

test('epochs are posted in order, each before its snapshot; a snapshot every N epochs and after the last', async () => {
  const { log, ended } = await train({ epochs: 7, snapshotEvery: 3 });
  assert.deepEqual(log.events, ['epoch 0', 'epoch 1', 'epoch 2', 'snapshot 3', 'epoch 3', 'epoch 4', 'epoch 5',
    'snapshot 6', 'epoch 6', 'snapshot 7']);
  assert.equal(ended, 'done');
});

test('a resumed run keeps the snapshot rhythm of the whole run, not of this attempt', async () => {
  const { log } = await train({ epochs: 6, snapshotEvery: 2, startEpoch: 3 });
  assert.deepEqual(log.events, ['epoch 3', 'snapshot 4', 'epoch 4', 'epoch 5', 'snapshot 6']);
});

test('a snapshot that did not arrive is taken again after the next epoch', async () => {
  const { log } = await train({ epochs: 5, snapshotEvery: 2, log: new RunLog({ failSnapshots: 1 }) });
  assert.deepEqual(log.events, ['epoch 0', 'epoch 1', 'snapshot 2 failed', 'epoch 2', 'snapshot 3', 'epoch 3',
    'snapshot 4', 'epoch 4', 'snapshot 5']);
});

test('endAfter ends the run: a snapshot of where it stopped, and its reason becomes the run\'s', async () => {
  const endAfter = (r) => (r.train_loss < 0.1 ? 'converged' : null);
  const { log, recorder, ended } = await train({ epochs: 20, snapshotEvery: 5, endAfter, losses: [1, 0.5, 0.05] });
  assert.deepEqual(log.events, ['epoch 0', 'epoch 1', 'epoch 2', 'snapshot 3']);
  assert.equal(recorder.endedBy, 'converged');
  assert.equal(ended, 'converged');
});

test('a stop right after a snapshot does not take the same snapshot twice', async () => {
  const endAfter = (r) => (r.epoch === 3 ? 'converged' : null);
  const { log } = await train({ epochs: 20, snapshotEvery: 2, endAfter });
  assert.deepEqual(log.events, ['epoch 0', 'epoch 1', 'snapshot 2', 'epoch 2', 'epoch 3', 'snapshot 4']);
});

test('a user stop mid-epoch snapshots the unfinished epoch\'s weights with its step; a stop before any step snapshots nothing', async () => {
  const log = new RunLog();
  const recorder = new EpochRecorder({ reporter: log, epochs: 10, snapshotEvery: 2, snapshot: (p) => log.snapshot(p) });
  await recorder.epoch(record(0));
  await recorder.epoch(record(1));
  // Stopped 4 steps into epoch 2: those steps changed the weights, and a resume trains the other 6 of that epoch.
  assert.equal(await recorder.finish({ reason: 'stopped', nextEpoch: 2, nextStep: 4, epochs: [] }, 2 * STEPS_PER_EPOCH + 4),
    'stopped');
  assert.deepEqual(log.events, ['epoch 0', 'epoch 1', 'snapshot 2', 'snapshot 2.4']);

  const resumed = new RunLog();
  const again = new EpochRecorder({ reporter: resumed, epochs: 10, snapshotEvery: 2, startEpoch: 2, startStep: 4,
    snapshot: (p) => resumed.snapshot(p) });
  assert.equal(await again.finish({ reason: 'stopped', nextEpoch: 2, nextStep: 4, epochs: [] }, 24), 'stopped');
  assert.deepEqual(resumed.events, [], 'nothing trained since the snapshot it resumed from');
  // The same attempt, stopped 3 steps later: still in the epoch it resumed in, yet it trained.
  assert.equal(await again.finish({ reason: 'stopped', nextEpoch: 2, nextStep: 7, epochs: [] }, 27), 'stopped');
  assert.deepEqual(resumed.events, ['snapshot 2.7']);
});

test('a snapshot between steps is skipped when nothing trained since the last one, and a stop after it adds none', async () => {
  const log = new RunLog();
  const recorder = new EpochRecorder({ reporter: log, epochs: 10, snapshotEvery: 5, snapshot: (p) => log.snapshot(p) });
  await recorder.epoch(record(0));
  assert.equal(await recorder.between({ epoch: 1, step: 3 }, STEPS_PER_EPOCH + 3), true);  // e.g. on pause
  assert.equal(await recorder.between({ epoch: 1, step: 3 }, STEPS_PER_EPOCH + 3), false);  // paused again, no step
  assert.equal(await recorder.finish({ reason: 'stopped', nextEpoch: 1, nextStep: 3, epochs: [] }, STEPS_PER_EPOCH + 3),
    'stopped');
  assert.deepEqual(log.events, ['epoch 0', 'snapshot 1.3']);
});

test('a run that ends on NaN or runs out keeps the Trainer\'s reason; a bad snapshotEvery is refused', async () => {
  const recorder = new EpochRecorder({ reporter: new RunLog(), epochs: 3, snapshotEvery: 1, snapshot: async () => {} });
  assert.equal(await recorder.finish({ reason: 'nan', nextEpoch: 1, nextStep: 0, epochs: [] }, 10), 'nan');
  for (const snapshotEvery of [0, -1, 1.5, undefined]) {
    assert.throws(() => new EpochRecorder({ reporter: new RunLog(), epochs: 3, snapshotEvery, snapshot: async () => {} }),
      /snapshotEvery must be a positive integer/);
  }
});
