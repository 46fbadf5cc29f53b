/** The training loop: epochs of fixed-shape, shuffled steps with async loss reads, validation, pause and stop. */
// @ts-check
import { tf } from '../tf.js';
import { epochOrder } from '../data/split.js';
import { batchCount, planBatches } from '../data/batches.js';
import { LrController } from './schedule.js';
import { fuseAdamOnWasm } from './fused_adam.js';
import { skipUnusedInputGradients } from './input_gradient.js';
import { StepTotals, disposeResults } from './step_totals.js';

/**
 * Gives the page a chance to paint and handle input between steps. tf.nextFrame waits for an animation frame in a
 * browser (which a hidden tab does not get: pass `yieldFn` to train there) and for setImmediate in Node.
 */
const nextFrame = () => tf.nextFrame();

const now = () => globalThis.performance.now();

/**
 * tfjs objects are typed loosely (`any`): the pages get tfjs as a UMD global, so its own type declarations are not
 * in reach of these modules.
 * @typedef {any} Tensor
 * @typedef {any} LayersModel
 * @typedef {any} Optimizer
 * @typedef {import('../model/tasks.js').PreparedTask} Task
 * @typedef {import('./step_totals.js').Means} Means
 */

/**
 * One batch, as getBatch/getValBatch hand it over: inputs [batchSize, ...] and targets [batchSize, ...].
 * @typedef {{ xs: Tensor, ys: Tensor }} Batch
 */

/**
 * What onStep gets after each training step. loss/metrics are the means since the last read on steps where the
 * losses were read back (every readEvery steps and the last of the epoch), else null.
 * @typedef {object} StepInfo
 * @property {number} epoch
 * @property {number} step          0-based, within the epoch
 * @property {number} steps         the epoch's step count
 * @property {number} images        real (non-padding) images trained on so far this epoch
 * @property {number} iteration     optimizer steps so far, over the whole run
 * @property {number[]} indices     the batch's item indices in [0, trainCount), padding rows included (read only)
 * @property {number | null} loss
 * @property {Record<string, number> | null} metrics
 */

/**
 * The per-epoch record: what onEpoch gets, what the run log stores, what charts and diagnoses read. Means are over
 * real rows (padding excluded). Besides the fields here, one `train_<metric>` and one `val_<metric>` per metric of the
 * task (classification: train_accuracy, val_accuracy); the val_ ones are null without a validation set.
 * @typedef {EpochFields & { [metric: `${'train' | 'val'}_${string}`]: number | null }} EpochRecord
 *
 * @typedef {object} EpochFields
 * @property {number} epoch                 0-based, counted over the whole run (a resumed run goes on counting)
 * @property {number | null} train_loss     null if the epoch trained no rows
 * @property {number | null} val_loss       null without a validation set, or when stopped during validation
 * @property {number} lr                    the rate this epoch ended with
 * @property {number} next_lr               the rate the next epoch starts with
 * @property {string | null} lr_reason      why the rate changed after this epoch, else null
 * @property {string | null} lr_note        the rate rule's remark when it did not change the rate (e.g. armed), else null
 * @property {number} images_per_second     real training images per second, validation excluded
 * @property {number} iterations            optimizer steps so far
 * @property {number} num_tensors           tf.memory() after the epoch's own tensors are gone (tip 13 of docs/tips.md)
 * @property {number} num_bytes
 * @property {number} seconds               the whole epoch, validation included
 * @property {number} [resumed_at_step]     only on an epoch resumed mid-way: its first step trained here; the train_
 *                                          means and images_per_second cover the steps from it to the end
 */

/**
 * Where training stands: the next step to train is `step` (0-based) of epoch `epoch`; step 0 is an epoch's start.
 * @typedef {{ epoch: number, step: number }} Position
 */

/**
 * How run() ended: 'done' (all epochs), 'stopped' (stop(); after a stop mid-epoch, nextEpoch is that unfinished
 * epoch and nextStep its first untrained step), 'nan' (the training loss stopped being finite). `epochs` are this
 * Trainer's records.
 * @typedef {{ reason: 'done' | 'stopped' | 'nan', nextEpoch: number, nextStep: number, epochs: EpochRecord[] }} TrainResult
 */

/**
 * Reads a batch; `orderOf(epoch)`, when present, is the epoch's visiting order (a permutation of 0..trainCount-1),
 * which a streamed input chooses so that it can read its chunks a window at a time.
 * @typedef {((indices: number[]) => Batch | Promise<Batch>) & { orderOf?: (epoch: number) => number[] }} BatchReader
 */

/**
 * @typedef {object} TrainerOptions
 * @property {LayersModel} model
 * @property {Task} task
 * @property {BatchReader} getBatch  training items, indices in [0, trainCount)
 * @property {number} trainCount
 * @property {number} [batchSize]   every step has exactly batchSize rows (see planBatches); default 32
 * @property {number} epochs        train until this many epochs exist in total (epochs startEpoch..epochs-1)
 * @property {number} [startEpoch]  first epoch to train, when resuming
 * @property {number} [startStep]   first step of startEpoch to train, when resuming mid-epoch: the steps before it
 *                                  (the first startStep planned batches of that epoch's order) were trained already
 * @property {number} [seed]        the shuffle of epoch e depends on (seed, e) only, so a resumed run reshuffles alike
 * @property {number} [valCount]    optional validation set...
 * @property {((indices: number[]) => Batch | Promise<Batch>) | null} [getValBatch]  ...indices in [0, valCount)
 * @property {LrController | null} [lr]     default: 0.001 with the plateau rule
 * @property {Optimizer | null} [optimizer] default tf.train.adam(lr.lr); its step count is never reset here
 * @property {'pad' | 'drop'} [padMode]     'pad' (default: every item every epoch) or 'drop' (skip the short last batch)
 * @property {number} [readEvery]           read the losses every K steps for onStep (0: only at the epoch end)
 * @property {((info: StepInfo) => unknown) | null} [onStep]  awaited after each step (the weights hold still meanwhile)
 * @property {((record: EpochRecord) => unknown) | null} [onEpoch]  awaited after each epoch
 * @property {() => unknown} [yieldFn]      awaited between steps; default tf.nextFrame
 */

/**
 * Trains `model` for `task`. The caller owns the model and the optimizer (and disposes them); the Trainer owns and
 * disposes every tensor getBatch/getValBatch hand it.
 */
export class Trainer {
  /** @param {TrainerOptions} options */
  constructor(options) {
    const {
      model, task, getBatch, trainCount, batchSize = 32, epochs, startEpoch = 0, startStep = 0, seed = 0,
      valCount = 0, getValBatch = null, lr = null, optimizer = null, padMode = 'pad', readEvery = 0,
      onStep = null, onEpoch = null, yieldFn = nextFrame,
    } = options;
    if (!model || !task || typeof getBatch !== 'function') throw new Error('Trainer needs model, task and getBatch');
    if (!(Number.isInteger(trainCount) && trainCount > 0)) throw new Error(`trainCount must be > 0, got ${trainCount}`);
    if (!(Number.isInteger(epochs) && epochs >= startEpoch)) throw new Error(`epochs must be an integer >= startEpoch`);
    if (valCount > 0 && typeof getValBatch !== 'function') throw new Error('valCount > 0 needs getValBatch');
    if (padMode === 'drop' && trainCount < batchSize) {
      throw new Error(`padMode 'drop' with ${trainCount} items and batchSize ${batchSize} would train on nothing`);
    }
    const steps = batchCount(trainCount, batchSize, padMode);
    if (!(Number.isInteger(startStep) && startStep >= 0 && (startStep === 0 || (startStep < steps && startEpoch < epochs)))) {
      throw new Error(`startStep must be a step of epoch ${startEpoch} (0 to ${steps - 1}), got ${startStep}`);
    }
    this.model = model;
    this.task = task;
    this.getBatch = getBatch;
    this.trainCount = trainCount;
    this.batchSize = batchSize;
    this.epochs = epochs;
    this.seed = seed;
    this.valCount = valCount;
    this.getValBatch = getValBatch;
    this.padMode = padMode;
    this.readEvery = readEvery;
    this.onStep = onStep;
    this.onEpoch = onEpoch;
    this.yieldFn = yieldFn;
    this.lr = lr ?? new LrController({ lr: optimizer?.learningRate ?? 0.001, epoch: startEpoch });
    this.optimizer = fuseAdamOnWasm(optimizer ?? tf.train.adam(this.lr.lr));
    this.nextEpoch = startEpoch;
    /** The first untrained step of nextEpoch: 0 except after a stop mid-epoch or when resuming mid-epoch. */
    this.nextStep = startStep;
    /** @type {EpochRecord[]} */
    this.history = [];
    /** @type {'idle' | 'running' | 'paused'} */
    this.state = 'idle';
    this.stopRequested = false;
    this.pauseRequested = false;
    /** @type {Array<(value?: unknown) => void>} */
    this.pausedWaiters = [];
    /** @type {((value?: unknown) => void) | null} */
    this.releasePause = null;
    /** @type {Promise<TrainResult> | null} */
    this.running = null;
  }

  /**
   * Trains from `nextEpoch` up to `epochs` (see TrainResult). A stop mid-epoch leaves nextEpoch on that unfinished
   * epoch (nextStep its first untrained step), whose steps so far did update the weights. Calling run() again
   * continues where the last one ended, with the next untrained step.
   */
  run() {
    if (this.running) throw new Error('this Trainer is already running');
    this.stopRequested = false;
    this.state = 'running';
    this.running = this.runEpochs().finally(() => {
      this.state = 'idle';
      this.running = null;
      this.releasePausedWaiters();
    });
    return this.running;
  }

  /** Where training stands (see Position): where a snapshot taken now resumes. @returns {Position} */
  position() {
    return { epoch: this.nextEpoch, step: this.nextStep };
  }

  /** Resolves once the loop has finished its current step and is paused (at once if it is not running). */
  pause() {
    if (!this.running || this.state === 'paused') return Promise.resolve();
    this.pauseRequested = true;
    return new Promise((resolve) => this.pausedWaiters.push(resolve));
  }

  resume() {
    this.pauseRequested = false;
    this.releasePause?.();
  }

  /** Lets the current step finish, then ends run(); resolves to run()'s result. */
  stop() {
    this.stopRequested = true;
    this.resume();
    return this.running ?? Promise.resolve(null);
  }

  releasePausedWaiters() {
    const waiters = this.pausedWaiters;
    this.pausedWaiters = [];
    waiters.forEach((resolve) => resolve());
  }

  /** Holds the loop between steps while paused; true when it should stop instead of going on. */
  async mayContinue() {
    if (this.pauseRequested && !this.stopRequested) {
      this.state = 'paused';
      const resumed = new Promise((resolve) => { this.releasePause = resolve; });
      this.releasePausedWaiters();
      await resumed;
      this.releasePause = null;
      this.state = 'running';
    }
    return !this.stopRequested;
  }

  /** @returns {Promise<TrainResult>} */
  async runEpochs() {
    /** @type {TrainResult['reason']} */
    let reason = 'done';
    while (this.nextEpoch < this.epochs) {
      const epoch = this.nextEpoch;
      const stats = await this.trainEpoch(epoch);
      if (!stats) {
        reason = 'stopped';
        break;
      }
      this.nextEpoch = epoch + 1;
      this.nextStep = 0;
      this.history.push(stats);
      if (this.onEpoch) await this.onEpoch(stats);
      if (!Number.isFinite(stats.train_loss)) {
        reason = 'nan';
        break;
      }
      if (this.stopRequested) {
        reason = 'stopped';
        break;
      }
    }
    return { reason, nextEpoch: this.nextEpoch, nextStep: this.nextStep, epochs: this.history };
  }

  /**
   * One epoch of training plus validation, from step nextStep on (the plan is the whole epoch's, so a resumed epoch
   * skips exactly the batches trained before); null if stopped before the training part ended (nextStep then says
   * where it stopped).
   * @param {number} epoch
   * @returns {Promise<EpochRecord | null>}
   */
  async trainEpoch(epoch) {
    const started = now();
    this.lr.epoch = epoch;
    // A streamed input brings its own order (data/stream_order.js); in memory, the plain per-epoch shuffle.
    const order = this.getBatch.orderOf?.(epoch) ?? epochOrder(this.trainCount, this.seed, epoch);
    const plan = planBatches(this.trainCount, this.batchSize, { mode: this.padMode, order });
    const firstStep = this.nextStep;
    const totals = new StepTotals();
    let pending = [];
    let images = 0;
    try {
      for (let step = firstStep; step < plan.length; step++) {
        if (!(await this.mayContinue())) return null;
        const { indices, weights, realCount } = plan[step];
        this.lr.applyTo(this.optimizer);
        const { xs, ys } = await this.getBatch(indices);
        let result;
        try {
          result = this.trainStep(xs, ys, weights);
        } finally {
          tf.dispose([xs, ys]);
        }
        pending.push({ ...result, realCount });
        images += realCount;
        this.nextStep = step + 1;
        const lastStep = step === plan.length - 1;
        let recent = null;
        if (lastStep || (this.readEvery > 0 && (step + 1) % this.readEvery === 0)) {
          const flushed = pending;
          pending = [];
          recent = await totals.flush(flushed);
        }
        await this.onStep?.({
          epoch, step, steps: plan.length, images, iteration: this.optimizer.iterations, indices,
          loss: recent?.loss ?? null, metrics: recent?.metrics ?? null,
        });
        await this.yieldFn();
      }
    } finally {
      disposeResults(pending);
    }
    const trainSeconds = (now() - started) / 1000;
    const val = await this.evaluate();
    const record = this.epochStats(epoch, totals.means(), val, images / trainSeconds, started, firstStep > 0);
    return firstStep > 0 ? { ...record, resumed_at_step: firstStep } : record;
  }

  /**
   * One optimizer step. The loss and the metrics stay on the device (kept past minimize's tidy) until the next
   * flush reads them all at once.
   * @param {Tensor} xs  @param {Tensor} ys  @param {Float32Array} weights  1 per real row, 0 per padding row
   * @returns {Omit<import('./step_totals.js').StepResult, 'realCount'>}
   */
  trainStep(xs, ys, weights) {
    return tf.tidy(() => {
      const rowWeights = tf.tensor1d(weights);
      let metrics;
      // Without an explicit list, minimize would differentiate against every trainable variable in the page.
      const variables = this.model.trainableWeights.map((/** @type {any} */ weight) => weight.read());
      const loss = this.optimizer.minimize(() => {
        const yPred = this.model.apply(xs, { training: true });
        skipUnusedInputGradients(tf, variables);
        metrics = this.task.metrics(ys, yPred, rowWeights);
        Object.values(metrics).forEach((tensor) => tf.keep(tensor));
        return this.task.loss(ys, yPred, rowWeights);
      }, true, variables);
      return { loss, metrics };
    });
  }

  /**
   * Loss and metrics on the validation set, without gradients, in batches of the training shape (padding rows
   * weighted 0). Returns {loss, metrics} of means (loss null without a validation set or when stopped meanwhile).
   */
  async evaluate() {
    const totals = new StepTotals();
    const { getValBatch } = this;  // never null when valCount > 0 (the constructor checks)
    if (this.valCount === 0 || !getValBatch) return totals.means();
    const plan = planBatches(this.valCount, this.batchSize, { mode: 'pad' });
    const pending = [];
    try {
      for (const { indices, weights, realCount } of plan) {
        if (this.stopRequested) return new StepTotals().means();
        const { xs, ys } = await getValBatch(indices);
        try {
          pending.push({ ...this.evaluateBatch(xs, ys, weights), realCount });
        } finally {
          tf.dispose([xs, ys]);
        }
        await this.yieldFn();
      }
      await totals.flush(pending.splice(0));
    } finally {
      disposeResults(pending);
    }
    return totals.means();
  }

  /** @param {Tensor} xs  @param {Tensor} ys  @param {Float32Array} weights */
  evaluateBatch(xs, ys, weights) {
    return tf.tidy(() => {
      const rowWeights = tf.tensor1d(weights);
      const yPred = this.model.apply(xs, { training: false });
      return { loss: this.task.loss(ys, yPred, rowWeights), metrics: this.task.metrics(ys, yPred, rowWeights) };
    });
  }

  /**
   * The epoch's EpochRecord, after the rate rule has seen it (it watches val_loss when there is one, else train_loss).
   * @param {number} epoch
   * @param {Means} train  @param {Means} val
   * @param {number} imagesPerSecond  @param {number} started  the epoch's start, from performance.now()
   * @param {boolean} [resumed]  the epoch resumed mid-way: its training means cover only its last steps
   * @returns {EpochRecord}
   */
  epochStats(epoch, train, val, imagesPerSecond, started, resumed = false) {
    const lrUsed = this.lr.lr;
    const decision = this.lr.endEpoch(epoch, val.loss ?? train.loss, { partial: resumed && val.loss === null });
    this.lr.applyTo(this.optimizer);
    const metricNames = Object.keys(train.metrics);
    const prefixed = (/** @type {string} */ prefix, /** @type {Record<string, number>} */ metrics) => Object.fromEntries(metricNames.map((name) => [`${prefix}_${name}`,
      metrics[name] ?? null]));
    const memory = tf.memory();
    return {
      epoch,
      train_loss: train.loss,
      ...prefixed('train', train.metrics),
      val_loss: val.loss,
      ...prefixed('val', val.metrics),
      lr: lrUsed,
      next_lr: decision.lr,
      lr_reason: decision.changed ? decision.reason : null,
      lr_note: decision.changed ? null : decision.reason,
      images_per_second: imagesPerSecond,
      iterations: this.optimizer.iterations,
      num_tensors: memory.numTensors,
      num_bytes: memory.numBytes,
      seconds: (now() - started) / 1000,
    };
  }
}
