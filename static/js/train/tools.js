/** The debugging tools that need no run: the input preview (tip 10 of docs/tips.md), the batch-size finder (15), the LR range test (6). */
import { tf } from '../tf.js';
import { loadDataset } from '../data/sync.js';
import { RunInputs } from '../data/inputs.js';
import { planBatches } from '../data/batches.js';
import { epochOrder } from '../data/split.js';
import { getTask } from '../model/tasks.js';
import { chooseBackend } from './backend.js';
import { findBatchSize } from './batch_finder.js';
import { Trainer } from './loop.js';
import { LR_RANGE_DEFAULTS, runLrRangeTest } from './lr_range.js';
import { LrController } from './schedule.js';
import { yieldToPage } from './page_yield.js';
import { configForData, freshModel, headConfigOf, resolveRunConfig, taskOptionsOf } from './run_config.js';

/**
 * The preview shows the epoch's first batch whole (a caption of "the first 24 inputs" at batch 32 read as a
 * mismatch), up to this many images so a large batch does not flood the page.
 */
export const MAX_PREVIEW_IMAGES = 64;

/**
 * Loads the dataset and prepares the inputs exactly as a run of `config` would. The backend is the config's, except
 * that 'auto' keeps the page's current one when `quick` (the preview does not train, so probing is wasted time).
 */
async function open(dataset, wanted, hooks, { quick = false } = {}) {
  hooks.onStatus?.(`Loading ${dataset}…`, 'sync');
  const data = await loadDataset(dataset, { onProgress: (p) => hooks.onSync?.(p) });
  const config = configForData(wanted, data);
  hooks.onStatus?.('Choosing a backend…', 'backend');
  const choice = quick && config.backend === 'auto'
    ? { backend: tf.getBackend(), reason: 'the page\'s current backend (nothing is trained)', probes: {} }
    : await chooseBackend(config.backend, { batchSize: config.batchSize });
  hooks.onBackend?.(choice);
  hooks.onStatus?.('Preparing images…', 'preprocess');
  const inputs = await RunInputs.prepare(data, config, {
    task: getTask(config.task), taskOptions: taskOptionsOf(config), onProgress: (done, total) => hooks.onStatus?.(`Preparing images… ${done}/${total}`, 'preprocess'),
  });
  return { data, choice, task: inputs.task, inputs, config };
}

/**
 * What the network receives in `epoch`: the first `count` training items in that epoch's shuffled order (by default
 * the first batch, at most MAX_PREVIEW_IMAGES), as the
 * very {xs, ys} batch the Trainer would get (decoded, resized on the canvas, augmented, normalised). The caller
 * renders and disposes xs and ys. Returns {xs, ys, labels?, items: [{item_id, label}], classes, pointNames, config,
 * backend}.
 */
export async function previewInputs({ dataset, config: input = {}, epoch = 0, count = null }, hooks = {}) {
  const { data, choice, inputs, config } = await open(dataset, resolveRunConfig(input), hooks, { quick: true });
  count ??= Math.min(config.batchSize, MAX_PREVIEW_IMAGES);
  try {
    const { train } = inputs.split;
    const read = inputs.reader(train, () => epoch);
    // The images the epoch starts with: a streamed set visits them in its own order (data/stream_order.js).
    const order = (read.orderOf?.(epoch) ?? epochOrder(train.length, config.seed, epoch)).slice(0, count);
    // labels: detection and landmarks batches carry each row's annotations in shares of the input (after augmentation).
    const { xs, ys, labels } = await read(order);
    const itemOf = inputs.itemOf(train);
    return {
      xs, ys, labels, items: order.map((i) => itemOf(i)), classes: data.classes, pointNames: data.pointNames ?? [],
      config, backend: choice.backend, epoch,
    };
  } finally {
    inputs.close();
  }
}

/** A throwaway model and Trainer over the training split (never the run's own model). */
async function scratchTrainer(config, { data, task, inputs }, options = {}) {
  const { model } = await freshModel(config, headConfigOf(config, data), inputs);
  const { train } = inputs.split;
  let trainer = null;
  trainer = new Trainer({
    model, task, optimizer: model.optimizer, lr: new LrController({ lr: config.lr, plateau: null }),
    seed: config.seed, batchSize: config.batchSize, trainCount: train.length, epochs: 0,
    getBatch: inputs.reader(train, () => trainer.nextEpoch), yieldFn: yieldToPage, ...options,
  });
  const dispose = () => {
    model.optimizer?.dispose();
    model.dispose();
  };
  return { trainer, dispose };
}

/**
 * One real training step of batch size b per call (the Trainer's own step on the run's inputs), cycling through
 * the epoch-0 batches; returns the loss tensor for the finder to read.
 */
function stepRunner(trainer, count, seed) {
  const plans = new Map();
  let calls = 0;
  return async (batchSize) => {
    if (!plans.has(batchSize)) plans.set(batchSize, planBatches(count, batchSize, { order: epochOrder(count, seed, 0) }));
    const plan = plans.get(batchSize);
    const { indices, weights } = plan[calls++ % plan.length];
    const { xs, ys } = await trainer.getBatch(indices);
    try {
      const { loss, metrics } = trainer.trainStep(xs, ys, weights);
      tf.dispose(Object.values(metrics));
      return loss;
    } finally {
      tf.dispose([xs, ys]);
    }
  };
}

/**
 * Runs the chosen tools on `dataset` with the run config's model and inputs, the finder first so that the range
 * test sweeps at the batch size it chose. Returns {reason: 'done', backend, dataset, batch_size?, find_batch_size?,
 * suggested_lr?, lr_range_test?}. hooks: onStatus, onSync, onBackend, onFinderRow(row).
 */
export async function runTools({ dataset, config: input = {}, findBatchSize: wantFinder = false, lrRangeTest = false }, hooks = {}) {
  const context = await open(dataset, resolveRunConfig(input), hooks);
  let { config } = context;
  const result = { reason: 'done', backend: context.choice.backend, backend_reason: context.choice.reason, dataset: context.data.name };
  try {
    if (wantFinder) {
      hooks.onStatus?.('Timing batch sizes…', 'find-batch-size');
      const { trainer, dispose } = await scratchTrainer(config, context);
      try {
        const found = await findBatchSize(stepRunner(trainer, context.inputs.split.train.length, config.seed),
          { onRow: hooks.onFinderRow, yieldFn: yieldToPage });
        Object.assign(result, { batch_size: found.batch_size, find_batch_size: found });
        if (found.batch_size) config = { ...config, batchSize: found.batch_size };
      } finally {
        dispose();
      }
    }
    if (lrRangeTest) {
      hooks.onStatus?.(`LR range test at batch size ${config.batchSize}…`, 'lr-range-test');
      const stepsPerEpoch = Math.ceil(context.inputs.split.train.length / config.batchSize);
      let scratch = null;
      try {
        const range = await runLrRangeTest(async (onStep) => {
          scratch = await scratchTrainer(config, context, {
            epochs: Math.ceil(LR_RANGE_DEFAULTS.steps / stepsPerEpoch), readEvery: 1, onStep,
          });
          return scratch.trainer;
        });
        Object.assign(result, { suggested_lr: range.suggested_lr, lr_range_test: { ...range, batch_size: config.batchSize } });
      } finally {
        scratch?.dispose();
      }
    }
  } finally {
    context.inputs.close();
  }
  hooks.onStatus?.('Done', 'done');
  return result;
}
