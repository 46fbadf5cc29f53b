/** The training loop: epochs of fixed-shape, shuffled steps with async loss reads, validation, pause and stop. */
import { tf } from '../tf.js';
import { epochOrder } from '../data/split.js';
import { planBatches } from '../data/batches.js';
import { LrController } from './schedule.js';
import { fuseAdamOnWasm } from './fused_adam.js';

/**
 * Gives the page a chance to paint and handle input between steps. tf.nextFrame waits for an animation frame in a
 * browser (which a hidden tab does not get: pass `yieldFn` to train there) and for setImmediate in Node.
 */
const nextFrame = () => tf.nextFrame();

const now = () => globalThis.performance.now();

function disposeResults(results) {
  for (const result of results) tf.dispose([result.loss, ...Object.values(result.metrics)]);
}

/**
 * Running sums over many steps, filled from scalar tensors read back in one transfer per flush (tip 17: no
 * GPU→CPU sync per step). Each step's values are means over its real rows, so they are weighted by realCount.
 */
class StepTotals {
  constructor() {
    this.count = 0;
    this.loss = 0;
    this.metrics = {};
  }

  /** Reads and disposes `results` ({loss, metrics, realCount}); returns the means of just these results. */
  async flush(results) {
    if (results.length === 0) return null;
    const names = Object.keys(results[0].metrics);
    const stacked = tf.tidy(() => tf.stack(results.flatMap((r) => [r.loss, ...names.map((n) => r.metrics[n])])));
    let values;
    try {
      values = await stacked.data();
    } finally {
      stacked.dispose();
      disposeResults(results);
    }
    const recent = new StepTotals();
    results.forEach((result, i) => {
      const row = values.subarray(i * (names.length + 1), (i + 1) * (names.length + 1));
      for (const totals of [this, recent]) {
        totals.count += result.realCount;
        totals.loss += row[0] * result.realCount;
        names.forEach((name, n) => {
          totals.metrics[name] = (totals.metrics[name] ?? 0) + row[n + 1] * result.realCount;
        });
      }
    });
    return recent.means();
  }

  means() {
    if (this.count === 0) return { loss: null, metrics: {} };
    const metrics = {};
    for (const [name, sum] of Object.entries(this.metrics)) metrics[name] = sum / this.count;
    return { loss: this.loss / this.count, metrics };
  }
}

/**
 * Trains `model` for `task`. The caller owns the model and the optimizer (and disposes them); the Trainer owns and
 * disposes every tensor getBatch/getValBatch hand it.
 *
 * Options:
 *   model, task                     a tf.LayersModel and a task from model/tasks.js
 *   getBatch(indices)               → {xs, ys} (or a promise of it) for training item indices in [0, trainCount)
 *   trainCount, batchSize           every step has exactly batchSize rows (see planBatches)
 *   valCount, getValBatch(indices)  optional validation set, indices in [0, valCount)
 *   epochs                          train until this many epochs exist in total (epochs startEpoch..epochs-1)
 *   startEpoch                      first epoch to train, when resuming
 *   seed                            the shuffle of epoch e depends on (seed, e) only, so a resumed run reshuffles alike
 *   lr                              an LrController; default: 0.001 with the plateau rule
 *   optimizer                       default tf.train.adam(lr.lr); its step count (iterations) is never reset here
 *   padMode                         'pad' (default: every item every epoch) or 'drop' (skip the short last batch)
 *   readEvery                       read the losses every K steps for onStep (0: only at the epoch end)
 *   onStep(info)                    {epoch, step, steps, images, iteration, loss, metrics}; loss/metrics are the
 *                                   means since the last read on steps where a read happened, else null
 *   onEpoch(stats)                  awaited after each epoch; stats as documented at epochStats()
 *   yieldFn                         awaited between steps; default tf.nextFrame
 */
export class Trainer {
  constructor(options) {
    const {
      model, task, getBatch, trainCount, batchSize = 32, epochs, startEpoch = 0, seed = 0,
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
    Object.assign(this, {
      model, task, getBatch, trainCount, batchSize, epochs, seed, valCount, getValBatch, padMode, readEvery,
      onStep, onEpoch, yieldFn,
    });
    this.lr = lr ?? new LrController({ lr: optimizer?.learningRate ?? 0.001, epoch: startEpoch });
    this.optimizer = fuseAdamOnWasm(optimizer ?? tf.train.adam(this.lr.lr));
    this.nextEpoch = startEpoch;
    this.history = [];
    this.state = 'idle';
    this.stopRequested = false;
    this.pauseRequested = false;
    this.pausedWaiters = [];
    this.releasePause = null;
    this.running = null;
  }

  /**
   * Trains from `nextEpoch` up to `epochs`. Resolves to {reason: 'done'|'stopped'|'nan', nextEpoch, epochs: stats[]}.
   * After a stop mid-epoch, nextEpoch is that unfinished epoch (its steps so far did update the weights).
   * Calling run() again continues where the last one ended.
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

  async runEpochs() {
    let reason = 'done';
    while (this.nextEpoch < this.epochs) {
      const epoch = this.nextEpoch;
      const stats = await this.trainEpoch(epoch);
      if (!stats) {
        reason = 'stopped';
        break;
      }
      this.nextEpoch = epoch + 1;
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
    return { reason, nextEpoch: this.nextEpoch, epochs: this.history };
  }

  /** One epoch of training plus validation; null if stopped before the training part ended. */
  async trainEpoch(epoch) {
    const started = now();
    this.lr.epoch = epoch;
    const order = epochOrder(this.trainCount, this.seed, epoch);
    const plan = planBatches(this.trainCount, this.batchSize, { mode: this.padMode, order });
    const totals = new StepTotals();
    let pending = [];
    let images = 0;
    try {
      for (let step = 0; step < plan.length; step++) {
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
        const lastStep = step === plan.length - 1;
        let recent = null;
        if (lastStep || (this.readEvery > 0 && (step + 1) % this.readEvery === 0)) {
          const flushed = pending;
          pending = [];
          recent = await totals.flush(flushed);
        }
        this.onStep?.({
          epoch, step, steps: plan.length, images, iteration: this.optimizer.iterations,
          loss: recent?.loss ?? null, metrics: recent?.metrics ?? null,
        });
        await this.yieldFn();
      }
    } finally {
      disposeResults(pending);
    }
    const trainSeconds = (now() - started) / 1000;
    const val = await this.evaluate();
    return this.epochStats(epoch, totals.means(), val, images / trainSeconds, started);
  }

  /**
   * One optimizer step. The loss and the metrics stay on the device (kept past minimize's tidy) until the next
   * flush reads them all at once.
   */
  trainStep(xs, ys, weights) {
    return tf.tidy(() => {
      const rowWeights = tf.tensor1d(weights);
      let metrics;
      // Without an explicit list, minimize would differentiate against every trainable variable in the page.
      const variables = this.model.trainableWeights.map((weight) => weight.read());
      const loss = this.optimizer.minimize(() => {
        const yPred = this.model.apply(xs, { training: true });
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
    if (this.valCount === 0) return totals.means();
    const plan = planBatches(this.valCount, this.batchSize, { mode: 'pad' });
    const pending = [];
    try {
      for (const { indices, weights, realCount } of plan) {
        if (this.stopRequested) return new StepTotals().means();
        const { xs, ys } = await this.getValBatch(indices);
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

  evaluateBatch(xs, ys, weights) {
    return tf.tidy(() => {
      const rowWeights = tf.tensor1d(weights);
      const yPred = this.model.apply(xs, { training: false });
      return { loss: this.task.loss(ys, yPred, rowWeights), metrics: this.task.metrics(ys, yPred, rowWeights) };
    });
  }

  /**
   * The per-epoch record: {epoch, train_loss, train_<metric>..., val_loss, val_<metric>... (null without
   * validation), lr (the rate this epoch ended with), next_lr, lr_reason (why it changed, else null),
   * images_per_second (real training images, padding excluded), iterations (optimizer steps so far),
   * num_tensors, num_bytes (tf.memory() after the epoch's tensors are gone), seconds}.
   * The plateau rule watches val_loss when there is one, else train_loss.
   */
  epochStats(epoch, train, val, imagesPerSecond, started) {
    const lrUsed = this.lr.lr;
    const decision = this.lr.endEpoch(epoch, val.loss ?? train.loss);
    this.lr.applyTo(this.optimizer);
    const stats = { epoch, train_loss: train.loss };
    for (const [name, value] of Object.entries(train.metrics)) stats[`train_${name}`] = value;
    stats.val_loss = val.loss;
    const metricNames = Object.keys(train.metrics);
    for (const name of metricNames) stats[`val_${name}`] = val.metrics[name] ?? null;
    const memory = tf.memory();
    return Object.assign(stats, {
      lr: lrUsed,
      next_lr: decision.lr,
      lr_reason: decision.changed ? decision.reason : null,
      lr_note: decision.changed ? null : decision.reason,
      images_per_second: imagesPerSecond,
      iterations: this.optimizer.iterations,
      num_tensors: memory.numTensors,
      num_bytes: memory.numBytes,
      seconds: (now() - started) / 1000,
    });
  }
}
