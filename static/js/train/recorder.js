/**
 * What a run does after each epoch and at its end: post the epoch record, take a snapshot when one is due, and decide
 * whether training ends there. The session (train/session.js) wires it to the Trainer's onEpoch; the sending itself
 * (retries, a server that is away) is the Reporter's job (train/reporter.js).
 */
// @ts-check

/** @typedef {import('./reporter.js').PostedEpoch} PostedEpoch */
/** @typedef {import('./loop.js').TrainResult} TrainResult */
/** @typedef {import('./loop.js').Position} Position */

/**
 * The part of the Reporter the recorder uses: `epoch` sends (or queues) a record, `snapshotOwed` is the epoch count
 * of a snapshot that failed to arrive (null when none is owed).
 * @typedef {object} EpochSink
 * @property {(record: PostedEpoch) => Promise<unknown>} epoch
 * @property {number | null} snapshotOwed
 */

/**
 * @typedef {object} RecorderOptions
 * @property {EpochSink} reporter
 * @property {number} epochs           the run's planned epoch count: a snapshot is always taken after the last one
 * @property {number} snapshotEvery    a snapshot after every N-th epoch (counted from the run's first epoch, 1-based)
 * @property {number} [startEpoch]     the first epoch this attempt trains (a resumed run's); 0 for a new run
 * @property {number} [startStep]      the first step of startEpoch this attempt trains (resumed mid-epoch); else 0
 * @property {(position: Position) => Promise<unknown>} snapshot  saves the model as it is at `position` (step 0:
 *                                     after `position.epoch` whole epochs)
 * @property {(record: PostedEpoch) => string | null} [endAfter]  a reason to end training after this epoch, or null
 */

export class EpochRecorder {
  /** @param {RecorderOptions} options */
  constructor({ reporter, epochs, snapshotEvery, startEpoch = 0, startStep = 0, snapshot, endAfter = () => null }) {
    if (!(Number.isInteger(snapshotEvery) && snapshotEvery > 0)) {
      throw new Error(`snapshotEvery must be a positive integer, got ${snapshotEvery}`);
    }
    this.reporter = reporter;
    this.epochs = epochs;
    this.snapshotEvery = snapshotEvery;
    this.startEpoch = startEpoch;
    this.startStep = startStep;
    this.takeSnapshot = snapshot;
    this.endAfter = endAfter;
    /** Why training was ended early (endAfter's reason), or null while it goes on. @type {string | null} */
    this.endedBy = null;
    /** Optimizer steps at the last snapshot that was sent: a stop right after it needs no second one. @type {number | null} */
    this.snapshotIterations = null;
  }

  /**
   * True when a snapshot belongs after `epochsDone` epochs: every snapshotEvery-th, the last, or one still owed.
   * @param {number} epochsDone
   */
  snapshotDue(epochsDone) {
    return epochsDone % this.snapshotEvery === 0 || epochsDone === this.epochs || this.reporter.snapshotOwed !== null;
  }

  /**
   * Records one finished epoch: posts it, then snapshots if due (after the post, so the run log never lags the
   * snapshots). Resolves to true when training should stop here (endAfter gave a reason, kept in `endedBy`).
   * @param {PostedEpoch} record
   * @returns {Promise<boolean>}
   */
  async epoch(record) {
    await this.reporter.epoch(record);
    const epochsDone = record.epoch + 1;
    if (this.snapshotDue(epochsDone)) await this.snapshot({ epoch: epochsDone, step: 0 }, record.iterations);
    this.endedBy ??= this.endAfter(record);
    return this.endedBy !== null;
  }

  /**
   * A snapshot between steps (on pause, or every so often in a long epoch), unless nothing trained since the last.
   * The caller holds the loop still meanwhile. Resolves to whether one was sent.
   * @param {Position} position  @param {number} iterations  the optimizer's step count now
   */
  async between(position, iterations) {
    if (iterations === this.snapshotIterations) return false;
    await this.snapshot(position, iterations);
    return true;
  }

  /**
   * At the end of training: a stopped run keeps what it learned since its last snapshot, with its position (a stop
   * mid-epoch saves which steps of the unfinished epoch are done, so a resume trains only the rest). Resolves to the reason the run ended: endAfter's reason if it stopped the run,
   * else the Trainer's ('done', 'stopped', 'nan').
   * @param {TrainResult} result
   * @param {number} iterations  the optimizer's step count now
   * @returns {Promise<string>}
   */
  async finish(result, iterations) {
    const moved = result.nextEpoch > this.startEpoch || result.nextStep > this.startStep;
    if (result.reason === 'stopped' && moved && iterations !== this.snapshotIterations) {
      await this.snapshot({ epoch: result.nextEpoch, step: result.nextStep }, iterations);
    }
    return result.reason === 'stopped' && this.endedBy ? this.endedBy : result.reason;
  }

  /** @param {Position} position @param {number} iterations */
  async snapshot(position, iterations) {
    await this.takeSnapshot(position);
    this.snapshotIterations = this.reporter.snapshotOwed === null ? iterations : null;
  }
}
