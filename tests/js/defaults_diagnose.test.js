// Settings chosen from the dataset, and the plain "this run is not learning" warnings.
import './setup.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AUTO, applyDatasetDefaults, datasetDefaults } from '../../static/js/train/defaults.js';
import { learningWarnings } from '../../static/js/train/diagnose.js';
import { resolveRunConfig } from '../../static/js/train/run_config.js';

test('a small set of 32 px images gets 32 px inputs, batch 8, ~600 steps and crop + brightness', () => {
  const d = datasetDefaults({ numItems: 90, trainCount: 72, side: 32 });
  assert.equal(d.inputSize.value, 32);
  assert.equal(d.batchSize.value, 8);
  assert.equal(d.epochs.value, 67);
  assert.deepEqual(d.augment.value, { crop: true, flip: false, brightness: 0.1 });
  for (const choice of Object.values(d)) assert.ok(choice.reason.length > 10);
});

test('large photos are capped at 64 px, big sets get batch 32, 30 epochs and no augmentation', () => {
  const d = datasetDefaults({ numItems: 5000, trainCount: 4000, side: 480 });
  assert.equal(d.inputSize.value, 64);
  assert.match(d.inputSize.reason, /480/);
  assert.equal(d.batchSize.value, 32);
  assert.equal(d.epochs.value, 30);
  assert.deepEqual(d.augment.value, { crop: false, flip: false, brightness: 0 });
  assert.equal(datasetDefaults({ numItems: 10, trainCount: 8, side: 8 }).inputSize.value, 16);
  assert.equal(datasetDefaults({ numItems: 10, trainCount: 8, side: null }).inputSize.value, 64);
});

test('an explicit setting always wins and is not listed among the defaults', () => {
  const config = resolveRunConfig({ batchSize: 32, inputSize: 48 });
  assert.equal(config.epochs, AUTO);
  const resolved = applyDatasetDefaults(config, { numItems: 90, trainCount: 72, side: 32 });
  assert.equal(resolved.batchSize, 32);
  assert.equal(resolved.inputSize, 48);
  assert.equal(resolved.epochs, 100, 'epochs follow the explicit batch: 3 steps an epoch, 600/3 = 200, capped at 100');
  assert.deepEqual(Object.keys(resolved.defaults).sort(), ['augment', 'epochs', 'task']);
  assert.equal(resolved.task, 'classification', "a dataset that names no task is classification's");
});

const flat = (n, loss = Math.log(3)) => Array.from({ length: n }, (_, epoch) => ({ epoch, train_loss: loss, train_accuracy: 0.33, val_accuracy: 0.33 }));

test('a loss stuck at ln 3 is flagged mid-run, after the first quarter of the epochs, with a next step', () => {
  assert.deepEqual(learningWarnings({ records: flat(4), classes: ['a', 'b', 'c'], plannedEpochs: 30 }), []);
  const warnings = learningWarnings({ records: flat(8), classes: ['a', 'b', 'c'], plannedEpochs: 30 });
  assert.deepEqual(warnings.map((w) => w.code), ['loss_flat', 'val_at_chance']);
  assert.match(warnings[0].message, /ln 3 = 1\.0986/);
  assert.match(warnings[0].next_step, /--overfit/);
});

test('an epoch resumed mid-way is no baseline for "never left its start": its mean covers only its last steps', () => {
  // Its few late steps happened to average high: against that, the stuck epochs after it would look like a fall.
  const records = [{ epoch: 3, train_loss: 1.4, resumed_at_step: 90 }, ...flat(8).map((r) => ({ ...r, epoch: r.epoch + 4 }))];
  const warnings = learningWarnings({ records, classes: ['a', 'b', 'c'], plannedEpochs: 30 });
  assert.deepEqual(warnings.map((w) => w.code), ['loss_flat', 'val_at_chance']);
  assert.match(warnings[0].message, /1\.0986 at epoch 5, 1\.0986 after 8 epochs/);
  // A single whole epoch after it is not enough to judge by: all records count then, partial one included.
  assert.deepEqual(learningWarnings({ records: records.slice(0, 2), classes: ['a', 'b', 'c'], plannedEpochs: 2,
    evaluation: { accuracy: 0.9 } }), []);
});

test('at the end: one class predicted for everything, and overfitting', () => {
  const evaluation = { accuracy: 0.4, confusion: [[4, 0, 0], [3, 0, 0], [3, 0, 0]] };
  const records = [{ train_loss: 1.1, train_accuracy: 0.4, val_accuracy: 0.4 }, { train_loss: 0.6, train_accuracy: 0.4, val_accuracy: 0.4 }];
  const codes = learningWarnings({ records, classes: ['a', 'b', 'c'], plannedEpochs: 30, evaluation }).map((w) => w.code);
  assert.deepEqual(codes, ['val_at_chance', 'one_class']);
  const gap = [{ train_loss: 1, train_accuracy: 0.5, val_accuracy: 0.5 }, { train_loss: 0.01, train_accuracy: 1, val_accuracy: 0.6 }];
  const healthy = { accuracy: 0.7, confusion: [[5, 0], [3, 2]] };
  assert.deepEqual(learningWarnings({ records: gap, classes: ['a', 'b'], plannedEpochs: 2, evaluation: healthy }).map((w) => w.code), ['overfitting']);
});

test('a run that learned gets no warning', () => {
  const records = [{ train_loss: 1.1, train_accuracy: 0.4, val_accuracy: 0.5 }, { train_loss: 0.1, train_accuracy: 0.97, val_accuracy: 0.95 }];
  const evaluation = { accuracy: 0.95, confusion: [[6, 0, 0], [0, 6, 1], [0, 0, 6]] };
  assert.deepEqual(learningWarnings({ records, classes: ['a', 'b', 'c'], plannedEpochs: 30, evaluation }), []);
});

test('a run continued from a trained one (train more) starts low and stays there: that is not "never learned"', () => {
  const low = flat(10, 0.05).map((r) => ({ ...r, train_accuracy: 0.99, val_accuracy: 0.97 }));
  assert.deepEqual(learningWarnings({ records: low, classes: ['a', 'b', 'c'], plannedEpochs: 20 }), []);
});

test('a small detection set, and points named left and right, are flipped too; numbered points are not', () => {
  const small = { numItems: 240, trainCount: 192, side: 128 };
  assert.equal(datasetDefaults({ ...small, task: 'detection' }).augment.value.flip, true);
  assert.equal(datasetDefaults({ ...small, task: 'landmarks', pointNames: ['left_eye', 'right_eye', 'nose'] }).augment.value.flip, true);
  assert.equal(datasetDefaults({ ...small, task: 'landmarks', pointNames: ['p1', 'p2', 'p3'] }).augment.value.flip, false);
  assert.equal(datasetDefaults({ ...small, task: 'classification' }).augment.value.flip, false);
});

test("a detection run trains at a fixed rate unless its rule is one of the user's own", () => {
  const detection = { numItems: 240, trainCount: 192, side: 128, task: 'detection' };
  const resolved = applyDatasetDefaults(resolveRunConfig({}), detection);
  assert.equal(resolved.lrSchedule, null);
  assert.match(resolved.defaults.lrSchedule.reason, /plateau/);
  const own = applyDatasetDefaults(resolveRunConfig({ lrSchedule: { patience: 10 } }), detection);
  assert.equal(own.lrSchedule.patience, 10);
  const classifier = applyDatasetDefaults(resolveRunConfig({}), { ...detection, task: 'classification' });
  assert.equal(classifier.lrSchedule.patience, 3, 'classification keeps the rule');
});

test('a detector that finds nothing and points that land nowhere are said plainly; ln K plays no part', () => {
  const falling = [{ train_loss: 18 }, { train_loss: 3 }, { train_loss: 2 }];
  const warn = (evaluation) => learningWarnings({ records: falling, classes: ['face'], plannedEpochs: 3, evaluation, task: evaluation.task });
  assert.deepEqual(warn({ task: 'detection', map50: 0.02 }).map((w) => w.code), ['no_detections']);
  assert.deepEqual(warn({ task: 'detection', map50: 0.6 }), []);
  assert.deepEqual(warn({ task: 'landmarks', nme: 0.3 }).map((w) => w.code), ['points_off']);
  const flat = [{ train_loss: 2.0 }, { train_loss: 1.99 }, { train_loss: 2.0 }];
  assert.deepEqual(learningWarnings({ records: flat, classes: [], plannedEpochs: 3, evaluation: { task: 'landmarks', nme: 0.05 }, task: 'landmarks' })
    .map((w) => w.code), ['loss_flat']);
});
