/** A run's inputs: the resized pixels of every item, the split, and the normalised (optionally augmented) batches. */
import { PixelCache, pixelBatch } from './images.js';
import { Augmenter, isAugmenting } from './augment.js';
import { splitItems, splitSeedOf } from './split.js';

/**
 * Built once per run from a loaded dataset ({name, classes, items: [{id, label, blob}]}) and the run config.
 * `split.train` and `split.val` hold positions {index, label} into data.items. Call close() when done.
 */
export class RunInputs {
  /** Decodes and resizes every item (tip 14 of docs/tips.md), splits them, and lets `subset` narrow the split (sanity runs). */
  static async prepare(data, config, { task, subset = (split) => split, onProgress } = {}) {
    const blobs = data.items.map((item) => item.blob);
    const pixels = await new PixelCache(config.inputSize).fill(blobs, onProgress);
    const positions = data.items.map((item, index) => ({ index, label: item.label }));
    const split = subset(splitItems(positions, { valFraction: config.valFraction, seed: splitSeedOf(config) }));
    return new RunInputs({ data, config, task, pixels, split, blobs });
  }

  constructor({ data, config, task, pixels, split, blobs }) {
    Object.assign(this, { data, config, task, pixels, split });
    this.augmenter = isAugmenting(config.augment)
      ? new Augmenter(config.augment, { pixels, blobs, seed: config.seed })
      : null;
  }

  /**
   * A Trainer-style getBatch over `list` (split.train or split.val): indices into the list → {xs, ys}.
   * With `epochOf` (→ the epoch the batch is for) and augmentation on, the pixels are that epoch's augmentation;
   * without it (validation, evaluation) they are the plain resized pixels.
   */
  reader(list, epochOf = null) {
    const augmenter = epochOf ? this.augmenter : null;
    return async (indices) => {
      const chosen = indices.map((i) => list[i]);
      const rows = augmenter
        ? await Promise.all(chosen.map((p) => augmenter.pixelsOf(p.index, epochOf())))
        : chosen.map((p) => this.pixels.item(p.index));
      return {
        xs: pixelBatch(rows, this.pixels.size, this.config.normalization),
        ys: this.task.encodeLabels(chosen.map((p) => p.label), this.data.classes),
      };
    };
  }

  /** For evaluation rows: position i of `list` → {item_id, label} (item_id is the dataset manifest's id). */
  itemOf(list) {
    return (i) => ({ item_id: this.data.items[list[i].index].id, label: list[i].label });
  }

  close() {
    this.augmenter?.close();
  }
}
