// Where a run starts: resume only an unfinished run; "train more" continues another run's last snapshot as a new run.
import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_MORE_EPOCHS, startingPoint } from '../../static/js/train/start_point.js';

const RUNS = {
  done: { id: 'done', kind: 'train', status: 'finished', dataset: 'digits', config: { epochs: 20, lr: 0.001 },
    snapshots: [{ seq: 3, epoch: 20 }], epochs: [{ epoch: 18, lr_state: { lr: 1e-4 } }, { epoch: 19, lr_state: { lr: 1e-5 } }] },
  halfway: { id: 'halfway', kind: 'train', status: 'stopped', dataset: 'digits', config: { epochs: 20 },
    snapshots: [{ seq: 1, epoch: 5 }], epochs: [{ epoch: 4, lr_state: { lr: 0.001 } }, { epoch: 5, lr_state: { lr: 0.002 } }] },
  firstEpoch: { id: 'firstEpoch', kind: 'train', status: 'stopped', dataset: 'digits', config: { epochs: 2 },
    snapshots: [{ seq: 1, epoch: 0, step: 40 }], epochs: [] },
  midway: { id: 'midway', kind: 'train', status: 'running', dataset: 'digits', config: { epochs: 20 },
    snapshots: [{ seq: 1, epoch: 3 }, { seq: 2, epoch: 3, step: 7 }], epochs: [{ epoch: 2, lr_state: { lr: 0.001 } }] },
  empty: { id: 'empty', kind: 'train', status: 'failed', dataset: 'digits', config: {}, snapshots: [], epochs: [] },
  queued: { id: 'queued', kind: 'train', status: 'created', dataset: 'digits', config: { epochs: 3, batchSize: 8 }, snapshots: [], epochs: [] },
  sanity: { id: 'sanity', kind: 'sanity', status: 'finished', dataset: 'digits', config: {}, snapshots: [{ seq: 1, epoch: 9 }], epochs: [] },
};
globalThis.fetch = async (url) => {
  const id = decodeURIComponent(String(url).split('/').at(-1));
  return RUNS[id] ? new Response(JSON.stringify(RUNS[id]), { status: 200 }) : new Response('{"detail":"no"}', { status: 404 });
};

test('a finished run is never resumed: the refusal says how to train it further', async () => {
  await assert.rejects(startingPoint({ resumeRunId: 'done' }), /run done is finished.*--from done/);
});

test('an unfinished run resumes from its latest snapshot, with the lr state of the epoch before it', async () => {
  const start = await startingPoint({ resumeRunId: 'halfway' });
  assert.equal(start.run.id, 'halfway');
  assert.equal(start.parent, null);
  assert.equal(start.startEpoch, 5);
  assert.deepEqual(start.lrState, { lr: 0.001 });
  assert.equal(start.modelUrl, '/api/runs/halfway/model.json');
});

test('a snapshot taken mid-epoch resumes at its step, with the lr state of the last whole epoch before it', async () => {
  const start = await startingPoint({ resumeRunId: 'midway' });
  assert.deepEqual([start.startEpoch, start.startStep], [3, 7]);
  assert.deepEqual(start.lrState, { lr: 0.001 });
  assert.equal(start.modelUrl, '/api/runs/midway/model.json');
  assert.equal((await startingPoint({ resumeRunId: 'halfway' })).startStep, 0, 'an epoch-end snapshot starts its epoch');
});

test('a snapshot taken in the first epoch loads its weights instead of building a new model', async () => {
  const start = await startingPoint({ resumeRunId: 'firstEpoch' });
  assert.deepEqual([start.startEpoch, start.startStep, start.lrState], [0, 40, null]);
  assert.equal(start.modelUrl, '/api/runs/firstEpoch/model.json');
  const more = await startingPoint({ fromRunId: 'firstEpoch', moreEpochs: 2 });
  assert.deepEqual([more.startEpoch, more.startStep, more.config.epochs], [0, 40, 2], 'train more goes on from the same step');
});

test('a queued run, enqueued with a few settings, resumes with a complete config (the rest are the defaults)', async () => {
  const start = await startingPoint({ resumeRunId: 'queued' });
  assert.equal(start.startEpoch, 0);
  assert.equal(start.config.epochs, 3);
  assert.equal(start.config.batchSize, 8);
  assert.equal(start.config.lr, 0.001);
  assert.equal(start.config.optimizer.name, 'adam');
  assert.deepEqual(start.config.model.stages, [32, 64, 128]);
});

test('train more: a new run from the last snapshot for N more epochs, naming its parent', async () => {
  const start = await startingPoint({ fromRunId: 'done', moreEpochs: 15 });
  assert.equal(start.run, null);
  assert.equal(start.parent.id, 'done');
  assert.equal(start.startEpoch, 20);
  assert.equal(start.config.epochs, 35);
  assert.equal(start.config.lr, 0.001);
  assert.deepEqual(start.lrState, { lr: 1e-5 });
  assert.equal(start.modelUrl, '/api/runs/done/model.json');
  assert.equal((await startingPoint({ fromRunId: 'done' })).config.epochs, 20 + DEFAULT_MORE_EPOCHS);
});

test('train more needs a plain run with a snapshot and a whole number of epochs', async () => {
  await assert.rejects(startingPoint({ fromRunId: 'empty' }), /no snapshot/);
  await assert.rejects(startingPoint({ fromRunId: 'sanity' }), /sanity/);
  await assert.rejects(startingPoint({ fromRunId: 'done', moreEpochs: 0 }), /whole number/);
  await assert.rejects(startingPoint({ fromRunId: 'done', moreEpochs: 2.5 }), /whole number/);
});

test('without options it is a fresh run', async () => {
  const start = await startingPoint({});
  assert.deepEqual([start.run, start.parent, start.config, start.startEpoch, start.startStep, start.modelUrl],
    [null, null, null, 0, 0, null]);
});
