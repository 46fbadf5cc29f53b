/** How resized pixels are chunked and streamed: chunk and window sizes, and the seeded streaming order of an epoch. */
// @ts-check
import { deriveSeed, shuffled } from './random.js';

/** Items per stored chunk of resized pixels (one IndexedDB record; 256 items at 64 px are 3 MB). */
export const PIXEL_CHUNK_ITEMS = 256;
/**
 * The most bytes of resized pixels a run keeps in the tab. A dataset whose pixels fit is held whole (the plain
 * per-epoch shuffle of data/split.js); a larger one streams: half the budget holds the window being trained on, the
 * other half the next window, read from IndexedDB meanwhile.
 */
export const PIXEL_BUDGET_BYTES = 64 * 1024 ** 2;

/** The chunk that item `index` lives in. */
export const chunkOf = (index, chunkItems = PIXEL_CHUNK_ITEMS) => Math.floor(index / chunkItems);

/** Whether `count` items of `stride` bytes fit the budget whole (then nothing streams). */
export const fitsBudget = (count, stride, budgetBytes = PIXEL_BUDGET_BYTES) => count * stride <= budgetBytes;

/**
 * Chunks per window: two windows (the current one and the prefetched next one) stay within the budget; at least one
 * chunk, so a budget under two chunks still streams, one chunk at a time.
 */
export function chunksPerWindow(chunkItems, stride, budgetBytes = PIXEL_BUDGET_BYTES) {
  return Math.max(1, Math.floor(budgetBytes / (2 * chunkItems * stride)));
}

/**
 * A streamed visiting order over `list` (a split's positions {index} into the dataset's items):
 * `order` (positions 0..list.length-1, each exactly once), `windowOf` (the window of each position) and `windows`
 * (each window's chunks). The order is a pure function of (seed, epoch, list, chunkItems, perWindow), so a resumed
 * run recomputes it:
 *  1. the chunks that hold the list's items, ascending, shuffled with (seed, epoch) — unless `epoch` is null
 *     (validation and evaluation read in order);
 *  2. consecutive runs of `perWindow` chunks of that order form the windows;
 *  3. within each window, the positions whose items it holds are shuffled with (seed, epoch, window) (kept in list
 *     order when `epoch` is null), and the windows' positions are concatenated.
 * @param {ReadonlyArray<{ index: number }>} list
 * @param {{ seed?: number | string, epoch?: number | null, chunkItems?: number, perWindow: number }} options
 */
export function streamOrder(list, { seed = 0, epoch = null, chunkItems = PIXEL_CHUNK_ITEMS, perWindow }) {
  if (!(Number.isInteger(perWindow) && perWindow >= 1)) throw new Error(`perWindow must be a positive integer, got ${perWindow}`);
  /** @type {Map<number, number[]>} */
  const positionsByChunk = new Map();
  list.forEach((item, position) => {
    const chunk = chunkOf(item.index, chunkItems);
    if (!positionsByChunk.has(chunk)) positionsByChunk.set(chunk, []);
    positionsByChunk.get(chunk)?.push(position);
  });
  const ascending = [...positionsByChunk.keys()].sort((a, b) => a - b);
  const chunks = epoch === null ? ascending : shuffled(ascending, deriveSeed(seed, 'stream-chunks', epoch));
  const order = [];
  const windowOf = new Int32Array(list.length);
  /** @type {number[][]} */
  const windows = [];
  for (let start = 0; start < chunks.length; start += perWindow) {
    const window = windows.length;
    const inWindow = chunks.slice(start, start + perWindow);
    const positions = inWindow.flatMap((chunk) => positionsByChunk.get(chunk) ?? []);
    if (epoch === null) positions.sort((a, b) => a - b);
    const visited = epoch === null ? positions : shuffled(positions, deriveSeed(seed, 'stream-window', epoch, window));
    for (const position of visited) {
      order.push(position);
      windowOf[position] = window;
    }
    windows.push(inWindow);
  }
  return { order, windowOf, windows };
}
