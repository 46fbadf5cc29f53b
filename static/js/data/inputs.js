/** A run's inputs: the resized pixels of every item, the split, the task's labels, and the (augmented) batches. */
import { pixelBatch } from './images.js';
import { PixelStore } from './pixel_store.js';
import { streamOrder } from './stream_order.js';
import { chunkedBlobs } from './sync.js';
import { Augmenter, isAugmenting } from './augment.js';
import { splitItems, splitSeedOf } from './split.js';
import { inputAnnotations, movedAnnotation } from './annotations.js';
import { mirrorPairs } from './augment_geometry.js';

/**
 * Built once per run from a loaded dataset ({name, hash, task, classes, pointNames, items: [{id, label |
 * annotation}]}, blobs in IndexedDB) and the run config. `split.train` and `split.val` hold positions {index, label}
 * into data.items. The task (an unprepared one from model/tasks.js) is prepared here, on the training split's labels
 * (detection learns its anchors from them); `inputs.task` is the prepared one. Call close() when done.
 */
export class RunInputs {
  /**
   * Decodes and resizes every item once (tip 14 of docs/tips.md) into the pixel store, splits them, and lets
   * `subset` narrow the split (sanity runs). `pixelOptions` ({budgetBytes, chunkItems, recordReads}) are for tests:
   * a small budget streams a small set, and recordReads keeps the training positions read per epoch in `reads`.
   */
  static async prepare(data, config, { task, taskOptions = {}, subset = (split) => split, onProgress, pixelOptions = {} } = {}) {
    const { recordReads = false, ...storeOptions } = pixelOptions;
    const pixels = await PixelStore.open(data, config.inputSize, config.resize, { ...storeOptions, onProgress });
    const blobAt = chunkedBlobs(data, pixels.chunkItems, pixels.residentCap);
    const positions = data.items.map((item, index) => ({ index, label: item.label ?? null }));
    const split = subset(splitItems(positions, { valFraction: config.valFraction, seed: splitSeedOf(config) }));
    const annotations = inputAnnotations(data.items, config.inputSize, config.resize);
    const prepared = task.prepare(
      { classes: data.classes, pointNames: data.pointNames, labels: annotations ? split.train.map((p) => annotations[p.index]) : [] },
      { inputSize: config.inputSize, seed: config.seed, ...taskOptions });
    const inputs = new RunInputs({ data, config, task: prepared, pixels, split, blobAt, annotations });
    if (recordReads) inputs.reads = new Map();
    return inputs;
  }

  constructor({ data, config, task, pixels, split, blobAt, annotations = null }) {
    Object.assign(this, { data, config, task, pixels, split, annotations });
    this.augmenter = isAugmenting(config.augment)
      ? new Augmenter(config.augment, { pixels, blobAt, seed: config.seed })
      : null;
    this.reads = null;  // epoch -> training positions read, in order (tests only: see prepare)
    this.pairs = mirrorPairs(data.pointNames ?? []);
  }

  /**
   * The label item `index` is trained on: a class name, or its annotation in shares of the input ({width: 1,
   * height: 1, boxes | points, box}) moved by the epoch's augmentation when `epoch` is given and augmentation is on.
   */
  labelOf(index, epoch = null) {
    if (!this.annotations) return this.data.items[index].label;
    const annotation = this.annotations[index];
    if (epoch === null || !this.augmenter) return annotation;
    return movedAnnotation(annotation, this.augmenter.paramsOf(index, epoch), this.pairs);
  }

  /**
   * The streamed visiting order of `list` in `epoch` (null: in order, for validation), remembered for the last
   * two epochs asked (data/stream_order.js).
   */
  visitOf(list, epoch) {
    this.visits ??= new WeakMap();
    if (!this.visits.has(list)) this.visits.set(list, new Map());
    const cached = this.visits.get(list);
    if (!cached.has(epoch)) {
      if (cached.size >= 2) cached.delete(cached.keys().next().value);
      cached.set(epoch, streamOrder(list, { seed: this.config.seed, epoch, chunkItems: this.pixels.chunkItems,
        perWindow: this.pixels.perWindow }));
    }
    return cached.get(epoch);
  }

  /**
   * What a streamed batch of `list` positions holds: the chunks of its items, and to read ahead the rest of the
   * windows it touches plus the window after the last of them (at the last window, the next epoch's first one).
   */
  chunksFor(list, indices, epoch) {
    const visit = this.visitOf(list, epoch);
    const touched = [...new Set(indices.map((i) => visit.windowOf[i]))];
    const last = Math.max(...touched);
    const following = last + 1 < visit.windows.length ? visit.windows[last + 1]
      : epoch === null ? [] : this.visitOf(list, epoch + 1).windows[0];
    return [...touched.flatMap((w) => visit.windows[w]), ...following];
  }

  /**
   * A Trainer-style getBatch over `list` (split.train or split.val): indices into the list → {xs, ys, labels}
   * (labels: labelOf per row, for previews). With `epochOf` (→ the epoch the batch is for) and augmentation on, the
   * pixels and annotations are that epoch's augmentation; without it (validation, evaluation) they are the plain ones.
   * When the pixels stream, a training reader (with `epochOf`) carries `orderOf(epoch)`, the streamed order the
   * Trainer visits instead of its in-memory shuffle, and reads its chunks a window ahead; any reader reads chunks.
   */
  reader(list, epochOf = null) {
    const augmenter = epochOf ? this.augmenter : null;
    const streaming = this.pixels.streaming;
    const read = async (indices) => {
      const chosen = indices.map((i) => list[i]);
      const epoch = epochOf ? epochOf() : null;
      const items = chosen.map((p) => p.index);
      const base = streaming ? await this.pixels.rowsOf(items, this.chunksFor(list, indices, epoch))
        : items.map((index) => this.pixels.item(index));
      if (epochOf && this.reads) {
        if (!this.reads.has(epoch)) this.reads.set(epoch, []);
        this.reads.get(epoch).push(...indices);
      }
      const rows = augmenter
        ? await Promise.all(items.map((index, row) => augmenter.pixelsOf(index, epoch, base[row])))
        : base;
      const labels = chosen.map((p) => this.labelOf(p.index, epoch));
      return {
        xs: pixelBatch(rows, this.pixels.size, this.config.normalization),
        ys: this.task.encodeLabels(labels, this.data.classes),
        labels,
      };
    };
    if (streaming && epochOf) read.orderOf = (epoch) => this.visitOf(list, epoch).order;
    return read;
  }

  /**
   * For evaluation rows: position i of `list` → {item_id, label} (item_id is the dataset manifest's id); annotated
   * sets add `annotation` (source pixels, as the manifest has it).
   */
  itemOf(list) {
    return (i) => {
      const item = this.data.items[list[i].index];
      return item.annotation ? { item_id: item.id, label: null, annotation: item.annotation } : { item_id: item.id, label: list[i].label };
    };
  }

  close() {
    this.augmenter?.close();
    this.pixels.close();
  }
}
