/** Running means of the steps' losses and metrics, read back from the device in one transfer per flush (tip 17 of docs/tips.md). */
// @ts-check
import { tf } from '../tf.js';

/**
 * One step's results, still on the device: its loss and metrics (mean scalars over its real rows) and that row count.
 * @typedef {{ loss: any, metrics: Record<string, any>, realCount: number }} StepResult
 */

/**
 * Disposes the tensors of step results that will not be read.
 * @param {Array<Omit<StepResult, 'realCount'>>} results
 */
export function disposeResults(results) {
  for (const result of results) tf.dispose([result.loss, ...Object.values(result.metrics)]);
}

/**
 * Means over the real rows of some steps; loss null when there were none.
 * @typedef {{ loss: number | null, metrics: Record<string, number> }} Means
 */

/**
 * Running sums over many steps, filled from scalar tensors read back in one transfer per flush (tip 17: no
 * GPU→CPU sync per step). Each step's values are means over its real rows, so they are weighted by realCount.
 */
export class StepTotals {
  constructor() {
    this.count = 0;
    this.loss = 0;
    /** @type {Record<string, number>} */
    this.metrics = {};
  }

  /**
   * Reads and disposes `results`; returns the means of just these results (null for none).
   * @param {StepResult[]} results
   */
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

  /** @returns {Means} */
  means() {
    if (this.count === 0) return { loss: null, metrics: {} };
    /** @type {Record<string, number>} */
    const metrics = {};
    for (const [name, sum] of Object.entries(this.metrics)) metrics[name] = sum / this.count;
    return { loss: this.loss / this.count, metrics };
  }
}
