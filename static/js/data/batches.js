/** Fixed-shape batch planning: every batch of an epoch has exactly batchSize rows, padded or dropped. */
// @ts-check

/**
 * One planned batch: `indices` (batchSize item indices), `weights` (batchSize: 1 for a real row, 0 for padding) and
 * `realCount` (its real rows, which come first).
 * @typedef {{ indices: number[], weights: Float32Array, realCount: number }} PlannedBatch
 */

/**
 * Plans the batches of one epoch. Every returned batch has exactly `batchSize` indices, because a new batch shape
 * costs seconds of WebGL shader compiles.
 *
 * mode 'pad': the last short batch is filled by repeating positions from the start of the epoch order; those rows
 *   get weight 0 so they add nothing to the loss or the metrics. If there are fewer items than batchSize, the items
 *   repeat as often as needed.
 * mode 'drop': the last short batch is left out (it is seen in a later epoch, since the order changes per epoch).
 *
 * `order` (optional, length numItems) maps positions to item indices, e.g. an epochOrder() result; without it the
 * indices are the positions 0..numItems-1.
 * @param {number} numItems
 * @param {number} batchSize
 * @param {{ mode?: 'pad' | 'drop', order?: ArrayLike<number> | null }} [options]
 * @returns {PlannedBatch[]}
 */
export function planBatches(numItems, batchSize, { mode = 'pad', order = null } = {}) {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  }
  if (!Number.isInteger(numItems) || numItems < 0) {
    throw new Error(`numItems must be a non-negative integer, got ${numItems}`);
  }
  if (mode !== 'pad' && mode !== 'drop') {
    throw new Error(`mode must be 'pad' or 'drop', got ${mode}`);
  }
  if (order && order.length !== numItems) {
    throw new Error(`order has ${order.length} entries for ${numItems} items`);
  }
  const count = batchCount(numItems, batchSize, mode);
  const batches = [];
  for (let b = 0; b < count; b++) {
    const start = b * batchSize;
    const realCount = Math.min(batchSize, numItems - start);
    const indices = new Array(batchSize);
    const weights = new Float32Array(batchSize);
    for (let row = 0; row < batchSize; row++) {
      const position = row < realCount ? start + row : (row - realCount) % numItems;
      indices[row] = order ? order[position] : position;
      weights[row] = row < realCount ? 1 : 0;
    }
    batches.push({ indices, weights, realCount });
  }
  return batches;
}

/**
 * How many batches planBatches yields for these numbers.
 * @param {number} numItems @param {number} batchSize @param {'pad' | 'drop'} [mode]
 */
export function batchCount(numItems, batchSize, mode = 'pad') {
  return mode === 'drop' ? Math.floor(numItems / batchSize) : Math.ceil(numItems / batchSize);
}
