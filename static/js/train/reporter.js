/** Sends a run's epochs and snapshots to the server without ever stopping training when the server is away. */
// @ts-check
import { tf } from '../tf.js';
import * as api from '../api.js';

/**
 * An epoch as the run log stores it: the Trainer's record plus where it ran and the rate rule's state, from which a
 * resumed run restores its schedule.
 * @typedef {import('./loop.js').EpochRecord & { backend: string, lr_state: LrState }} PostedEpoch
 *
 * @typedef {object} LrState  LrController.state() (train/schedule.js)
 * @property {number} lr
 * @property {number} epoch  the next epoch to train
 * @property {Array<{ epoch: number, lr: number, reason: string }>} history  every change of the rate, first one 'initial'
 * @property {object | null} plateau  the plateau rule's own state, null for a fixed rate
 */

/**
 * What the server answers to a snapshot (server/runs/snapshots.py).
 * @typedef {object} SnapshotMeta
 * @property {number} seq             the run's snapshot number, from 1
 * @property {number | null} epoch   epochs done when it was taken
 * @property {number} [step]          steps of the next epoch done, for a snapshot taken mid-epoch (absent: none)
 * @property {string} created_at
 * @property {number} weight_bytes
 * @property {string} sha256          of the weights
 */

export class Reporter {
  /**
   * @param {string} runId
   * @param {(text: string) => void} [onWarning]  told when the server is away or refuses something (training goes on)
   */
  constructor(runId, onWarning) {
    this.runId = runId;
    this.onWarning = onWarning;
    /** Epoch records the server has not acknowledged yet, oldest first. @type {PostedEpoch[]} */
    this.unsent = [];
    /** Epochs done at the last snapshot that failed to arrive, or null. @type {number | null} */
    this.snapshotOwed = null;
  }

  /**
   * Queue the record and send everything queued; on failure keep it for the next try.
   * @param {PostedEpoch} record
   */
  async epoch(record) {
    this.unsent.push(record);
    await this.flush();
  }

  /** @returns {Promise<boolean>} whether nothing is left unsent */
  async flush() {
    while (this.unsent.length) {
      try {
        await api.postEpoch(this.runId, this.unsent[0]);
        this.unsent.shift();
      } catch (err) {
        if (err.status && err.status < 500) {  // refused for good: dropping it beats blocking the rest
          this.onWarning?.(`epoch ${this.unsent[0].epoch} was refused: ${err.message}`);
          this.unsent.shift();
          continue;
        }
        // Unreachable, or a 5xx such as 507 (the server's disk is full): keep everything and try again later.
        const why = err.status ? `the server answered ${err.status} (${err.message})` : 'server unreachable';
        this.onWarning?.(`${why}; ${this.unsent.length} epoch record(s) will be sent later`);
        return false;
      }
    }
    return true;
  }

  /**
   * POST the model exactly as tfjs sends it, with the optimizer's state and its position so a run resumes where it
   * stopped, mid-epoch included.
   * @param {any} model  a tf.LayersModel
   * @param {import('./loop.js').Position} position  step 0: after `epoch` whole epochs
   * @returns {Promise<SnapshotMeta | null>} null when it did not arrive (it is owed, and retried after the next epoch)
   */
  async snapshot(model, { epoch, step }) {
    // tfjs 4.22's optimizer.getWeights() makes an `iter` scalar that save() never disposes: one leaked tensor per
    // snapshot. A scope around the save reclaims it (training is waiting for this call, so nothing else is in it).
    tf.engine().startScope();
    try {
      const result = await model.save(
        tf.io.http(api.snapshotUrl(this.runId, epoch, step), { requestInit: { headers: api.attemptHeaders(this.runId) } }),
        { includeOptimizer: true });
      const response = result.responses?.[0];
      if (response && !response.ok) throw new Error(`HTTP ${response.status}`);
      this.snapshotOwed = null;
      return response ? await response.json() : null;
    } catch (err) {
      this.snapshotOwed = epoch;
      const where = step > 0 ? `at step ${step} of epoch ${epoch + 1}` : `after epoch ${epoch}`;
      this.onWarning?.(`snapshot ${where} did not reach the server (${err.message}); it will be retried`);
      return null;
    } finally {
      tf.engine().endScope();
    }
  }

  /**
   * Final status and summary; retries what is owed first.
   * @param {string} status  'finished', 'stopped' or 'failed'
   * @param {object} summary
   */
  async finish(status, summary) {
    await this.flush();
    try {
      await api.updateRun(this.runId, { status, summary });
    } catch (err) {
      this.onWarning?.(`could not record the run's end: ${err.message}`);
    }
  }
}
