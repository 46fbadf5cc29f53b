/** A run's inputs: the resized pixels of every item, the split, the task's labels, and the (augmented) batches. */
import { PixelCache, pixelBatch } from './images.js';
import { Augmenter, isAugmenting } from './augment.js';
import { splitItems, splitSeedOf } from './split.js';
import { inputAnnotations, movedAnnotation } from './annotations.js';
import { mirrorPairs } from './augment_geometry.js';

/**
 * Built once per run from a loaded dataset ({name, task, classes, pointNames, items: [{id, label | annotation,
 * blob}]}) and the run config. `split.train` and `split.val` hold positions {index, label} into data.items. The task
 * (an unprepared one from model/tasks.js) is prepared here, on the training split's labels (detection learns its
 * anchors from them); `inputs.task` is the prepared one. Call close() when done.
 */
export class RunInputs {
  /** Decodes and resizes every item (tip 14 of docs/tips.md), splits them, and lets `subset` narrow the split (sanity runs). */
  static async prepare(data, config, { task, taskOptions = {}, subset = (split) => split, onProgress } = {}) {
    const blobs = data.items.map((item) => item.blob);
    const pixels = await new PixelCache(config.inputSize, config.resize).fill(blobs, onProgress);
    const positions = data.items.map((item, index) => ({ index, label: item.label ?? null }));
    const split = subset(splitItems(positions, { valFraction: config.valFraction, seed: splitSeedOf(config) }));
    const annotations = inputAnnotations(data.items, config.inputSize, config.resize);
    const prepared = task.prepare(
      { classes: data.classes, pointNames: data.pointNames, labels: annotations ? split.train.map((p) => annotations[p.index]) : [] },
      { inputSize: config.inputSize, seed: config.seed, ...taskOptions });
    return new RunInputs({ data, config, task: prepared, pixels, split, blobs, annotations });
  }

  constructor({ data, config, task, pixels, split, blobs, annotations = null }) {
    Object.assign(this, { data, config, task, pixels, split, annotations });
    this.augmenter = isAugmenting(config.augment)
      ? new Augmenter(config.augment, { pixels, blobs, seed: config.seed })
      : null;
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
   * A Trainer-style getBatch over `list` (split.train or split.val): indices into the list → {xs, ys, labels}
   * (labels: labelOf per row, for previews). With `epochOf` (→ the epoch the batch is for) and augmentation on, the
   * pixels and annotations are that epoch's augmentation; without it (validation, evaluation) they are the plain ones.
   */
  reader(list, epochOf = null) {
    const augmenter = epochOf ? this.augmenter : null;
    return async (indices) => {
      const chosen = indices.map((i) => list[i]);
      const epoch = augmenter ? epochOf() : null;
      const rows = augmenter
        ? await Promise.all(chosen.map((p) => augmenter.pixelsOf(p.index, epoch)))
        : chosen.map((p) => this.pixels.item(p.index));
      const labels = chosen.map((p) => this.labelOf(p.index, epoch));
      return {
        xs: pixelBatch(rows, this.pixels.size, this.config.normalization),
        ys: this.task.encodeLabels(labels, this.data.classes),
        labels,
      };
    };
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
  }
}
