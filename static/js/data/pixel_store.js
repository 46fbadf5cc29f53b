/** The resized pixels of a dataset, decoded once into chunks in IndexedDB and held whole or streamed a window at a time. */
import { decodeResized, pixelBatch } from './images.js';
import { PIXEL_BUDGET_BYTES, PIXEL_CHUNK_ITEMS, chunkOf, chunksPerWindow, fitsBudget } from './stream_order.js';
import { deletePixelSet, markPixelsComplete, pixelSet, putPixelChunks, readPixelChunk } from './idb.js';
import { checkSpace, freeStorage, megabytes, readBlobs } from './sync.js';

const CHANNELS = 3;

/** Chunks decoded before they are written together: one transaction per few chunks, a few MB held meanwhile. */
export const DECODE_CHUNKS_PER_WRITE = 2;

const isQuotaError = (err) => err?.name === 'QuotaExceededError'
  || (err?.name === 'UnknownError' && /quota|space/i.test(err.message ?? ''));

/**
 * The pixel store of one run: per (dataset, hash, input size, resize mode, chunk size) a set of chunks of
 * `chunkItems` items' resized RGB bytes in IndexedDB, decoded on the first run that needs it and reused by later
 * ones (a set is trusted only once marked complete). When the whole set fits `budgetBytes`, every chunk is held
 * (`streaming` false: today's in-memory path). Otherwise at most `residentCap` chunks are held: the window being
 * trained on and the next one, prefetched meanwhile (data/stream_order.js). `stats` counts what a test checks:
 * items decoded, the most chunks held at once, chunk reads.
 */
export class PixelStore {
  /**
   * Opens (decoding when needed) the store of a loaded dataset (`data` from loadDataset). Options: budgetBytes,
   * chunkItems (tests force small ones to stream a small set), onProgress(done, total) during the decode pass.
   */
  static async open(data, size, mode = 'stretch', { budgetBytes = PIXEL_BUDGET_BYTES, chunkItems = PIXEL_CHUNK_ITEMS,
    onProgress = null } = {}) {
    const store = new PixelStore(data, size, mode, { budgetBytes, chunkItems });
    const set = await pixelSet(data.name, data.hash, store.layout);
    if (!(set?.complete && set.count === store.count)) await store.decodeAll(onProgress);
    if (!store.streaming) await store.ensure(store.allChunks(), []);
    return store;
  }

  constructor(data, size, mode, { budgetBytes, chunkItems }) {
    Object.assign(this, { data, size, mode, chunkItems, budgetBytes });
    this.stride = size * size * CHANNELS;
    this.count = data.items.length;
    this.chunkCount = Math.ceil(this.count / chunkItems);
    this.layout = `${size}/${mode}/${chunkItems}`;
    this.streaming = !fitsBudget(this.count, this.stride, budgetBytes);
    this.perWindow = this.streaming ? chunksPerWindow(chunkItems, this.stride, budgetBytes) : this.chunkCount;
    this.residentCap = this.streaming ? 2 * this.perWindow : this.chunkCount;
    this.resident = new Map();  // chunk -> Uint8Array
    this.loading = new Map();   // chunk -> Promise<Uint8Array>
    this.wanted = new Set();
    this.stats = { decoded: 0, chunkReads: 0, maxResident: 0 };
  }

  allChunks() {
    return Array.from({ length: this.chunkCount }, (_, chunk) => chunk);
  }

  /** Items [start, end) of chunk `chunk`. */
  chunkRange(chunk) {
    return [chunk * this.chunkItems, Math.min(this.count, (chunk + 1) * this.chunkItems)];
  }

  /**
   * The decode pass: every chunk decoded and written (a few per transaction), then the set marked complete. Storage
   * is checked first; if it runs out anyway, the chunks written so far are removed and the run fails saying so.
   */
  async decodeAll(onProgress) {
    const { name, hash } = this.data;
    const bytes = this.count * this.stride;
    await checkSpace(bytes, `storing the resized images (${this.count} at ${this.size}×${this.size})`);
    let batch = [];
    try {
      for (let chunk = 0; chunk < this.chunkCount; chunk++) {
        const [start, end] = this.chunkRange(chunk);
        const pixels = await decodeResized(await readBlobs(this.data, start, end), this.size, this.mode,
          onProgress && ((done) => onProgress(start + done, this.count)));
        this.stats.decoded += end - start;
        batch.push({ chunk, pixels });
        if (!this.streaming) this.resident.set(chunk, pixels);
        if (batch.length === DECODE_CHUNKS_PER_WRITE || chunk === this.chunkCount - 1) {
          await putPixelChunks(name, hash, this.layout, batch);
          batch = [];
        }
      }
    } catch (err) {
      this.resident.clear();
      if (!isQuotaError(err)) throw err;
      await deletePixelSet(name, hash, this.layout).catch(() => {});
      const free = await freeStorage().catch(() => null);
      throw new Error(`the browser ran out of storage for the resized images: they need ${megabytes(bytes)}`
        + `${free === null ? '' : `, ${megabytes(free)} is free`}; free some space, or use a smaller input size or dataset`,
        { cause: err });
    }
    await markPixelsComplete(name, hash, this.layout, { chunks: this.chunkCount, count: this.count });
  }

  /** One chunk's pixels, read from IndexedDB (shared by concurrent callers). */
  load(chunk) {
    if (this.resident.has(chunk)) return Promise.resolve(this.resident.get(chunk));
    if (!this.loading.has(chunk)) {
      const { name, hash } = this.data;
      const read = readPixelChunk(name, hash, this.layout, chunk).then((pixels) => {
        if (!pixels) throw new Error(`chunk ${chunk} of the resized images is missing from this browser's storage`);
        this.stats.chunkReads += 1;
        if (this.wanted.has(chunk)) {
          this.resident.set(chunk, pixels);
          this.stats.maxResident = Math.max(this.stats.maxResident, this.resident.size);
        }
        return pixels;
      }).finally(() => this.loading.delete(chunk));
      this.loading.set(chunk, read);
    }
    return this.loading.get(chunk);
  }

  /**
   * Holds the chunks `needed` (awaited) and starts reading `next` (not awaited), dropping every other chunk; `next`
   * is cut so that no more than residentCap chunks are held (the needed ones always are).
   */
  async ensure(needed, next = []) {
    const wanted = new Set(needed);
    for (const chunk of next) {
      if (wanted.size >= this.residentCap) break;
      wanted.add(chunk);
    }
    this.wanted = wanted;
    for (const chunk of [...this.resident.keys()]) if (!wanted.has(chunk)) this.resident.delete(chunk);
    for (const chunk of wanted) if (!needed.includes(chunk)) this.load(chunk).catch(() => {});  // retried when needed
    await Promise.all([...new Set(needed)].map((chunk) => this.load(chunk)));
  }

  /**
   * The pixels of items `indices` ([size, size, 3] rows), reading `next` chunks ahead. Items from more chunks than
   * may be held at once (a random sample, e.g. the initial-scale batch) are read a cap's worth of chunks at a time
   * and copied out, so the bound holds for every read.
   */
  async rowsOf(indices, next = []) {
    const chunks = [...new Set(indices.map((index) => chunkOf(index, this.chunkItems)))];
    if (chunks.length <= this.residentCap) {
      await this.ensure(chunks, next);
      return indices.map((index) => this.item(index));
    }
    const rows = new Array(indices.length);
    for (let start = 0; start < chunks.length; start += this.residentCap) {
      const group = new Set(chunks.slice(start, start + this.residentCap));
      await this.ensure([...group]);
      indices.forEach((index, row) => {
        if (group.has(chunkOf(index, this.chunkItems))) rows[row] = this.item(index).slice();
      });
    }
    return rows;
  }

  /** The raw pixels of one held item, [size, size, 3] values in 0..255 (for previews and tests). */
  item(index) {
    const chunk = chunkOf(index, this.chunkItems);
    const pixels = this.resident.get(chunk);
    if (!pixels) throw new Error(`item ${index} is not in memory (its chunk ${chunk} was not read)`);
    const offset = (index - chunk * this.chunkItems) * this.stride;
    return pixels.subarray(offset, offset + this.stride);
  }

  /** A normalised float32 batch [n, size, size, 3] for the given held item indices. */
  batch(indices, mode) {
    return pixelBatch(indices.map((index) => this.item(index)), this.size, mode);
  }

  close() {
    this.wanted = new Set();
    this.resident.clear();
  }
}
